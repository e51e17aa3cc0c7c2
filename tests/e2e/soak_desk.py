"""The city desk in the soak: renewals, lost cards blocked and replaced (or found), merges.

A city clerk (the ``tenri`` token) works through the same faulty link as the shops: answers are
lost, the server is killed. Every act is retried with the same body; what it did is then read
back from the desk's own look-ups, never assumed. The shops' card list is a file the terminals
re-read (:mod:`tests.e2e.soak_terminal`): a renewed or replacement card goes into it, a blocked
one out, so the new cards spend the old points while the old keys are still tried and refused.

At the end :meth:`DeskTraffic.check` holds the server to it: each new key is on the account it
was linked to, each replaced key is retired, each merged account is empty and points elsewhere,
and every lot a merge moved kept its expiry date.
"""

from __future__ import annotations

import json
import os
import pathlib
import random
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
from ulid import ULID

from pos.card.apdu import uid_card_key
from server import db as server_db
from tests.support.faultproxy import FaultProxy
from tests.support.server import RunningServer

CLERK = "tenri"
#: The desk acts in turn, one every ``EVERY`` rounds of the harness.
CYCLE = ("renew", "block", "merge", "replace", "block", "renew", "unblock", "merge")
EVERY = 4


@dataclass
class DeskTraffic:
    """The clerk's side of the soak and what it expects the server to hold afterwards."""

    server: RunningServer
    cards_file: pathlib.Path
    pool: list[str]
    rng: random.Random
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CYCLE, 0))
    #: accounts whose cards were blocked (a lost card), with those cards, waiting to be replaced or found
    blocked: list[tuple[str, list[str]]] = field(default_factory=list)
    #: key → the account it was linked (or merged) to
    expect: dict[str, str] = field(default_factory=dict)
    retired: list[str] = field(default_factory=list)
    merged_away: list[str] = field(default_factory=list)
    rounds: int = 0

    def __post_init__(self) -> None:
        self.save_pool()

    def save_pool(self) -> None:
        """Write the shops' card list (atomically: a terminal never reads half a file)."""
        part = self.cards_file.with_suffix(".part")
        part.write_text(json.dumps(self.pool))
        os.replace(part, self.cards_file)

    # Calls through the faulty link --------------------------------------------------

    def call(
        self, http: httpx.Client, path: str, body: dict[str, Any], tries: int = 30
    ) -> httpx.Response | None:
        """POST until an answer other than a server error comes back (same body); ``None``: none did."""
        for _ in range(tries):
            try:
                answer = http.post(path, json=body)
            except httpx.TransportError:
                time.sleep(0.1)
                continue
            if answer.status_code < 500:
                return answer
            time.sleep(0.1)  # the database restarting (503), the server mid-restart
        return None

    def account(self, http: httpx.Client, card_key: str) -> dict[str, Any] | None:
        """The desk's view of the card's account, or ``None`` (no account, or no answer)."""
        answer = self.call(http, "/v1/desk/accounts/lookup", {"card_key": card_key})
        return answer.json() if answer is not None and answer.status_code == 200 else None

    # The acts -------------------------------------------------------------------------

    def tick(self, proxy: FaultProxy) -> None:
        """One harness round: every ``EVERY`` rounds the next act of :data:`CYCLE`."""
        self.rounds += 1
        if self.rounds % EVERY:
            return
        act = CYCLE[(self.rounds // EVERY) % len(CYCLE)]
        headers = {"Authorization": f"Bearer {self.server.tokens[CLERK]}"}
        with httpx.Client(base_url=proxy.url, headers=headers, timeout=3) as http:
            if getattr(self, act)(http):
                self.counts[act] += 1
                self.save_pool()

    def renew(self, http: httpx.Client) -> bool:
        """The old card on the desk, the renewed one linked to its account; the old key retired."""
        if len(self.pool) < 3:
            return False
        old = self.rng.choice(self.pool)
        before = self.account(http, old)
        if before is None:
            return False
        new = new_card_key()
        self.call(http, "/v1/desk/link", {"old": {"card_key": old}, "new": {"card_key": new}})
        after = self.account(http, new)  # a lost answer is read back, not assumed
        if after is None or after["account_number"] != before["account_number"]:
            return False
        self.pool[self.pool.index(old)] = new
        self.expect[new] = after["account_number"]
        self.retired.append(old)
        return True

    def block(self, http: httpx.Client) -> bool:
        """A lost card: every usable card of its account blocked by the account number."""
        if len(self.pool) < 3:
            return False
        lost = self.rng.choice(self.pool)
        found = self.account(http, lost)
        if found is None:
            return False
        number = found["account_number"]
        self.call(http, "/v1/desk/block", {"account_number": number, "reason": "soak: reported lost"})
        after = self.account(http, lost)
        if after is None:
            return False
        blocked = [c["card_key"] for c in after["cards"] if c["blocked_at"] is not None]
        if lost not in blocked:
            return False
        self.pool = [key for key in self.pool if key not in blocked]
        self.blocked.append((number, [key for key in blocked if key not in self.retired]))
        return True

    def replace(self, http: httpx.Client) -> bool:
        """The replacement card for a blocked account, linked by the number the resident quotes."""
        if not self.blocked:
            return False
        number, _cards = self.blocked[0]
        new = new_card_key()
        self.call(http, "/v1/desk/link", {"new": {"card_key": new}, "account_number": number})
        after = self.account(http, new)
        if after is None or after["account_number"] != number:
            return False
        self.blocked.pop(0)
        self.pool.append(new)
        self.expect[new] = number
        return True

    def unblock(self, http: httpx.Client) -> bool:
        """The lost card was found: the block lifted, its cards back at the shops."""
        if not self.blocked:
            return False
        number, cards = self.blocked[0]
        self.call(http, "/v1/desk/unblock", {"account_number": number, "reason": "soak: found"})
        after = self.account(http, cards[0]) if cards else None
        if after is None:
            return False
        if any(c["blocked_at"] is not None for c in after["cards"] if c["card_key"] in cards):
            return False
        self.blocked.pop(0)
        self.pool.extend(cards)
        return True

    def merge(self, http: httpx.Client) -> bool:
        """A new point card with points (a partner's conversion) merged into a shop card's account."""
        if not self.pool:
            return False
        point_card = new_card_key()
        conversion = {
            "conversion_id": f"desk-{ULID()}",
            "card_key": point_card,
            "program_id": "oguni-kitasato",
            "points": self.rng.choice([100, 300, 800]),
        }
        partner = {"Authorization": f"Bearer {self.server.tokens['skyair']}"}
        with httpx.Client(base_url=str(http.base_url), headers=partner, timeout=3) as skyair:
            converted = self.call(skyair, "/v1/conversions", conversion)
        source = self.account(http, point_card)
        if converted is None or source is None:
            return False
        target_card = self.rng.choice(self.pool)
        target = self.account(http, target_card)
        if target is None:
            return False
        self.call(
            http, "/v1/desk/merge", {"source": {"card_key": point_card}, "target": {"card_key": target_card}}
        )
        after = self.account(http, point_card)
        if after is None or after["account_number"] != target["account_number"]:
            return False
        self.merged_away.append(source["account_number"])
        self.expect[point_card] = target["account_number"]
        self.pool.append(point_card)
        return True

    # At the end -----------------------------------------------------------------------

    def check(self, db: server_db.Connection) -> list[tuple[str, bool, str]]:
        """The desk's promises against the server's database: (name, ok, detail) each."""
        found: list[tuple[str, bool, str]] = []
        for key, number in self.expect.items():
            row = db.execute("SELECT account_number FROM card_keys WHERE card_key = ?", (key,)).fetchone()
            found.append(
                (
                    f"desk: card {key[:12]} is on account {number}",
                    row is not None and row[0] == number,
                    repr(row),
                )
            )
        for key in self.retired:
            row = db.execute("SELECT retired_at FROM card_keys WHERE card_key = ?", (key,)).fetchone()
            found.append(
                (
                    f"desk: renewed card {key[:12]} is retired",
                    row is not None and row[0] is not None,
                    repr(row),
                )
            )
        for number in self.merged_away:
            (into,) = db.execute(
                "SELECT merged_into FROM resident_accounts WHERE number = ?", (number,)
            ).fetchone()
            (left,) = db.execute(
                "SELECT COALESCE(SUM(balance), 0) FROM accounts WHERE kind = 'resident' AND owner = ?",
                (number,),
            ).fetchone()
            (lots,) = db.execute(
                "SELECT COUNT(*) FROM lots l JOIN accounts a ON a.id = l.account_id"
                " WHERE a.owner = ? AND l.remaining > 0",
                (number,),
            ).fetchone()
            ok = into is not None and left == 0 and lots == 0
            found.append((f"desk: merged account {number} is empty and merged", ok, f"{into} {left} {lots}"))
        moved = db.execute(
            "SELECT n.id, n.expires_on, o.expires_on FROM transfers t JOIN lots n ON n.transfer_id = t.id"
            " JOIN lot_draws d ON d.transfer_id = t.id JOIN lots o ON o.id = d.lot_id"
            " WHERE t.kind = 'move' AND n.expires_on != o.expires_on"
        ).fetchall()
        found.append(("desk: every merged lot kept its expiry date", not moved, repr(moved[:5])))
        return found


def new_card_key() -> str:
    """A card never seen: a random 7-byte UID's key."""
    return uid_card_key(secrets.token_bytes(7))
