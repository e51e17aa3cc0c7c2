"""Run by the recovery test as a subprocess: the counter's own start-up and sale path, no screen.

It builds the counter exactly as ``mykey-pos`` does (:func:`pos.app.build` from the same command
line), loads the config, resumes, and sells one basket with points and cash — the steps the
payment screen runs — so the test can SIGKILL it while the receipt is being printed.
"""

from __future__ import annotations

import sys

from pos.app import build, parse_args
from pos.checkout import Basket


def main(argv: list[str]) -> int:
    card_key, rest = argv[0], argv[1:]
    app = build(parse_args(rest))
    counter = app.counter
    counter.load_config()
    counter.resume()
    basket = Basket()
    basket.add(1100)
    checkout = counter.checkout(basket)
    checkout.card = counter.lookup(card_key)
    program = checkout.offer_order()[0].id
    checkout.use_points(program, 500)
    checkout.cash = 600
    print("selling", flush=True)
    counter.sell(checkout)
    print("done", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
