"""``mykey-pos``: the counter terminal's command line.

Each verb lives with the part it belongs to, so the card, printer and app code each own their
own parser: ``card`` → :mod:`pos.card.probe`, ``print-test`` → :mod:`pos.print_test`, anything
else starts the counter app (:mod:`pos.app`).
"""

from __future__ import annotations

import importlib
import sys

VERBS = {"card": "pos.card.probe", "print-test": "pos.print_test"}


def main(argv: list[str] | None = None) -> int:
    """Dispatch to the verb's module ``main(argv) -> int``; with no verb, run the counter app."""
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] in VERBS:
        module, rest = VERBS[args[0]], args[1:]
    else:
        module, rest = "pos.app", args
    entry = importlib.import_module(module).main
    return int(entry(rest) or 0)


if __name__ == "__main__":
    sys.exit(main())
