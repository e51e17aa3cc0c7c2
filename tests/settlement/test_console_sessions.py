"""The console's sign-in endpoint: checked tokens, the audit trail, and the pause after five failures."""

from __future__ import annotations

import datetime as dt
import pathlib
from collections.abc import Iterator

import httpx
import pytest

from server import db
from server.settlement import console_sessions, store
from server.settlement.console_sessions import PAUSE, paused_until
from tests.settlement.demo_server import Demo, make_demo

BROWSER = "192.0.2.7"


@pytest.fixture
def server(tmp_path: pathlib.Path) -> Iterator[Demo]:
    d = make_demo(tmp_path / "server")
    yield d
    d.app.state.store.close()


def audit(d: Demo) -> list[dict[str, object]]:
    conn = db.connect(d.path)
    try:
        return store.log_lines(store.ensure(conn), "console:")
    finally:
        conn.close()


async def sign_in(d: Demo, token: str | None, remote: str = BROWSER) -> httpx.Response:
    async with d.client(None) as http:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return await http.post("/v1/console/sessions", json={"remote": remote}, headers=headers)


async def test_a_clerk_signs_in_and_out_and_both_are_logged_with_the_browser_address(server: Demo) -> None:
    answer = await sign_in(server, server.tokens["tenri-cci"])
    assert answer.status_code == 201, answer.text
    session = answer.json()
    assert session["principal_id"] == "tenri-cci" and session["role"] == "chamber"
    async with server.client("tenri-cci") as http:
        out = await http.delete(
            f"/v1/console/sessions/{session['session_id']}", params={"remote": BROWSER, "reason": "idle"}
        )
    assert out.status_code == 204
    lines = audit(server)
    assert [(line["actor"], line["action"], line["subject"]) for line in lines] == [
        ("tenri-cci", "console.signin", f"console:{BROWSER}"),
        ("tenri-cci", "console.signout", f"console:{BROWSER}"),
    ]
    assert lines[1]["detail"] == {"via": "127.0.0.1", "session": session["session_id"], "reason": "idle"}


async def test_a_wrong_token_or_a_shop_token_is_refused_and_logged(server: Demo) -> None:
    wrong = await sign_in(server, "mk_not-a-token")
    assert wrong.status_code == 401 and wrong.json()["code"] == "signin_failed"
    assert (await sign_in(server, None)).status_code == 401
    shop = await sign_in(server, server.tokens["yamato-bakery"])
    assert shop.status_code == 403 and shop.json()["code"] == "signin_role"
    assert [(line["actor"], line["action"]) for line in audit(server)] == [
        ("-", "console.signin_failed"),
        ("-", "console.signin_failed"),
        ("yamato-bakery", "console.signin_refused"),
    ]


async def test_five_failures_from_one_address_pause_its_sign_in_even_with_the_right_token(
    server: Demo,
) -> None:
    answers = [await sign_in(server, f"mk_guess{n}") for n in range(5)]
    assert [a.status_code for a in answers] == [401, 401, 401, 401, 429]
    assert "15 分" in answers[-1].json()["message"]
    paused = await sign_in(server, server.tokens["tenri-cci"])
    assert paused.status_code == 429 and paused.json()["code"] == "signin_paused"
    # Another browser is not paused.
    assert (await sign_in(server, server.tokens["tenri-cci"], remote="192.0.2.8")).status_code == 201
    actions = [line["action"] for line in audit(server) if line["subject"] == f"console:{BROWSER}"]
    assert actions == ["console.signin_failed"] * 5 + ["console.signin_paused"] * 2


def line(action: str, at: dt.datetime) -> dict[str, object]:
    return {"action": action, "at": at.isoformat()}


def test_the_pause_lasts_until_the_oldest_of_five_recent_failures_is_fifteen_minutes_old() -> None:
    t0 = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)
    failures = [line("console.signin_failed", t0 + dt.timedelta(minutes=m)) for m in range(5)]
    assert paused_until(failures[:4], t0 + dt.timedelta(minutes=5)) is None
    assert paused_until(failures, t0 + dt.timedelta(minutes=5)) == t0 + PAUSE
    assert paused_until(failures, t0 + PAUSE) is None  # the first failure has aged out
    # A sign-in in between starts the count again.
    success = [line("console.signin", t0 + dt.timedelta(minutes=2, seconds=30))]
    assert paused_until(failures[:3] + success + failures[3:], t0 + dt.timedelta(minutes=5)) is None
    assert console_sessions.FAILURES_BEFORE_PAUSE == 5 and PAUSE.total_seconds() == 15 * 60


async def test_a_bad_browser_address_is_refused_before_anything_is_logged(server: Demo) -> None:
    answer = await sign_in(server, server.tokens["tenri-cci"], remote="1.2.3.4\nforged line")
    assert answer.status_code == 422
    assert audit(server) == []
