"""The sync client against the real server: errors translated once, the same sale id until the answer is
known, the queue in order. Outages and lost answers come from the fault proxy in front of it."""

from __future__ import annotations

import datetime as dt
import pathlib

import httpx
import pytest
from ulid import ULID

from points.tax import Line, TaxRate
from points.wire import PointTender, RateAmount, ReceiptForTickets, SaleRequest, TicketIssueRequest
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
from tests.support.counter_server import ALICE, BOB, CounterServer
from tests.support.pgdb import pg_kek  # noqa: F401  (the fixture, by name)

LINES = [Line("品物", 1100, 1, TaxRate.STANDARD)]


def make_sale(receipt_no: int = 1, points: int = 0, offline: bool = False, total: int = 1100) -> SaleRequest:
    return SaleRequest(
        sale_id=str(ULID()),
        terminal_time=dt.datetime.now(dt.UTC),
        receipt_no=receipt_no,
        card_key=ALICE if points else None,
        totals=[RateAmount(rate=TaxRate.STANDARD, amount=total)],
        points=[PointTender(program_id="tenri-megumi", points=points)] if points else [],
        cash=total - points,
        offline=offline,
    )


@pytest.fixture
def client(real_server: CounterServer) -> ServerClient:
    return real_server.client()


@pytest.fixture
def journal(tmp_path: pathlib.Path) -> Journal:
    return Journal(tmp_path / "journal.db")


def test_a_sale_round_trips_and_the_client_is_online(client: ServerClient) -> None:
    sale = make_sale(points=500)
    result = client.post_sale(sale)
    assert result.sale_id == sale.sale_id and result.points[0].points == 500
    assert client.online is True


def test_a_refused_connection_is_unreachable_and_flips_the_state(
    real_server: CounterServer, client: ServerClient
) -> None:
    seen: list[bool] = []
    client.listeners.append(seen.append)
    client.health()
    real_server.outage()
    with pytest.raises(ServerUnreachable):
        client.health()
    assert client.online is False and seen == [True, False]


def test_a_lost_answer_is_not_unreachable(real_server: CounterServer, client: ServerClient) -> None:
    real_server.lose_answers()
    sale = make_sale()
    with pytest.raises(AnswerLost):
        client.post_sale(sale)
    assert list(real_server.sales()) == [sale.sale_id]  # the server did apply it: retry with the same id


def test_insufficient_points_is_a_refusal_in_the_counters_words(client: ServerClient) -> None:
    sale = make_sale(points=600).model_copy(update={"card_key": "uid:" + "b0" * 32})
    with pytest.raises(ServerRefused) as refused:
        client.post_sale(sale)
    assert not isinstance(refused.value, NotAuthorized)
    assert refused.value.code == "insufficient_points" and refused.value.status == 409
    assert refused.value.message("ja") == "ポイントが足りません。 (insufficient_points)"


def test_a_sale_above_the_no_pin_limit_is_refused_for_the_pin_not_the_token(client: ServerClient) -> None:
    with pytest.raises(ServerRefused) as refused:
        client.post_sale(make_sale(total=4000, points=3500))
    assert not isinstance(refused.value, NotAuthorized)
    assert (refused.value.code, refused.value.status) == ("pin_required", 409)
    assert "暗証番号" in refused.value.message("ja")


def test_the_same_id_with_another_body_is_refused_as_a_mismatch(client: ServerClient) -> None:
    sale = make_sale()
    client.post_sale(sale)
    with pytest.raises(ServerRefused) as refused:
        client.post_sale(sale.model_copy(update={"cash": 2000}))
    assert (refused.value.code, refused.value.status) == ("idempotency_mismatch", 409)


def test_a_wrong_token_and_a_wrong_mode_are_settings_to_fix(real_server: CounterServer) -> None:
    with pytest.raises(NotAuthorized) as wrong_token:
        ServerClient(real_server.proxy.url, "not-a-token").terminal_config()
    assert (wrong_token.value.code, wrong_token.value.status) == ("unauthorized", 401)
    assert "トークン" in wrong_token.value.message("ja")
    shop = real_server.client()
    with pytest.raises(NotAuthorized) as wrong_mode:
        shop.issue_tickets(
            TicketIssueRequest(
                issue_id=str(ULID()),
                program_id="tenri-megumi",
                receipts=[
                    ReceiptForTickets(
                        merchant_id="yamato-bakery", receipt_no="1", date=dt.date.today(), amount=5000
                    )
                ],
            )
        )
    assert (wrong_mode.value.code, wrong_mode.value.status) == ("terminal_mode", 403)
    assert "端末の用途" in wrong_mode.value.message("ja") and "トークン" not in wrong_mode.value.message("ja")


