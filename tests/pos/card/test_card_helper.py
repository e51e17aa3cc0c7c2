"""``mykey-pos card helper`` through real pcscd + vpcd against the real server (uvicorn).

The helper runs as the resident would run it: its own process, the code and the answers typed on
its standard input, the PIN asked by ``getpass`` (with no terminal, as here, it reads stdin); the
virtual My Number Card lies on vpcd's reader. The site's side (asking for the approval, polling)
is plain HTTP with the shop's token.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable

import httpx
import pytest
from ulid import ULID

from pos.card.simulated import demo_credentials
from pos.virtualcard.applet import JpkiCard
from pos.virtualcard.vcard import VirtualCard
from server import admin, approvals, db, ledger
from tests.support.counter_server import CAROL, CounterServer

pytestmark = pytest.mark.pcscd

VCards = Callable[..., VirtualCard]
PIN = "7395"
SITE = "都城市ふるさと特設サイト"
ORIGIN = "https://tokusen.miyakonojo.example"


def shop_token(server: CounterServer) -> str:
    conn = db.connect(server.db_path)
    with db.atomic(conn):
        approvals.add_shop(
            conn, "tokusen", SITE, merchant_id="yamato-bakery", city_id="tenri", origin=ORIGIN,
            programs=["tenri-megumi"], now=ledger.utc_now(),
        )  # fmt: skip
        token = admin.add_principal(conn, "tokusen", "online_shop", shop_id="tokusen")
    conn.close()
    return token


def helper(server: CounterServer, typed: str, *extra: str) -> subprocess.CompletedProcess[str]:
    """The helper as its own process with no controlling terminal (getpass falls back to stdin)."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pos.cli",
            "card",
            "helper",
            "--server",
            server.url,
            "--timeout",
            "20",
            *extra,
        ],
        input=typed,
        capture_output=True,
        text=True,
        timeout=60,
        start_new_session=True,
        env={**os.environ, "PYTHONPATH": os.getcwd()},
        check=False,
    )


def ask(http: httpx.Client, purpose: str = "sign_in", **extra: object) -> dict[str, str]:
    answer = http.post("/v1/approvals", json={"approval_id": str(ULID()), "purpose": purpose, **extra})
    assert answer.status_code == 201, answer.text
    return answer.json()


def poll(http: httpx.Client, approval: dict[str, str]) -> dict[str, str]:
    answer = http.post(
        f"/v1/approvals/{approval['approval_id']}/poll", json={"device_secret": approval["device_secret"]}
    )
    return answer.json()


def test_the_helper_shows_the_site_asks_the_pin_and_signs_the_resident_in(
    real_server: CounterServer, vcards: VCards
) -> None:
    token = shop_token(real_server)
    card = vcards(JpkiCard(demo_credentials(), pin=PIN))
    card.insert()
    with httpx.Client(base_url=real_server.url, headers={"Authorization": f"Bearer {token}"}) as http:
        approval = ask(http)
        # A wrong PIN first: the card says how many tries are left and the helper asks again.
        done = helper(real_server, f"{approval['user_code']}\ny\n1111\n{PIN}\n")
        assert done.returncode == 0, done.stdout + done.stderr
        assert SITE in done.stdout and ORIGIN in done.stdout and "サインイン" in done.stdout
        assert "暗証番号" in done.stdout + done.stderr and "2" in done.stdout
        assert PIN not in done.stdout + done.stderr and "1111" not in done.stdout + done.stderr
        polled = poll(http, approval)
        assert polled["status"] == "signed"
        me = httpx.get(
            real_server.url + "/v1/me", headers={"Authorization": f"Bearer {polled['resident_token']}"}
        )
        [tenri] = me.json()["programs"]
        assert tenri["balance"] == real_server.balance(CAROL, "tenri-megumi") > 0


def test_the_helper_shows_a_payments_amount_and_stops_when_the_resident_says_no(
    real_server: CounterServer, vcards: VCards
) -> None:
    token = shop_token(real_server)
    vcards(JpkiCard(demo_credentials(), pin=PIN)).insert()
    with httpx.Client(base_url=real_server.url, headers={"Authorization": f"Bearer {token}"}) as http:
        approval = ask(http, "payment", order_id=str(ULID()), amount=12400)
        declined = helper(real_server, f"{approval['user_code']}\nn\n")
        assert declined.returncode == 4 and "12,400 ポイントのお支払い" in declined.stdout
        assert poll(http, approval)["status"] == "pending"
        paid = helper(real_server, f"{PIN}\n", "--code", approval["user_code"].lower(), "--yes")
        assert paid.returncode == 0, paid.stdout + paid.stderr
        assert poll(http, approval)["status"] == "signed"
        # The code is used: typing it again is refused in the helper's own words.
        again = helper(real_server, f"{PIN}\n", "--code", approval["user_code"], "--yes")
        assert again.returncode == 1 and "approval_invalid" in again.stdout


def test_a_card_from_an_untrusted_ca_is_refused(
    real_server: CounterServer, vcards: VCards, credentials
) -> None:
    token = shop_token(real_server)
    vcards(JpkiCard(credentials, pin=PIN)).insert()  # the card tests' own CA: the server does not trust it
    with httpx.Client(base_url=real_server.url, headers={"Authorization": f"Bearer {token}"}) as http:
        approval = ask(http)
        refused = helper(real_server, f"{PIN}\n", "--code", approval["user_code"], "--yes")
        assert refused.returncode == 1 and "certificate_invalid" in refused.stdout
        assert poll(http, approval)["status"] == "pending"
