"""The console speaks one language at a time, names what the server codes, and says refusals in words.

Issue 12, finding 9 (every label twice, raw codes, the period field seven Shift+Tabs away) and
what the city clerk must know before approving part of a period or asking for a file.
"""

from __future__ import annotations

import ast
import datetime as dt
import pathlib
import re
from collections.abc import Iterator

import httpx
import pytest
from textual.widgets import Button, DataTable, Input, Static

import server.app  # noqa: F401  (every subsystem's codes are in the catalog)
from server import db
from server.console import words
from server.console.app import SettleApp
from server.console.client import ConsoleError, SettleClient
from server.console.confirm import ConfirmScreen
from server.errors import catalog
from tests.settlement.demo_server import DEC, Demo, make_demo, sell
from tests.settlement.pilot import until

CONSOLE = pathlib.Path(words.__file__).parent
BAKERY = "2026-11:yamato-bakery:tenri-megumi"
BOOKS = "2026-11:sakura-books:tenri-megumi"


@pytest.fixture
def month(tmp_path: pathlib.Path) -> Iterator[Demo]:
    d = make_demo(tmp_path / "server")
    yield d
    d.app.state.store.close()
    words.set_language(words.DEFAULT_LANGUAGE)


def console(d: Demo, who: str, out: pathlib.Path, language: str = "ja") -> SettleApp:
    client = SettleClient("http://settle.test", d.tokens[who], transport=httpx.ASGITransport(app=d.app))
    return SettleApp(client, "2026-11", out, dt.date(2026, 12, 10), who=who, language=language)


def status(app: SettleApp) -> str:
    return str(app.query_one("#status", Static).content)


def message_ids() -> set[str]:
    """Every literal id the console passes to _() or N_()."""
    found = set()
    for path in CONSOLE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") in ("_", "N_") and node.args:
                first = node.args[0]
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    found.add(first.value)
    return found


def test_every_word_the_console_shows_has_its_japanese() -> None:
    ids = message_ids()
    assert len(ids) > 100
    assert sorted(ids - set(words.JAPANESE)) == []
    fields = re.compile(r"{(\w*)}")
    wrong = {
        i: words.JAPANESE[i] for i in ids if set(fields.findall(i)) != set(fields.findall(words.JAPANESE[i]))
    }
    assert wrong == {}, "a Japanese entry names other {fields} than its id"


def test_every_refusal_the_console_words_is_a_server_code() -> None:
    assert set(words.REFUSALS) - {"unreachable", "bad_answer"} <= set(catalog())


async def test_in_japanese_each_label_is_said_once(month: Demo, tmp_path: pathlib.Path) -> None:
    app = console(month, "tenri-cci", tmp_path)
    async with app.run_test(size=(140, 40)) as pilot:
        await until(pilot, lambda: "請求" in status(app))
        labels = [str(button.label) for button in app.query(Button)]
        assert "締める" in labels and not [label for label in labels if re.search(r"[a-z]{3}", label)]
        header = [str(column.label) for column in app.query_one("#claims", DataTable).columns.values()]
        assert header[:3] == ["加盟店", "事業", "自治体"]
        assert app.title == "mykey 精算コンソール"


async def test_in_english_the_console_speaks_english_only(month: Demo, tmp_path: pathlib.Path) -> None:
    await sell(month, "yamato-bakery", "sato", 1200)
    month.clock[0] = DEC
    async with month.client("tenri-cci") as chamber:
        await chamber.post("/v1/periods/2026-11/close")
    app = console(month, "tenri-cci", tmp_path, language="en")
    japanese = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
    async with app.run_test(size=(140, 40)) as pilot:
        lines = app.query_one("#lines", DataTable)
        await until(pilot, lambda: lines.row_count == 1)
        assert status(app) == "2026-11: 1 claims" and app.title == "mykey settlement console"
        labels = [str(button.label) for button in app.query(Button)]
        assert "Close" in labels and not any(japanese.search(label) for label in labels)
        assert lines.get_row_at(0)[1] == "Points used"
        claim = app.query_one("#claims", DataTable).get_row_at(0)
        assert claim[-1] == "Submitted"
        recon = str(app.query_one("#recon", Static).content)
        assert "Verdict: Balanced" in recon and not japanese.search(recon)
        await pilot.click("#close")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert [str(b.label) for b in app.screen.query(Button)] == ["Yes", "No"]
        await pilot.press("n")
        await until(pilot, lambda: status(app) == "Cancelled")


async def test_claims_and_periods_show_names_not_codes(month: Demo, tmp_path: pathlib.Path) -> None:
    await sell(month, "yamato-bakery", "sato", 1200)
    month.clock[0] = DEC
    async with month.client("tenri-cci") as chamber:
        await chamber.post("/v1/periods/2026-11/close")
    conn = db.connect(month.path)
    (definition,) = conn.execute("SELECT definition FROM programs WHERE id = 'tenri-megumi'").fetchone()
    (city,) = conn.execute("SELECT name FROM cities WHERE id = 'tenri'").fetchone()
    (chamber_name,) = conn.execute("SELECT name FROM chambers WHERE id = 'tenri-cci'").fetchone()
    conn.close()
    app = console(month, "tenri-cci", tmp_path)
    async with app.run_test(size=(140, 40)) as pilot:
        claims, periods = app.query_one("#claims", DataTable), app.query_one("#periods", DataTable)
        await until(pilot, lambda: claims.row_count == 1 and periods.row_count == 1)
        row = claims.get_row_at(0)
        assert row[1] in definition and row[1] != "tenri-megumi" and row[2] == city
        assert row[-1] == "審査待ち" and periods.get_row_at(0)[:3] == [chamber_name, "2026-11", "締め済み"]


