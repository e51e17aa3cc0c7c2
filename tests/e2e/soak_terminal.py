"""One simulated counter terminal for the soak: the real ``pos`` code, headless, in its own process.

It rings up random sales (points, tickets, cash), voids some, and goes on through lost answers,
outages and its own SIGKILL: on start it resumes its journal first, as the counter app does.
The harness (:mod:`tests.e2e.soak`) reads its journal afterwards; nothing else is reported.

Run: ``python -m tests.e2e.soak_terminal CONFIG.json`` (written by the harness).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import random
import sys
import time
from pathlib import Path
from typing import Any

from points.tax import TaxRate
from pos import counter as counter_module
from pos.checkout import Basket, TenderRefused
from pos.counter import Counter, NoConfig, SaleUnresolved
from pos.journal import EntryState, Journal, TicketAlreadyUsed
from pos.printing import ReceiptPrinter
from pos.sync import ServerClient, ServerRefused, SyncError


class _SkewedDatetime(dt.datetime):
    """``datetime`` whose ``now`` runs ``SKEW`` ahead: a terminal whose clock is wrong by hours."""

    SKEW = dt.timedelta(0)

    @classmethod
    def now(cls, tz: dt.tzinfo | None = None) -> _SkewedDatetime:  # type: ignore[override]
        real = dt.datetime.now(tz) + cls.SKEW
        return cls.fromtimestamp(real.timestamp(), real.tzinfo)


def skew_clock(hours: int) -> None:
    """Make the counter's clock (sale times, receipt times) run ``hours`` off."""
    _SkewedDatetime.SKEW = dt.timedelta(hours=hours)

    class _Dt:
        datetime = _SkewedDatetime
        date = dt.date
        timedelta = dt.timedelta
        timezone = dt.timezone
        UTC = dt.UTC

    counter_module.dt = _Dt  # type: ignore[assignment]


def settle_pending(counter: Counter, deadline: float) -> None:
    """Retry every pending sale with its own id until its answer is known (or time is up)."""
    while counter.journal.pending() and time.monotonic() < deadline:
        counter.resume()
        if counter.journal.pending():
            time.sleep(0.2)


def one_sale(counter: Counter, rng: random.Random, cards: list[str], tickets: list[str]) -> None:
    """Ring up one random sale; refusals are normal traffic (the journal records them)."""
    basket = Basket()
    for _ in range(rng.randint(1, 3)):
        basket.add(rng.randrange(100, 2_000, 10), rng.randint(1, 2), rng.choice(list(TaxRate)))
    checkout = counter.checkout(basket)
    kind = rng.random()
    if kind < 0.5 and counter.client.online is not False:
        try:
            checkout.card = counter.lookup(rng.choice(cards))
        except SyncError:
            checkout.online = False
        for program in checkout.offer_order()[:1]:
            most = checkout.max_points(program.id)
            if most > 0:
                # Sometimes ask for more than the card has: the server must refuse, never go negative.
                want = rng.randint(1, most) if rng.random() < 0.9 else most + rng.randint(1, 500)
                try:
                    checkout.use_points(program.id, want)
                except TenderRefused:
                    checkout.points[program.id] = want  # what a racing terminal might send anyway
    elif kind < 0.8 and tickets:
        text = rng.choice(tickets)
        ticket_serial = None
        try:
            held = checkout.add_ticket(text, accept_loss=True)
            ticket_serial = held.ticket.serial
        except TenderRefused:
            pass
        if ticket_serial is not None and counter.journal.ticket_used(ticket_serial):
            checkout.tickets.clear()
    try:
        checkout.cash = max(checkout.remainder, 0) + rng.choice([0, 0, 10, 500])
    except TenderRefused:
        checkout.cash = 0  # an over-ask the counter itself refuses below
    if checkout.needs_pin():
        checkout.points.clear()
        checkout.cash = checkout.total
    try:
        counter.sell(checkout)
    except (TenderRefused, ServerRefused, TicketAlreadyUsed):
        pass
    except SaleUnresolved:
        pass  # settled before the next sale


def void_one(counter: Counter, rng: random.Random) -> None:
    """Void a recent accepted sale of today (the server may refuse: awards already spent)."""
    today = [e for e in counter.today() if e.state in (EntryState.ACCEPTED, EntryState.SYNCED)]
    candidates = [e for e in today if e.voided_at is None]
    if not candidates:
        return
    with contextlib.suppress(TenderRefused, SyncError):
        counter.void(rng.choice(candidates[-5:]), "soak")


def shop_cards(config: dict[str, Any], cards: list[str]) -> list[str]:
    """The cards residents bring now: the city desk renews, blocks and replaces them (its file)."""
    path = config.get("cards_file")
    if not path:
        return cards
    try:
        fresh = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return cards
    return fresh or cards


def run(config: dict[str, Any]) -> int:
    """The terminal's loop until ``stop_file`` exists or the deadline passes."""
    rng = random.Random(config["seed"])
    if config.get("skew_hours"):
        skew_clock(int(config["skew_hours"]))
    journal = Journal(Path(config["journal"]))
    client = ServerClient(config["url"], config["token"], timeout=3.0)
    counter = Counter(journal, client, ReceiptPrinter(config["printer"], width=48))
    deadline = time.monotonic() + float(config["seconds"])
    stop_file = Path(config["stop_file"])
    while True:
        try:
            counter.load_config()
            break
        except (SyncError, NoConfig):  # started during an outage (the database killed): wait for it
            time.sleep(0.2)
    settle_pending(counter, deadline)
    cards: list[str] = config["cards"]
    tickets: list[str] = json.loads(Path(config["tickets_file"]).read_text())
    last_sync = 0.0
    while time.monotonic() < deadline and not stop_file.exists():
        if journal.pending():
            settle_pending(counter, deadline)
            continue
        if time.monotonic() - last_sync > 1.0:
            last_sync = time.monotonic()
            cards = shop_cards(config, cards)
            with contextlib.suppress(SyncError):
                counter.sync()
        if rng.random() < 0.08:
            void_one(counter, rng)
        else:
            one_sale(counter, rng, cards, tickets)
    if config.get("drain"):
        # The end of the run: the link is healthy again; leave nothing pending or queued.
        end = time.monotonic() + 60
        while time.monotonic() < end:
            settle_pending(counter, end)
            try:
                counter.sync()
            except SyncError:
                time.sleep(0.2)
                continue
            if not journal.pending() and not journal.offline_queue():
                break
    journal.close()
    client.close()
    return 0


if __name__ == "__main__":
    sys.exit(run(json.loads(Path(sys.argv[1]).read_text())))
