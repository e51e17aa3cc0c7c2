"""The sync client: errors translated once, the same sale id until the answer is known, the queue in order."""

from __future__ import annotations

import datetime as dt
import pathlib

import httpx
import pytest
from ulid import ULID

from points.tax import Line, TaxRate
from points.wire import PointTender, RateAmount, SaleRequest
from pos.journal import EntryState, Journal
from pos.sync import (
    AnswerLost,
    NotAuthorized,
    ServerClient,
    ServerFailed,
    ServerRefused,
    ServerUnreachable,
    Syncer,
)
from tests.pos.fake_server import ALICE, FakeServer

LINES = [Line("品物", 1100, 1, TaxRate.STANDARD)]


def make_sale(receipt_no: int = 1, points: int = 0, offline: bool = False) -> SaleRequest:
    return SaleRequest(
        sale_id=str(ULID()),
        terminal_time=dt.datetime.now(dt.UTC),
        receipt_no=receipt_no,
        card_key=ALICE if points else None,
        totals=[RateAmount(rate=TaxRate.STANDARD, amount=1100)],
        points=[PointTender(program_id="tenri-megumi", points=points)] if points else [],
        cash=1100 - points,
        offline=offline,
    )


@pytest.fixture
def server() -> FakeServer:
    return FakeServer()


@pytest.fixture
def client(server: FakeServer) -> ServerClient:
    return ServerClient("http://pos.test", "token", transport=server.transport)


@pytest.fixture
def journal(tmp_path: pathlib.Path) -> Journal:
    return Journal(tmp_path / "journal.db")


def test_a_sale_round_trips_and_the_client_is_online(client: ServerClient) -> None:
    sale = make_sale(points=500)
    result = client.post_sale(sale)
    assert result.sale_id == sale.sale_id and result.points[0].points == 500
    assert client.online is True


def test_a_refused_connection_is_unreachable_and_flips_the_state(
    server: FakeServer, client: ServerClient
) -> None:
    seen: list[bool] = []
    client.listeners.append(seen.append)
    client.health()
    server.down = True
    with pytest.raises(ServerUnreachable):
        client.health()
    assert client.online is False and seen == [True, False]


def test_a_lost_answer_is_not_unreachable(server: FakeServer, client: ServerClient) -> None:
    server.lose_answers = True
    with pytest.raises(AnswerLost):
        client.post_sale(make_sale())
    assert len(server.sales) == 1  # the server did apply it: retrying must use the same id


def test_insufficient_balance_is_a_refusal_with_its_code(client: ServerClient) -> None:
    sale = make_sale(points=600).model_copy(update={"card_key": "uid:" + "b0" * 32})
    with pytest.raises(ServerRefused) as refused:
        client.post_sale(sale)
    assert refused.value.code == "insufficient_balance" and refused.value.status == 409
    assert "insufficient_balance" in refused.value.message("ja")


def test_unauthorised_and_garbage_answers() -> None:
    def deny(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"code": "bad_token", "message": "no"})

    with pytest.raises(NotAuthorized):
        ServerClient("http://pos.test", "t", transport=httpx.MockTransport(deny)).health()

    def garbage(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text="<html>proxy</html>")

    with pytest.raises(ServerFailed):
        ServerClient("http://pos.test", "t", transport=httpx.MockTransport(garbage)).health()


def test_nothing_listens_on_a_closed_port_means_unreachable() -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(ServerUnreachable):
        ServerClient(f"http://127.0.0.1:{port}", "t", timeout=1).health()


def test_a_pending_sale_is_resolved_with_the_same_id_once(
    server: FakeServer, client: ServerClient, journal: Journal
) -> None:
    sale = make_sale(points=500)
    journal.begin_sale(sale, LINES)
    server.lose_answers = True
    with pytest.raises(AnswerLost):
        client.post_sale(sale)
    server.lose_answers = False
    report = Syncer(journal, client).sync()
    assert report.resolved == [sale.sale_id] and report.error is None
    assert journal.get(sale.sale_id).state is EntryState.ACCEPTED
    assert server.balances[ALICE]["tenri-megumi"] == 4500  # taken once, not twice


def test_the_offline_queue_syncs_in_order_and_refusals_are_kept(
    server: FakeServer, client: ServerClient, journal: Journal
) -> None:
    sales = [make_sale(n, offline=True) for n in range(1, 8)]
    sales[3] = make_sale(4, points=600, offline=True).model_copy(update={"card_key": "uid:" + "b0" * 32})
    for sale in sales:
        journal.begin_sale(sale, LINES, offline=True)
    progress: list[tuple[int, int]] = []
    report = Syncer(journal, client, progress=lambda done, total: progress.append((done, total))).sync()
    assert report.remaining == 0 and progress[-1] == (7, 7)
    assert [sid for sid, _ in report.refused] == [sales[3].sale_id]
    assert list(server.sales) == [s.sale_id for s in sales if s is not sales[3]]
    assert [e.id for e in journal.refused_on_sync()] == [sales[3].sale_id]
    assert journal.count(EntryState.SYNCED) == 6


def test_sync_stops_when_the_server_goes_away_and_keeps_the_rest(
    server: FakeServer, client: ServerClient, journal: Journal
) -> None:
    for n in range(3):
        journal.begin_sale(make_sale(n, offline=True), LINES, offline=True)
    server.down = True
    report = Syncer(journal, client).sync()
    assert isinstance(report.error, ServerUnreachable) and report.remaining == 3
    server.down = False
    assert Syncer(journal, client).sync().remaining == 0