def test_a_garbage_answer_is_a_server_failure() -> None:
    # Not a server at all (a captive portal's page): nothing the real server sends, so a transport.
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
    real_server: CounterServer, client: ServerClient, journal: Journal
) -> None:
    sale = make_sale(points=500)
    journal.begin_sale(sale, LINES)
    real_server.lose_answers()
    with pytest.raises(AnswerLost):
        client.post_sale(sale)
    real_server.lose_answers(False)
    report = Syncer(journal, client).sync()
    assert report.resolved == [sale.sale_id] and report.error is None
    assert journal.get(sale.sale_id).state is EntryState.ACCEPTED
    assert real_server.balance(ALICE, "tenri-megumi") == 4500  # taken once, not twice


def test_the_offline_queue_syncs_in_order_and_refusals_are_kept(
    real_server: CounterServer, client: ServerClient, journal: Journal
) -> None:
    sales = [make_sale(n, offline=True) for n in range(1, 8)]
    # Points queued offline beyond the program's offline limit (0): the server refuses that one on sync.
    sales[3] = make_sale(4, points=600, offline=True).model_copy(update={"card_key": "uid:" + "b0" * 32})
    for sale in sales:
        journal.begin_sale(sale, LINES, offline=True)
    progress: list[tuple[int, int]] = []
    report = Syncer(journal, client, progress=lambda done, total: progress.append((done, total))).sync()
    assert report.remaining == 0 and progress[-1] == (7, 7)
    assert [(sid, error.code) for sid, error in report.refused] == [
        (sales[3].sale_id, "offline_limit_exceeded")
    ]
    assert list(real_server.sales()) == [s.sale_id for s in sales if s is not sales[3]]
    assert [e.id for e in journal.refused_on_sync()] == [sales[3].sale_id]
    assert journal.count(EntryState.SYNCED) == 6


def test_sync_stops_when_the_server_goes_away_and_keeps_the_rest(
    real_server: CounterServer, client: ServerClient, journal: Journal
) -> None:
    for n in range(3):
        journal.begin_sale(make_sale(n, offline=True), LINES, offline=True)
    real_server.outage()
    report = Syncer(journal, client).sync()
    assert isinstance(report.error, ServerUnreachable) and report.remaining == 3
    real_server.outage(False)
    assert Syncer(journal, client).sync().remaining == 0


def test_an_offline_counter_refuses_a_card_blocked_meanwhile_once_a_sync_brings_the_new_list(
    real_server: CounterServer, journal: Journal
) -> None:
    from points.wire import BlockRequest
    from pos.checkout import blocked_keys
    from pos.counter import Counter
    from pos.printing import ReceiptPrinter

    counter = Counter(journal, real_server.client(), ReceiptPrinter())
    config = counter.load_config()
    assert ALICE not in blocked_keys(config)
    desk = real_server.client("tenri-enroll-1")
    number = real_server.client().lookup(ALICE).account_number
    assert number is not None
    desk.desk_block(BlockRequest(account_number=number, reason="紛失届"))
    # Offline the counter knows only its last list: the card passes until the counter syncs.
    assert counter.offline_allowed(make_sale(points=0).model_copy(update={"card_key": ALICE}))
    counter.sync()  # nothing queued: the health check's version tells the list changed
    assert counter.config is not None and ALICE in blocked_keys(counter.config)
    assert not counter.offline_allowed(make_sale(points=0).model_copy(update={"card_key": ALICE}))
    assert counter.refresh_block_list() is False  # unchanged since: no fetch


