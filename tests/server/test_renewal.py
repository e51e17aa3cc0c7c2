"""My Number Cards at the city desk and the counter: renewal, expired and revoked certificates, CRLs.

Each test makes its own CA, card certificates and CRLs with ``cryptography`` (tests/server/pki.py).
"""

from __future__ import annotations

import datetime as dt
import pathlib
from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from server import audit, cli, db, ledger, residents
from server.app import create_app
from tests.server.conftest import Clock, Demo, build_demo
from tests.server.helpers import SHOP, TENRI, sale
from tests.server.pki import Authority, Card, make_ca, make_card

Api = Callable[[str], httpx.AsyncClient]
DESK = "tenri-enroll-1"


@pytest.fixture(scope="module")
def ca() -> Authority:
    return make_ca()


@pytest.fixture(scope="module")
def old_card(ca: Authority) -> Card:
    return make_card(ca, days=10)


@pytest.fixture(scope="module")
def new_card(ca: Authority) -> Card:
    return make_card(ca, days=3650)


@pytest.fixture
async def desk_api(
    tmp_path: pathlib.Path, ca: Authority, old_card: Card, clock: Clock
) -> AsyncIterator[tuple[Api, Demo]]:
    demo = build_demo(tmp_path / "desk", card_keys=[old_card.card_key], trust_ca=[ca.pem])
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


async def desk_proof(api: Api, card: Card) -> dict[str, object]:
    challenge = (await api(DESK).post("/v1/desk/challenges")).json()
    return {"card_key": card.card_key, "pin_proof": card.proof(challenge)}


async def shop_proof(api: Api, card: Card) -> dict[str, str]:
    return card.proof((await api(SHOP).post("/v1/challenges")).json())


