"""Card approvals (device flow) and the resident's own page on both databases (docs/dev/online-api.md).

A site (an ``online_shop`` principal) asks for an approval; the card signs the approval's own
challenge (a test card of a CA the database trusts); the site polls and gets a resident session,
with which it reads the resident's balances and history. Codes are single use, expire, and are
rate-limited; a blocked card cannot sign in; a payment approval is used once, for its order only.
"""

from __future__ import annotations

import asyncio
import pathlib
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from ulid import ULID

from server import admin, approvals, db, ledger
from server.app import create_app
from server.errors import ApiError
from tests.server.conftest import Clock, Demo
from tests.server.helpers import TENRI
from tests.server.pki import Authority, Card, make_ca, make_card

SHOP_ID = "tenri-tokusen"
ORIGIN = "https://tokusen.tenri.example"


@pytest.fixture(scope="module")
def ca() -> Authority:
    return make_ca()


@pytest.fixture(scope="module")
def card(ca: Authority) -> Card:
    return make_card(ca)


@pytest.fixture(scope="module")
def stranger() -> Card:
    """A card of a CA nobody trusts."""
    return make_card(make_ca("Someone Else's CA"))


class Site:
    """The test's clients: the online shop, the card helper (no token), and a resident's."""

    def __init__(self, app: FastAPI, demo: Demo, shop_token: str) -> None:
        self.app, self.demo = app, demo
        self.shop = self.client(shop_token)
        self.helper = self.client(None)
        self.clients: list[httpx.AsyncClient] = [self.shop, self.helper]

    def client(self, token: str | None) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app), base_url="http://s", headers=headers
        )
        if hasattr(self, "clients"):
            self.clients.append(client)
        return client

    async def ask(self, purpose: str = "sign_in", **extra: Any) -> dict[str, Any]:
        answer = await self.shop.post(
            "/v1/approvals", json={"approval_id": str(ULID()), "purpose": purpose, **extra}
        )
        assert answer.status_code == 201, answer.text
        return answer.json()

    async def sign(self, card: Card, user_code: str) -> httpx.Response:
        found = await self.helper.post("/v1/approvals/lookup", json={"user_code": user_code})
        assert found.status_code == 200, found.text
        proof = card.proof({"challenge_id": found.json()["challenge_id"], "nonce": found.json()["nonce"]})
        return await self.helper.post("/v1/approvals/sign", json={"user_code": user_code, "pin_proof": proof})

    async def poll(self, approval: dict[str, Any]) -> dict[str, Any]:
        answer = await self.shop.post(
            f"/v1/approvals/{approval['approval_id']}/poll", json={"device_secret": approval["device_secret"]}
        )
        assert answer.status_code == 200, answer.text
        return answer.json()

    async def sign_in(self, card: Card) -> httpx.AsyncClient:
        approval = await self.ask()
        assert (await self.sign(card, approval["user_code"])).status_code == 200
        polled = await self.poll(approval)
        assert polled["status"] == "signed"
        return self.client(polled["resident_token"])


@pytest.fixture
async def site(
    tmp_path: pathlib.Path, ca: Authority, card: Card, clock: Clock, fresh_demo: Callable[..., Demo]
) -> AsyncIterator[Site]:
    demo = fresh_demo(tmp_path / "site", card_keys=[card.card_key], trust_ca=[ca.pem])
    conn = db.connect(demo.db_path)
    with db.atomic(conn):
        approvals.add_shop(
            conn,
            SHOP_ID,
            "天理のおみやげ特設サイト",
            merchant_id="yamato-bakery",
            city_id="tenri",
            origin=ORIGIN,
            programs=[TENRI],
            now=ledger.utc_now(),
        )
        token = admin.add_principal(conn, SHOP_ID, "online_shop", shop_id=SHOP_ID)
    conn.close()
    app = create_app(demo.db_path, clock=clock)
    made = Site(app, demo, token)
    yield made
    for client in made.clients:
        await client.aclose()
    app.state.store.close()