def test_the_counter_fetches_the_block_list_as_deltas_and_keeps_the_whole_list(
    real_server: CounterServer, journal: Journal
) -> None:
    from points.wire import BlockRequest, TerminalConfig
    from pos.checkout import blocked_keys
    from pos.counter import Counter
    from pos.printing import ReceiptPrinter

    client = real_server.client()
    answers: list[TerminalConfig] = []
    fetch = client.terminal_config

    def recorded(block_list_since: str = "") -> TerminalConfig:
        answers.append(fetch(block_list_since))  # the server's own answers, kept to look at
        return answers[-1]

    client.terminal_config = recorded  # type: ignore[method-assign]
    counter = Counter(journal, client, ReceiptPrinter())
    first = counter.load_config()
    assert answers[-1].block_list_since == "" and ALICE not in blocked_keys(first)
    desk = real_server.client("tenri-enroll-1")
    number = client.lookup(ALICE).account_number
    assert number is not None
    desk.desk_block(BlockRequest(account_number=number, reason="紛失届"))
    counter.sync()
    delta = answers[-1]
    assert (delta.block_list_since, delta.blocked_keys) == (first.block_list_version, [ALICE])
    assert counter.config is not None and ALICE in blocked_keys(counter.config)
    assert (
        counter.config.block_list_since == ""
        and counter.config.block_list_version == delta.block_list_version
    )
    saved = TerminalConfig.model_validate_json(str(journal.get_meta("terminal_config")))
    assert ALICE in saved.blocked_keys  # a restart offline keeps the merged list
    bob = client.lookup(BOB).account_number
    assert bob is not None
    desk.desk_block(BlockRequest(account_number=bob, reason="紛失届"))
    desk.desk_block(BlockRequest(account_number=number, reason="見つかった"), lift=True)
    counter.sync()
    assert answers[-1].unblocked_keys == [ALICE] and answers[-1].blocked_keys == [BOB]
    assert counter.config.blocked_keys == [BOB]
    # A restarted counter asks from the version it saved: nothing changed, nothing sent.
    restarted = Counter(journal, client, ReceiptPrinter())
    restarted.load_config()
    assert (
        answers[-1].block_list_since == counter.config.block_list_version and answers[-1].blocked_keys == []
    )
    # A list of a version the server does not know (a restored server) is replaced whole.
    restarted.config = restarted.config.model_copy(  # type: ignore[union-attr]
        update={"block_list_version": "999:2000-01-01T00:00:00+00:00", "blocked_keys": [ALICE]}
    )
    restarted.load_config()
    assert answers[-1].block_list_since == "" and restarted.config.blocked_keys == [BOB]  # type: ignore[union-attr]


@pytest.mark.usefixtures("pg_kek")  # the key the server's processes seal the database with (MYKEY_KEY)
def test_a_server_without_its_database_puts_the_counter_offline_and_a_sale_is_sent_again_with_its_id(
    pg_server: str, pg_database: str, tmp_path: pathlib.Path
) -> None:
    # A real server on PostgreSQL whose database is taken away (no new sessions, its own ended), as
    # in an outage of the primary with no standby: the server is up and answers 503 database_unavailable.
    import time

    import psycopg
    from psycopg import sql

    from pos.sync import DatabaseUnavailable
    from tests.support.server import running_server

    name = pg_database.rsplit("/", 1)[1]

    def database(allowed: bool) -> None:
        with psycopg.connect(pg_server, autocommit=True) as admin:
            admin.execute(
                sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS {}").format(
                    sql.Identifier(name), sql.SQL(str(allowed).lower())
                )
            )
            if not allowed:
                admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,)
                )

    with running_server(tmp_path / "server", db_url=pg_database) as server:
        client = ServerClient(server.url, server.tokens["yamato-bakery-t1"])
        card = server.cards["sato"]["card_key"]
        before = {b.program_id: b.points for b in client.lookup(card).balances}["tenri-megumi"]
        assert client.online is True
        sale = make_sale(points=300).model_copy(update={"card_key": card})
        database(allowed=False)
        try:
            with pytest.raises(DatabaseUnavailable) as lookup:
                client.lookup(card)
            assert client.online is False  # the payment screen offers the offline limits, not "no card"
            assert "データベース" in lookup.value.message("ja")
            with pytest.raises(AnswerLost):  # its fate unknown: the counter keeps it pending, same id
                client.post_sale(sale)
        finally:
            database(allowed=True)
        deadline = time.monotonic() + 20
        while True:  # the server's sessions come back on their own
            try:
                result = client.post_sale(sale)
                break
            except DatabaseUnavailable:
                assert time.monotonic() < deadline, "the server did not reconnect to its database"
                time.sleep(0.2)
        assert client.online is True
        assert client.post_sale(sale) == result  # answered again, not taken twice
        after = {b.program_id: b.points for b in client.lookup(card).balances}["tenri-megumi"]
        assert after == before - 300 + sum(a.points for a in result.awards if a.program_id == "tenri-megumi")
