"""Period names a hostile clerk might send: one canonical name per month, no 500s, no dropped answers.

Against a real server (uvicorn on 127.0.0.1): look-alike names (full-width digits, a trailing
newline, spaces) would otherwise each open a period of their own and split the month's claims;
far-off names overflowed date arithmetic; a name with a newline in a download header closed the
connection with no answer; a period that has not begun took this month's claims.
"""

from __future__ import annotations

import datetime as dt
import pathlib
from collections.abc import Iterator

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from points import calendar
from server import db
from server.settlement.api import attachment
from tests.support.server import RunningServer, running_server

LOOK_ALIKES = [
    "2026-11%0A",  # a trailing newline ($ in a regex matches before it)
    "%EF%BC%92%EF%BC%90%EF%BC%92%EF%BC%96-%EF%BC%91%EF%BC%91",  # ２０２６-１１, full-width digits
    "2026-1%EF%BC%91",  # one full-width digit
    "%202026-11",
    "2026-11%20",
    "2026-11%0D%0AX-Injected:%201",
    "2026-W48%0A",
    "2026-11A",
]
FAR = ["9999-W52", "0001-01", "1999-12", "2200-01", "9999-12b"]
ENDPOINTS = [
    ("POST", "/v1/periods/{}/close"),
    ("POST", "/v1/periods/{}/reopen"),
    ("GET", "/v1/payouts/{}"),
    ("GET", "/v1/payouts/{}/zengin"),
    ("GET", "/v1/payouts/{}/precheck"),
    ("GET", "/v1/reconciliation/{}"),
    ("GET", "/v1/statements/yamato-bakery/{}"),
    ("GET", "/v1/statements/yamato-bakery/{}?format=csv"),
    ("GET", "/v1/summaries/{}"),
    ("GET", "/v1/partners/{}"),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_server(tmp_path_factory.mktemp("periods")) as running:
        yield running


def clerk(server: RunningServer, who: str = "tenri-cci") -> httpx.Client:
    return httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {server.tokens[who]}"})


@pytest.mark.parametrize("name", LOOK_ALIKES + FAR)
def test_every_period_endpoint_refuses_a_name_that_is_not_canonical_with_an_answer(
    server: RunningServer, name: str
) -> None:
    with clerk(server, "admin") as admin:
        for method, path in ENDPOINTS:
            # An httpx.RemoteProtocolError here is the old dropped connection.
            answer = admin.request(method, path.format(name), params={"chamber": "tenri-cci"})
            assert 400 <= answer.status_code < 500, (method, path, answer.status_code, answer.text)
            assert answer.json()["code"] in {"bad_period", "invalid_request"}, (method, path, answer.text)


def test_look_alike_names_never_become_periods_of_their_own(server: RunningServer) -> None:
    with clerk(server) as chamber:
        for name in LOOK_ALIKES:
            chamber.post(f"/v1/periods/{name}/close")
    conn = db.connect(server.db_path)
    try:
        stored = {row[0] for row in conn.execute("SELECT period_id FROM settlement_periods")}
    finally:
        conn.close()
    assert all(calendar.parse_period(name).id == name for name in stored), stored


def test_a_period_that_has_not_started_cannot_be_closed(server: RunningServer) -> None:
    next_month = calendar.month_of(calendar.today().replace(day=28) + dt.timedelta(days=7))
    with clerk(server) as chamber:
        for name in ("2099-12", next_month.id):
            refused = chamber.post(f"/v1/periods/{name}/close")
            assert (refused.status_code, refused.json()["code"]) == (409, "period_not_started"), refused.text
        # This month has begun: closing it (early) is allowed, and it is the month's one period.
        this_month = calendar.month_of(calendar.today()).id
        closed = chamber.post(f"/v1/periods/{this_month}/close")
        assert closed.status_code == 200, closed.text
        assert closed.json()["period_id"] == this_month


def test_far_off_period_names_are_refused_by_the_calendar_not_computed() -> None:
    for name in FAR:
        with pytest.raises(calendar.PeriodError):
            calendar.parse_period(name)
    assert calendar.parse_period("2199-12").last_day == dt.date(2199, 12, 31)
    assert calendar.parse_period("2000-01").starts_on == dt.date(2000, 1, 1)


def test_a_download_is_named_in_its_header_with_the_period(server: RunningServer) -> None:
    with clerk(server) as chamber:
        answer = chamber.get("/v1/statements/yamato-bakery/2026-11", params={"format": "csv"})
    assert answer.status_code == 200, answer.text
    header = answer.headers["content-disposition"]
    assert header.startswith("attachment; filename=") and "2026-11" in header


@given(st.text(max_size=40))
def test_any_download_name_gives_a_header_that_http_can_carry(name: str) -> None:
    header = attachment(name)
    header.encode("latin-1")  # Starlette encodes headers as latin-1: this raised for 「２０２６」
    assert not any(c in header for c in "\r\n\0")
    assert header.count('"') == 2  # the quoted filename cannot be closed early


def test_the_access_log_does_not_claim_an_answer_that_was_never_sent(tmp_path: pathlib.Path) -> None:
    import asyncio
    import logging

    from server.app import AccessLog

    async def app(scope: object, receive: object, send) -> None:  # type: ignore[no-untyped-def]
        await send({"type": "http.response.start", "status": 200, "headers": [(b"x", b"a\nb")]})

    async def refusing_send(message: object) -> None:
        raise RuntimeError("invalid header")  # what the HTTP layer does with a newline in a header

    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("mykey.server.access")
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.INFO)
    try:
        scope = {"type": "http", "method": "GET", "path": "/v1/summaries/x"}
        with pytest.raises(RuntimeError):
            asyncio.run(AccessLog(app)(scope, None, refusing_send))  # type: ignore[arg-type]
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    assert '"status": 0' in records[-1].getMessage()