async def test_a_resident_signs_in_with_the_card_and_sees_balances_and_history(
    site: Site, card: Card
) -> None:
    approval = await site.ask()
    code = approval["user_code"]
    assert len(code) == 9 and code[4] == "-" and not set(code.replace("-", "")) & set("01OIL")
    assert approval["site_name"] == "天理のおみやげ特設サイト" and approval["origin"] == ORIGIN
    assert (await site.poll(approval)) == {"status": "pending"}
    found = (await site.helper.post("/v1/approvals/lookup", json={"user_code": code.lower()})).json()
    assert found["origin"] == ORIGIN and found["purpose"] == "sign_in" and found["amount"] is None
    assert (await site.sign(card, code)).json() == {"status": "signed"}
    polled = await site.poll(approval)
    assert polled["status"] == "signed" and polled["resident_token"].startswith("mkr_")
    # The session is given once: the next poll says the approval was used.
    assert (await site.poll(approval)) == {"status": "used"}
    resident = site.client(polled["resident_token"])
    page = (await resident.get("/v1/me")).json()
    assert page["account_number"] == polled["account_number"]
    [tenri] = page["programs"]
    assert tenri["program_id"] == TENRI and tenri["balance"] == 5000 and tenri["name"]
    assert sum(lot["points"] for lot in tenri["lots"]) == 5000
    history = (await resident.get("/v1/me/history")).json()
    assert history["items"] and history["items"][0]["points"] == 5000 and history["next"] is None
    # The page's one call: the balances and the same history (a plain /v1/me has none).
    both = (await resident.get("/v1/me", params={"history": 50})).json()
    assert both["programs"] == page["programs"] and both["history"] == history and "history" not in page
    assert (await resident.get("/v1/me", params={"history": 201})).status_code == 422
    csv = await resident.get("/v1/me/history.csv")
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.content.startswith("\ufeff日時,種類".encode())
    assert "5000" in csv.content.decode("utf-8-sig")
    # The resident token is not a shop's: it cannot ask for approvals, the shop cannot read /me.
    assert (
        await resident.post("/v1/approvals", json={"approval_id": str(ULID()), "purpose": "sign_in"})
    ).status_code == 403
    assert (await site.shop.get("/v1/me")).status_code == 403
    assert (await resident.post("/v1/me/signout")).status_code == 200
    assert (await resident.get("/v1/me")).json()["code"] == "unauthorized"


async def test_a_code_is_single_use_and_expires(site: Site, card: Card, clock: Clock) -> None:
    approval = await site.ask()
    assert (await site.sign(card, approval["user_code"])).status_code == 200
    again = await site.helper.post("/v1/approvals/lookup", json={"user_code": approval["user_code"]})
    assert again.status_code == 404 and again.json()["code"] == "approval_invalid"
    late = await site.ask()
    clock.advance(minutes=5, seconds=1)
    gone = await site.helper.post("/v1/approvals/lookup", json={"user_code": late["user_code"]})
    assert gone.json()["code"] == "approval_invalid"
    assert (await site.poll(late)) == {"status": "expired"}
    # A wrong device secret, or another shop's approval id, tells nothing.
    wrong = await site.shop.post(f"/v1/approvals/{late['approval_id']}/poll", json={"device_secret": "x"})
    assert wrong.json()["code"] == "approval_invalid"


async def test_a_signature_over_another_challenge_or_from_an_untrusted_ca_is_refused(
    site: Site, card: Card, stranger: Card
) -> None:
    one, other = await site.ask(), await site.ask()
    found = (await site.helper.post("/v1/approvals/lookup", json={"user_code": other["user_code"]})).json()
    proof = card.proof({"challenge_id": found["challenge_id"], "nonce": found["nonce"]})
    crossed = await site.helper.post(
        "/v1/approvals/sign", json={"user_code": one["user_code"], "pin_proof": proof}
    )
    assert crossed.json()["code"] == "challenge_invalid"
    untrusted = await site.sign(stranger, one["user_code"])
    assert untrusted.json()["code"] == "certificate_invalid"
    assert (await site.poll(one)) == {"status": "pending"}


async def test_a_blocked_card_cannot_sign_in(site: Site, card: Card) -> None:
    city = site.client(site.demo.tokens["tenri"])
    account = await city.post("/v1/desk/accounts/lookup", json={"card_key": card.card_key})
    number = account.json()["account_number"]
    blocked = await city.post("/v1/desk/block", json={"account_number": number, "reason": "紛失届"})
    assert blocked.status_code == 200, blocked.text
    approval = await site.ask()
    assert (await site.sign(card, approval["user_code"])).json()["code"] == "card_blocked"


async def test_lookups_are_rate_limited_per_code_and_per_address(site: Site) -> None:
    async def look(code: str) -> int:
        return (await site.helper.post("/v1/approvals/lookup", json={"user_code": code})).status_code

    approval = await site.ask()
    code = approval["user_code"]
    assert [await look(code) for _ in range(approvals.PER_CODE)] == [200] * approvals.PER_CODE
    refused = await site.helper.post("/v1/approvals/lookup", json={"user_code": code})
    assert refused.status_code == 429 and refused.json()["code"] == "rate_limited"
    # Guessing many codes from one address stops after 20 a minute.
    site.app.state.approval_limits = approvals.Limits()
    guesses = [await look(approvals.new_user_code()) for _ in range(approvals.PER_ADDRESS_PER_MINUTE)]
    assert set(guesses) == {404}
    assert await look(code) == 429