async def test_p_puts_the_cursor_in_the_period_and_the_footer_says_so(
    month: Demo, tmp_path: pathlib.Path
) -> None:
    app = console(month, "tenri-cci", tmp_path)
    async with app.run_test(size=(140, 40)) as pilot:
        await until(pilot, lambda: "請求" in status(app))
        assert app.focused is app.query_one("#claims", DataTable)
        keys = {key: active.binding.description for key, active in app.screen.active_bindings.items()}
        assert keys["p"] == "期間へ"
        await pilot.press("p")
        period = app.query_one("#period", Input)
        assert app.focused is period
        await pilot.press(*"2026-10", "enter")  # the old text was selected: typing replaces it
        await until(pilot, lambda: status(app).startswith("2026-10:"))
        assert period.value == "2026-10" and app.period == "2026-10"
        app.query_one("#claims", DataTable).focus()
        await pilot.click("#close")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("p")  # under a question, p does not reach the console behind it
        assert isinstance(app.screen, ConfirmScreen) and app.focused is not period
        await pilot.press("n")


async def approved_by_the_chamber(month: Demo) -> None:
    await sell(month, "yamato-bakery", "sato", 1200)
    await sell(month, "sakura-books", "suzuki", 300)
    month.clock[0] = DEC
    async with month.client("tenri-cci") as chamber:
        await chamber.post("/v1/periods/2026-11/close")
        for claim in (BAKERY, BOOKS):
            assert (await chamber.post(f"/v1/claims/{claim}/approve")).status_code == 200


async def test_approving_the_payment_of_part_of_a_period_is_warned_and_asked(
    month: Demo, tmp_path: pathlib.Path
) -> None:
    await approved_by_the_chamber(month)
    app = console(month, "tenri", tmp_path)
    async with app.run_test(size=(140, 40)) as pilot:
        table = app.query_one("#claims", DataTable)
        await until(pilot, lambda: table.row_count == 2)
        table.move_cursor(row=table.get_row_index(BAKERY))
        await until(pilot, lambda: app.selected == BAKERY)
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        warning = str(app.screen.query_one("#warning", Static).content)
        assert (
            "一部だけの承認" in warning and "2 件のうち支払承認済みは 1 件" in warning and "300 円" in warning
        )
        await pilot.press("n")  # no is no
        await until(pilot, lambda: "取り消しました" in status(app))
        assert app.claims[BAKERY].state == "approved"
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await until(pilot, lambda: app.claims[BAKERY].state == "payment_approved")
        table.move_cursor(row=table.get_row_index(BOOKS))
        await until(pilot, lambda: app.selected == BOOKS)
        await pilot.press("a")  # the last one: the whole period is approved, nothing to warn of
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert not app.screen.query("#warning")
        await pilot.press("y")
        await until(pilot, lambda: app.claims[BOOKS].state == "payment_approved")


async def test_a_payee_without_an_account_is_said_in_words_with_its_name(
    month: Demo, tmp_path: pathlib.Path
) -> None:
    await approved_by_the_chamber(month)
    async with month.client("tenri") as city:
        for claim in (BAKERY, BOOKS):
            await city.post(f"/v1/claims/{claim}/approve")
    conn = db.connect(month.path)
    conn.execute("UPDATE merchants SET bank_code = NULL WHERE id = 'sakura-books'")
    conn.close()
    app = console(month, "tenri-cci", tmp_path / "out")
    async with app.run_test(size=(140, 40)) as pilot:
        await until(pilot, lambda: app.query_one("#claims", DataTable).row_count == 2)
        await pilot.press("z")
        await until(pilot, lambda: "payee_without_account" in status(app))
        said = status(app)
        assert "口座が登録されていない支払先" in said and "さくら書店" in said and "/" not in said
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").glob("zengin-*"))


def test_a_refusal_the_console_has_no_words_for_is_shown_as_the_server_said() -> None:
    error = ConsoleError("新しい拒否 / Something new", "something_new")
    assert str(error) == "新しい拒否 / Something new (something_new)"
    words.set_language("en")
    try:
        closed = ConsoleError("…", "transfer_date_closed", [{"text": "2026-12-05: 土曜日"}])
        assert str(closed) == (
            "Banks are closed on that transfer date (weekend, holiday or 12/31-1/3)."
            " — 2026-12-05: 土曜日 (transfer_date_closed)"
        )
    finally:
        words.set_language("ja")


async def test_a_wrong_token_is_said_not_shown_as_an_empty_table(month: Demo, tmp_path: pathlib.Path) -> None:
    client = SettleClient("http://settle.test", "mk_wrong", transport=httpx.ASGITransport(app=month.app))
    app = SettleApp(client, "2026-11", tmp_path, who="nobody")
    async with app.run_test(size=(140, 40)) as pilot:
        await until(pilot, lambda: "(unauthorized)" in status(app))
        assert "トークン" in status(app) and app.query_one("#status", Static).has_class("error")


async def test_times_are_shown_in_japan_time(month: Demo, tmp_path: pathlib.Path) -> None:
    await sell(month, "yamato-bakery", "sato", 1200)  # 2026-11-20 03:00 UTC is 12:00 in Japan
    month.clock[0] = DEC
    async with month.client("tenri-cci") as chamber:
        await chamber.post("/v1/periods/2026-11/close")
    app = console(month, "tenri-cci", tmp_path)
    async with app.run_test(size=(140, 40)) as pilot:
        lines, periods = app.query_one("#lines", DataTable), app.query_one("#periods", DataTable)
        await until(pilot, lambda: lines.row_count == 1 and periods.row_count == 1)
        assert lines.get_row_at(0)[3] == "2026-11-20 12:00"
        assert periods.get_row_at(0)[3] == "2026-12-01 00:00"  # the cutoff: the month's end, in Japan
