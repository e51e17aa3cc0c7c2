"""Statements a clerk can read (issue 12, finding 11): counts, names, 未締め, every total, demo payers."""

from __future__ import annotations

import csv
import io
import pathlib

from points.wire import Merchant, TerminalConfig
from pos import receipts
from printers import decode, render
from server import db, demo
from server.console import cli as console_cli
from server.settlement import payouts, periods, statements
from server.settlement.claims import Scope
from tests.settlement.conftest import DEC, NOV, PROGRAMS, Books

SHOP_A = Scope("merchant", merchant_id="shop-a")


def november(books: Books) -> None:
    """Two redemptions and a ticket at shop-a, one voided; November closed by its chamber."""
    books.redeem("shop-a", "tenri", 1000, NOV)
    voided = books.redeem("shop-a", "tenri", 300, NOV)
    books.redeem("shop-a", "tenri", 500, NOV, ticket=True)
    books.void(voided, NOV)
    periods.close(books.conn, "tenri-cci", periods.parse_period("2026-11"), "test", now=DEC)


def slip_text(doc: dict[str, object]) -> str:
    config = TerminalConfig.model_construct(
        merchant=Merchant(
            id="shop-a", name="ヤマダ商店", address="天理市", phone="0743", invoice_number=None
        ),
        programs=list(PROGRAMS),
    )
    return "\n".join(decode(render(receipts.statement(config, doc))))


def test_a_statement_counts_its_sales_and_names_who_pays(books: Books) -> None:
    november(books)
    doc = statements.statement(books.conn, SHOP_A, "shop-a", "2026-11")
    line = doc["claims"][0]
    assert (line["redeemed_points_count"], line["redeemed_tickets_count"], line["voided_count"]) == (2, 1, 1)
    assert line["payer_name"] == "tenri-cci（tenriから）" and line["city_name"] == "tenri"
    assert doc["period_state"] == "closed"
    paper = slip_text(doc)
    assert "ポイント利用 2件" in paper and "ポイント券 1件" in paper and "取消 1件" in paper
    assert "via_chamber" not in paper and "city_direct" not in paper


def test_the_csv_total_row_fills_every_figure_and_prints_no_fraction(books: Books) -> None:
    november(books)
    doc = statements.statement(books.conn, SHOP_A, "shop-a", "2026-11")
    rows = list(csv.reader(io.StringIO(statements.statement_csv(doc).decode("utf-8-sig"))))
    header, total = rows[0], next(r for r in rows if r[2] == "合計")
    figures = {name: total[header.index(name)] for name in header[5:17]}
    assert all(value != "" for value in figures.values()), figures
    assert (figures["ポイント利用"], figures["ポイント券"], figures["取消件数"]) == ("1300", "500", "1")
    assert not any("0.000" in cell for row in rows for cell in row)


def test_an_open_month_says_it_is_not_closed_rather_than_zero_yen(books: Books) -> None:
    books.redeem("shop-a", "tenri", 1000, NOV)
    doc = statements.statement(books.conn, SHOP_A, "shop-a", "2026-11")
    assert (doc["period_state"], doc["period_state_ja"]) == ("open", "未締め")
    paper = slip_text(doc)
    assert "未締め" in paper and "¥0" not in paper
    rows = list(csv.reader(io.StringIO(statements.statement_csv(doc).decode("utf-8-sig"))))
    assert "未締め" in rows[-1]


def test_the_summary_and_the_disputed_lines_name_rather_than_code(books: Books) -> None:
    november(books)
    books.conn.execute("UPDATE chambers SET name = '天理商工会議所' WHERE id = 'tenri-cci'")
    summary = statements.summary_csv(books.conn, Scope("chamber", chamber_id="tenri-cci"), "2026-11")
    rows = list(csv.reader(io.StringIO(summary.decode("utf-8-sig"))))
    assert rows[1][1] == "天理商工会議所" and "via_chamber" not in summary.decode()
    doc = statements.statement(books.conn, SHOP_A, "shop-a", "2026-11")
    refused = {"error_code": "insufficient_points", "message": "ポイントが足りません / Not enough points"}
    doc["disputed"] = [{"program_id": "tenri", "program_name": "", "amount": 7, "sale_id": "S1", **refused}]
    disputed = list(csv.reader(io.StringIO(statements.statement_csv(doc).decode("utf-8-sig"))))[-1]
    assert (
        disputed[-2] == "係争"
        and disputed[-1] == "S1 ポイントが足りません / Not enough points (insufficient_points)"
    )


def test_the_demo_has_a_payer_for_every_city(tmp_path: pathlib.Path) -> None:
    demo.build(tmp_path, [], [])
    conn = db.connect(tmp_path / "mykey.db")
    try:
        cities = [row[0] for row in conn.execute("SELECT id FROM cities ORDER BY id")]
        for city in cities:
            assert payouts.get_payer(conn, f"city:{city}").owner == f"city:{city}"
    finally:
        conn.close()


def test_the_console_defaults_to_the_port_the_readme_and_the_server_use() -> None:
    from server import cli as server_cli

    readme = (pathlib.Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    assert "--port 8000" in readme and console_cli.DEFAULT_URL.endswith(":8000")
    assert server_cli.build_parser().parse_args(["serve"]).port == 8000