async def test_a_session_ends_when_idle_for_30_minutes_and_after_2_hours(
    site: Site, card: Card, clock: Clock
) -> None:
    idle = await site.sign_in(card)
    clock.advance(minutes=29)
    assert (await idle.get("/v1/me")).status_code == 200
    clock.advance(minutes=29)  # 58 minutes in, 29 since the last use
    assert (await idle.get("/v1/me")).status_code == 200
    clock.advance(minutes=31)
    assert (await idle.get("/v1/me")).status_code == 401
    busy = await site.sign_in(card)
    for _ in range(4):
        clock.advance(minutes=25)
        assert (await busy.get("/v1/me")).status_code == 200
    clock.advance(minutes=21)  # used 21 minutes ago, but 2 hours and a minute since the sign-in
    assert (await busy.get("/v1/me")).status_code == 401


async def test_a_payment_approval_is_used_once_by_its_own_order_and_amount(
    site: Site, card: Card, clock: Clock
) -> None:
    order_id = str(ULID())
    approval = await site.ask("payment", order_id=order_id, amount=2400)
    found = (await site.helper.post("/v1/approvals/lookup", json={"user_code": approval["user_code"]})).json()
    assert found["purpose"] == "payment" and found["amount"] == 2400
    assert (await site.sign(card, approval["user_code"])).status_code == 200
    assert (await site.poll(approval)) == {"status": "signed"}
    store = site.app.state.store
    now = clock()

    def take(order: str, amount: int, shop: str = SHOP_ID) -> Any:
        return store.writer.run(
            lambda conn: approvals.take_payment(conn, approval["approval_id"], shop, order, amount, now)
        )

    for wrong in ((order_id, 2000, SHOP_ID), (str(ULID()), 2400, SHOP_ID), (order_id, 2400, "elsewhere")):
        with pytest.raises(ApiError) as refused:
            take(*wrong)
        assert refused.value.code == "approval_invalid"
    card_key, number = take(order_id, 2400)
    assert card_key == card.card_key and len(number) == 8
    with pytest.raises(ApiError):
        take(order_id, 2400)
    assert (await site.poll(approval)) == {"status": "used"}
    # A sign-in approval is not a payment.
    sign_in = await site.ask()
    await site.sign(card, sign_in["user_code"])
    with pytest.raises(ApiError):
        store.writer.run(
            lambda conn: approvals.take_payment(conn, sign_in["approval_id"], SHOP_ID, order_id, 2400, now)
        )
    bad = await site.shop.post("/v1/approvals", json={"approval_id": str(ULID()), "purpose": "payment"})
    assert bad.status_code == 422


async def test_two_signatures_of_one_code_at_once_sign_it_once(site: Site, card: Card) -> None:
    approval = await site.ask()
    found = (await site.helper.post("/v1/approvals/lookup", json={"user_code": approval["user_code"]})).json()
    proof = card.proof({"challenge_id": found["challenge_id"], "nonce": found["nonce"]})
    body = {"user_code": approval["user_code"], "pin_proof": proof}
    answers = await asyncio.gather(*(site.helper.post("/v1/approvals/sign", json=body) for _ in range(5)))
    assert sorted(a.status_code for a in answers) == [200, 404, 404, 404, 404]


def test_the_cli_makes_a_shop_and_its_token(tmp_path: pathlib.Path, demo: Demo) -> None:
    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "server.cli", *args, "--db", str(demo.db_path)],
            capture_output=True,
            text=True,
            check=False,
        )

    made = cli(
        "shop", "create", "--id", "oguni-portal", "--name", "小国町ポータル", "--merchant", "yamato-bakery",
        "--city", "oguni", "--origin", "https://portal.oguni.example", "--program", "oguni-kitasato",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert cli("token", "create", "--role", "online_shop", "--id", "oguni-portal").returncode == 2
    token = cli("token", "create", "--role", "online_shop", "--id", "oguni-portal", "--shop", "oguni-portal")
    assert token.returncode == 0 and token.stdout.startswith("mk_"), token.stderr
    bad = cli("shop", "create", "--id", "x", "--name", "x", "--merchant", "yamato-bakery", "--city", "oguni",
              "--origin", "javascript:alert(1)")  # fmt: skip
    assert bad.returncode == 2
    conn = db.connect(demo.db_path)
    principal = conn.execute("SELECT role, shop_id FROM principals WHERE id = 'oguni-portal'").fetchone()
    assert tuple(principal) == ("online_shop", "oguni-portal")


def test_a_residents_history_reads_its_own_transfers_by_index(tmp_path: pathlib.Path) -> None:
    """Not a backward scan of every transfer (159 ms a page with a million others, measured)."""
    from server import db, me, schema

    conn = db.connect(str(tmp_path / "plan.db"))
    try:
        schema.create(conn)
        for accounts in (1, 2):
            plan = " | ".join(
                str(row[-1])
                for row in conn.execute(
                    "EXPLAIN QUERY PLAN " + me.history_sql(accounts), (*[1] * accounts * 2, 9, 20)
                )
            )
            assert "transfers_debit" in plan and "transfers_credit" in plan, plan
    finally:
        conn.close()
