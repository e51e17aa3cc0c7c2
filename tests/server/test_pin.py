"""PIN-and-signature sales: a fresh challenge, signed by the card whose certificate hashes to its key."""

from __future__ import annotations

import pathlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from server import admin, db, ledger
from server import demo as demo_data
from server.app import create_app
from tests.server.conftest import Clock, Demo
from tests.server.helpers import SHOP, TENRI, sale
from tests.server.pki import Authority, Card, make_ca, make_card

Api = Callable[[str], httpx.AsyncClient]


@pytest.fixture(scope="module")
def ca() -> Authority:
    return make_ca()


@pytest.fixture(scope="module")
def card(ca: Authority) -> Card:
    return make_card(ca)


@pytest.fixture
async def pin_api(
    tmp_path: pathlib.Path, ca: Authority, card: Card, clock: Clock, fresh_demo: Callable[..., Demo]
) -> AsyncIterator[tuple[Api, Demo]]:
    demo = fresh_demo(tmp_path / "pin", card_keys=[card.card_key], trust_ca=[ca.pem])
    app = create_app(demo.db_path, clock=clock)
    clients = []

    def make(principal: str) -> httpx.AsyncClient:
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app),
            base_url="http://server",
            headers={"Authorization": f"Bearer {demo.tokens[principal]}"},
        )
        clients.append(client)
        return client

    yield make, demo
    for client in clients:
        await client.aclose()
    app.state.store.close()


async def challenge(api: Api) -> dict[str, str]:
    answer = await api(SHOP).post("/v1/challenges")
    assert answer.status_code == 200, answer.text
    return answer.json()


async def test_a_signed_challenge_allows_a_sale_above_the_no_pin_limit(pin_api, card: Card) -> None:
    api, demo = pin_api
    body = sale(card.card_key, total=4000, points={TENRI: 4000})
    assert (await api(SHOP).post("/v1/sales", json=body)).json()["code"] == "pin_required"
    signed = {**body, "pin_proof": card.proof(await challenge(api))}
    answer = await api(SHOP).post("/v1/sales", json=signed)
    assert answer.status_code == 200, answer.text
    assert answer.json()["balances"][0]["points"] == 1000
    # A retry of the same sale (same proof) gets the stored answer, not a "used challenge" refusal.
    assert (await api(SHOP).post("/v1/sales", json=signed)).content == answer.content
    assert ledger.check(db.connect(demo.db_path)) == []


async def test_a_challenge_is_used_once(pin_api, card: Card) -> None:
    api, _ = pin_api
    proof = card.proof(await challenge(api))
    first = sale(card.card_key, total=3500, points={TENRI: 3500}, pin_proof=proof)
    assert (await api(SHOP).post("/v1/sales", json=first)).status_code == 200
    second = sale(card.card_key, total=1500, points={TENRI: 1500}, pin_proof=proof)
    # Below the limit the proof is not needed, so it is not checked; above it, reuse is refused.
    assert (await api(SHOP).post("/v1/sales", json=second)).status_code == 200
    above_limit = sale(card.card_key, total=3100, points={"oguni-kitasato": 3001}, pin_proof=proof)
    answer = await api(SHOP).post("/v1/sales", json=above_limit)
    assert answer.json()["code"] == "challenge_invalid"


async def test_a_signature_by_another_key_is_refused(pin_api, card: Card, ca: Authority) -> None:
    api, _ = pin_api
    impostor = make_card(ca)
    body = sale(card.card_key, total=4000, points={TENRI: 4000})
    forged = {**body, "pin_proof": card.proof(await challenge(api), signer=impostor.key)}
    answer = await api(SHOP).post("/v1/sales", json=forged)
    assert (answer.status_code, answer.json()["code"]) == (400, "signature_invalid")


async def test_a_certificate_of_another_card_or_an_untrusted_ca_is_refused(pin_api, card: Card) -> None:
    api, demo = pin_api
    stranger = make_card(make_ca("Not a trusted CA"))
    # The stranger's own card key: the certificate matches, but the CA is not trusted.
    body = sale(stranger.card_key, total=4000, points={TENRI: 4000})
    conn = db.connect(demo.db_path)
    with db.atomic(conn):
        admin.grant(conn, stranger.card_key, {p.id: p for p in demo_data.programs()}[TENRI], 5000)
    untrusted = {**body, "pin_proof": stranger.proof(await challenge(api))}
    assert (await api(SHOP).post("/v1/sales", json=untrusted)).json()["code"] == "certificate_invalid"
    # The right card key with another card's certificate.
    swapped = {
        **sale(card.card_key, total=4000, points={TENRI: 4000}),
        "pin_proof": stranger.proof(await challenge(api)),
    }
    assert (await api(SHOP).post("/v1/sales", json=swapped)).json()["code"] == "certificate_invalid"


async def test_an_expired_challenge_is_refused(pin_api, card: Card, clock: Clock) -> None:
    api, _ = pin_api
    proof = card.proof(await challenge(api))
    clock.advance(minutes=6)
    body = sale(card.card_key, total=4000, points={TENRI: 4000}, pin_proof=proof)
    assert (await api(SHOP).post("/v1/sales", json=body)).json()["code"] == "challenge_invalid"


async def test_another_terminals_challenge_is_refused(pin_api, card: Card) -> None:
    api, _ = pin_api
    other = await api("sakura-books-t1").post("/v1/challenges")
    body = sale(card.card_key, total=4000, points={TENRI: 4000}, pin_proof=card.proof(other.json()))
    assert (await api(SHOP).post("/v1/sales", json=body)).json()["code"] == "challenge_invalid"


async def test_trust_anchors_can_come_from_serve_instead_of_the_database(
    tmp_path: pathlib.Path, ca: Authority, card: Card, clock: Clock, fresh_demo: Callable[..., Any]
) -> None:
    demo = fresh_demo(tmp_path / "anchors", card_keys=[card.card_key])  # the database trusts no CA
    for anchors, expected in (([], "certificate_invalid"), ([ca.pem], None)):
        app = create_app(demo.db_path, clock=clock, trust_anchors=anchors)
        headers = {"Authorization": f"Bearer {demo.tokens[SHOP]}"}
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app), base_url="http://s", headers=headers
        ) as http:
            nonce = (await http.post("/v1/challenges")).json()
            body = sale(card.card_key, total=4000, points={TENRI: 3500}, pin_proof=card.proof(nonce))
            answer = await http.post("/v1/sales", json=body)
        app.state.store.close()
        if expected is None:
            assert answer.status_code == 200, answer.text
        else:
            assert answer.json()["code"] == expected