def make_crl(
    ca: Authority, *cards: Card, signer: Authority | None = None, at: dt.datetime | None = None
) -> bytes:
    """A CRL of ``ca`` revoking ``cards``, issued an hour before ``at`` (now) and next updated a day after."""
    at = at or dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca.certificate.subject)
        .last_update(at - dt.timedelta(hours=1))
        .next_update(at + dt.timedelta(days=1))
    )
    for card in cards:
        serial = x509.load_der_x509_certificate(card.der).serial_number
        entry = (
            x509.RevokedCertificateBuilder()
            .serial_number(serial)
            .revocation_date(dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1))
            .build()
        )
        builder = builder.add_revoked_certificate(entry)
    return builder.sign((signer or ca).key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


async def test_a_renewed_certificate_keeps_the_balance_even_after_the_old_one_expired(
    desk_api, old_card: Card, new_card: Card, clock: Clock
) -> None:
    api, demo = desk_api
    clock.advance(days=30)  # the old certificate lapsed (at a fifth birthday, say); its points did not
    lapsed = await api(SHOP).post(
        "/v1/sales",
        json=sale(
            old_card.card_key, total=4000, points={TENRI: 4000}, pin_proof=await shop_proof(api, old_card)
        ),
    )
    assert lapsed.json()["code"] == "certificate_expired"
    linked = await api(DESK).post(
        "/v1/desk/link", json={"old": await desk_proof(api, old_card), "new": await desk_proof(api, new_card)}
    )
    assert linked.status_code == 200, linked.text
    body = sale(
        new_card.card_key, total=4000, points={TENRI: 4000}, pin_proof=await shop_proof(api, new_card)
    )
    spent = await api(SHOP).post("/v1/sales", json=body)
    assert spent.status_code == 200, spent.text
    assert spent.json()["balances"][0] == {"program_id": TENRI, "points": 1000, "expiring": []}
    old = await api(SHOP).post("/v1/cards/lookup", json={"card_key": old_card.card_key})
    assert old.json()["code"] == "card_replaced"
    conn = db.connect(demo.db_path)
    number = linked.json()["account_number"]
    assert [line["action"] for line in audit.lines(conn, f"account:{number}")] == ["card_link"]
    assert ledger.check(conn) == [] and residents.problems(conn) == []


async def test_the_desk_needs_the_my_number_cards_signature(desk_api, old_card: Card, new_card: Card) -> None:
    api, _ = desk_api
    unsigned = await api(DESK).post(
        "/v1/desk/link", json={"old": await desk_proof(api, old_card), "new": {"card_key": new_card.card_key}}
    )
    assert unsigned.json()["code"] == "pin_required"
    forged = await desk_proof(api, new_card)
    forged["pin_proof"] = new_card.proof(
        (await api(DESK).post("/v1/desk/challenges")).json(), signer=old_card.key
    )
    wrong = await api(DESK).post(
        "/v1/desk/link", json={"old": await desk_proof(api, old_card), "new": forged}
    )
    assert wrong.json()["code"] == "signature_invalid"


async def test_an_imported_crl_blocks_the_revoked_cards_key_and_refuses_it(
    desk_api, ca: Authority, old_card: Card, tmp_path: pathlib.Path
) -> None:
    api, demo = desk_api
    # The server learns the certificate's serial when the card signs (a PIN sale).
    body = sale(
        old_card.card_key, total=3500, points={TENRI: 3500}, pin_proof=await shop_proof(api, old_card)
    )
    assert (await api(SHOP).post("/v1/sales", json=body)).status_code == 200
    crl_file = tmp_path / "user-auth.crl"
    crl_file.write_bytes(make_crl(ca, old_card))
    assert cli.main(["crl", "import", str(crl_file), "--db", str(demo.db_path)]) == 0
    lookup = await api(SHOP).post("/v1/cards/lookup", json={"card_key": old_card.card_key})
    assert (lookup.status_code, lookup.json()["code"]) == (409, "certificate_revoked")
    config = (await api(SHOP).get("/v1/terminal/config")).json()
    assert old_card.card_key in config["blocked_keys"]
    again = sale(
        old_card.card_key, total=3500, points={TENRI: 3500}, pin_proof=await shop_proof(api, old_card)
    )
    assert (await api(SHOP).post("/v1/sales", json=again)).json()["code"] == "certificate_revoked"
    conn = db.connect(demo.db_path)
    assert [line["action"] for line in audit.lines(conn, "crl:")] == ["crl_import"]
    # A revoked certificate's block is not the clerk's to lift.
    number = residents.key_state(conn, old_card.card_key).account_number  # type: ignore[union-attr]
    lifted = await api(DESK).post(
        "/v1/desk/unblock", json={"account_number": number, "card_key": old_card.card_key, "reason": "x"}
    )
    assert lifted.json()["code"] == "certificate_revoked"


async def test_a_revoked_certificate_first_seen_after_the_crl_is_refused_and_blocked(
    desk_api, ca: Authority, old_card: Card, new_card: Card, tmp_path: pathlib.Path
) -> None:
    api, demo = desk_api
    crl_file = tmp_path / "user-auth.crl"
    crl_file.write_bytes(make_crl(ca, old_card))
    assert cli.main(["crl", "import", str(crl_file), "--db", str(demo.db_path)]) == 0
    body = sale(
        old_card.card_key, total=3500, points={TENRI: 3500}, pin_proof=await shop_proof(api, old_card)
    )
    assert (await api(SHOP).post("/v1/sales", json=body)).json()["code"] == "certificate_revoked"
    lookup = await api(SHOP).post("/v1/cards/lookup", json={"card_key": old_card.card_key})
    assert lookup.json()["code"] == "certificate_revoked"
    # Nor may the desk move a revoked card's points by the card: the clerk links by number instead.
    linked = await api(DESK).post(
        "/v1/desk/link", json={"old": await desk_proof(api, old_card), "new": await desk_proof(api, new_card)}
    )
    assert linked.json()["code"] == "certificate_revoked"
    number = residents.key_state(db.connect(demo.db_path), old_card.card_key).account_number  # type: ignore[union-attr]
    by_number = await api(DESK).post(
        "/v1/desk/link", json={"account_number": number, "new": await desk_proof(api, new_card)}
    )
    assert by_number.status_code == 200, by_number.text
    assert {b["program_id"]: b["points"] for b in by_number.json()["balances"]}[TENRI] == 5000


def test_a_crl_not_signed_by_the_trusted_ca_is_refused(
    desk_api, ca: Authority, old_card: Card, tmp_path
) -> None:
    _, demo = desk_api
    crl_file = tmp_path / "forged.crl"
    crl_file.write_bytes(make_crl(ca, old_card, signer=make_ca("Another CA")))
    assert cli.main(["crl", "import", str(crl_file), "--db", str(demo.db_path)]) == 1
    crl_file.write_bytes(b"not a crl")
    assert cli.main(["crl", "import", str(crl_file), "--db", str(demo.db_path)]) == 1
    assert db.connect(demo.db_path).execute("SELECT COUNT(*) FROM revoked_certificates").fetchone()[0] == 0


async def test_a_crl_past_its_next_update_stops_pin_sales_and_desk_links_until_a_current_one_comes(
    desk_api, ca: Authority, old_card: Card, new_card: Card, clock: Clock, tmp_path: pathlib.Path
) -> None:
    api, demo = desk_api
    crl_file = tmp_path / "user-auth.crl"
    crl_file.write_bytes(make_crl(ca, at=clock.now))  # revokes nothing; next update in a day
    assert cli.main(["crl", "import", str(crl_file), "--db", str(demo.db_path)]) == 0
    body = sale(
        old_card.card_key, total=3500, points={TENRI: 3500}, pin_proof=await shop_proof(api, old_card)
    )
    assert (await api(SHOP).post("/v1/sales", json=body)).status_code == 200
    clock.advance(days=1, minutes=1)  # the day's import did not come: revocations since are unknown
    body = sale(
        old_card.card_key, total=3500, points={TENRI: 3500}, pin_proof=await shop_proof(api, old_card)
    )
    stale = await api(SHOP).post("/v1/sales", json=body)
    assert (stale.status_code, stale.json()["code"]) == (409, "crl_out_of_date")
    assert "next update" in stale.json()["message"]
    linked = await api(DESK).post(
        "/v1/desk/link", json={"old": await desk_proof(api, old_card), "new": await desk_proof(api, new_card)}
    )
    assert linked.json()["code"] == "crl_out_of_date"
    # A sale without a PIN (within the no-PIN limit) proves nothing with the certificate: it goes on.
    small = await api(SHOP).post("/v1/sales", json=sale(old_card.card_key, total=1000, points={TENRI: 500}))
    assert small.status_code == 200, small.text
    crl_file.write_bytes(make_crl(ca, at=clock.now))
    assert cli.main(["crl", "import", str(crl_file), "--db", str(demo.db_path)]) == 0
    # An older CRL imported afterwards does not take the next update back.
    crl_file.write_bytes(make_crl(ca, at=clock.now - dt.timedelta(days=1, minutes=2)))
    assert cli.main(["crl", "import", str(crl_file), "--db", str(demo.db_path)]) == 0
    body = sale(
        old_card.card_key, total=3500, points={TENRI: 1000}, pin_proof=await shop_proof(api, old_card)
    )
    current = await api(SHOP).post("/v1/sales", json=body)
    assert current.status_code == 200, current.text
