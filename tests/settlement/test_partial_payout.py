"""A Zengin file for part of a period is said so, and refusals come in the language asked for.

Issue 12's leftovers: the clerk downloading a transfer file while some claims are not approved for
payment (or a chamber has not closed) is warned in the console and told in the API's answer and
headers; ``mykey-settle`` and the server's refusals speak one language at a time.
"""

from __future__ import annotations

import datetime as dt
import pathlib
import re
from collections.abc import Iterator

import httpx
import pytest
from textual.widgets import DataTable, Static

from server import db
from server.console import cli, words
from server.console.app import SettleApp
from server.console.client import SettleClient
from server.console.confirm import ConfirmScreen
from tests.settlement.demo_server import DEC, Demo, make_demo, sell
from tests.settlement.pilot import until

BAKERY = "2026-11:yamato-bakery:tenri-megumi"
BOOKS = "2026-11:sakura-books:tenri-megumi"
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
SATURDAY = "2026-12-05"


@pytest.fixture
def month(tmp_path: pathlib.Path) -> Iterator[Demo]:
    d = make_demo(tmp_path / "server")
    yield d
    d.app.state.store.close()
    words.set_language(words.DEFAULT_LANGUAGE)


async def only_the_bakery_approved_for_payment(month: Demo) -> None:
    await sell(month, "yamato-bakery", "sato", 1200)
    await sell(month, "sakura-books", "suzuki", 300)
    month.clock[0] = DEC
    async with month.client("tenri-cci") as chamber:
        await chamber.post("/v1/periods/2026-11/close")
        for claim in (BAKERY, BOOKS):
            assert (await chamber.post(f"/v1/claims/{claim}/approve")).status_code == 200
    async with month.client("tenri") as city:
        assert (await city.post(f"/v1/claims/{BAKERY}/approve")).json()["state"] == "payment_approved"


def console(d: Demo, who: str, out: pathlib.Path, language: str = "ja", day: str = "2026-12-10") -> SettleApp:
    client = SettleClient("http://settle.test", d.tokens[who], transport=httpx.ASGITransport(app=d.app))
    return SettleApp(client, "2026-11", out, dt.date.fromisoformat(day), who=who, language=language)


def status(app: SettleApp) -> str:
    return str(app.query_one("#status", Static).content)


async def test_the_plan_and_the_file_say_how_much_of_the_period_they_pay(month: Demo) -> None:
    await only_the_bakery_approved_for_payment(month)
    async with month.client("tenri") as city:
        plan = (await city.get("/v1/payouts/2026-11")).json()
        assert plan["total"] == 1200 and plan["coverage"] == {
            "partial": True, "claims": 2, "approved": 1, "unapproved": 1, "unapproved_net": 300,
            "open_chambers": [], "open_chamber_names": [],
        }  # fmt: skip
        answer = await city.get("/v1/payouts/2026-11/zengin", params={"date": "2026-12-10"})
        assert answer.status_code == 200, answer.text
        assert (answer.headers["x-payout-partial"], answer.headers["x-payout-claims"]) == ("true", "2")
        assert (answer.headers["x-payout-approved"], answer.headers["x-payout-unapproved-net"]) == (
            "1",
            "300",
        )
        assert (await city.post(f"/v1/claims/{BOOKS}/approve")).status_code == 200
        whole = await city.get("/v1/payouts/2026-11/zengin", params={"date": "2026-12-10"})
        assert whole.headers["x-payout-partial"] == "false" and whole.headers["x-payout-open-chambers"] == ""
    # A second chamber of the city that has not closed November: its claims do not exist yet.
    conn = db.connect(month.path)
    conn.execute(
        "INSERT INTO chambers(id, name, city_id, created_at) VALUES ('nara-cci', '奈良 商工会', 'tenri', ?)",
        (DEC.isoformat(),),
    )
    conn.close()
    async with month.client("tenri") as city:
        coverage = (await city.get("/v1/payouts/2026-11")).json()["coverage"]
        assert coverage["partial"] and coverage["unapproved"] == 0
        assert (coverage["open_chambers"], coverage["open_chamber_names"]) == (["nara-cci"], ["奈良 商工会"])
        answer = await city.get("/v1/payouts/2026-11/zengin", params={"date": "2026-12-10"})
        assert answer.headers["x-payout-partial"] == "true"
        assert answer.headers["x-payout-open-chambers"] == "nara-cci"
    async with month.client("tenri-cci") as chamber:  # the chamber's own file: its claims, its close
        coverage = (await chamber.get("/v1/payouts/2026-11")).json()["coverage"]
        assert (coverage["partial"], coverage["claims"], coverage["open_chambers"]) == (False, 2, [])


async def test_a_refusal_comes_in_the_language_the_client_asks_for(month: Demo) -> None:
    await only_the_bakery_approved_for_payment(month)
    async with month.client("tenri") as city:
        path, params = "/v1/payouts/2026-11/zengin", {"date": SATURDAY}
        english = (await city.get(path, params=params, headers={"Accept-Language": "en-US,en;q=0.9"})).json()
        assert english["code"] == "transfer_date_closed"
        assert english["message"] == (
            "The transfer date is not a bank business day (weekend, national holiday or 12/31-1/3)"
            ": 2026-12-05: Saturday"
        )
        japanese = (await city.get(path, params=params, headers={"Accept-Language": "ja-JP"})).json()
        assert (
            japanese["message"] == "振込指定日が銀行休業日です（土日・祝日・12/31〜1/3）: 2026-12-05: 土曜日"
        )
        preferred = (await city.get(path, params=params, headers={"Accept-Language": "en;q=0.5, ja"})).json()
        assert preferred["message"] == japanese["message"]
        # A client that asks for neither (a counter, a script) gets both, as before.
        both = (await city.get(path, params=params)).json()
        assert both["message"].startswith(
            "振込指定日が銀行休業日です（土日・祝日・12/31〜1/3） / The transfer"
        )
        assert both["detail"] == [
            {
                "text": "2026-12-05: 土曜日 / 2026-12-05: Saturday",
                "ja": "2026-12-05: 土曜日",
                "en": "2026-12-05: Saturday",
            }
        ]


async def test_the_console_asks_before_a_file_that_pays_part_of_the_period(
    month: Demo, tmp_path: pathlib.Path
) -> None:
    await only_the_bakery_approved_for_payment(month)
    out = tmp_path / "out"
    app = console(month, "tenri", out)
    async with app.run_test(size=(140, 40)) as pilot:
        await until(pilot, lambda: app.query_one("#claims", DataTable).row_count == 2)
        await pilot.press("z")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        warning = str(app.screen.query_one("#warning", Static).content)
        assert (
            "一部だけの振込" in warning
            and "請求 2 件のうち支払承認済みは 1 件" in warning
            and "300 円" in warning
        )
        await pilot.press("n")
        await until(pilot, lambda: status(app) == "取り消しました")
        assert not out.exists() or not list(out.glob("zengin-*"))
        await pilot.press("z")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await until(pilot, lambda: "全銀ファイルを保存しました" in status(app))
        assert "一部だけの振込" in status(app) and app.query_one("#status", Static).has_class("error")
    assert len(list(out.glob("zengin-*"))) == 1


async def test_a_whole_period_is_written_without_a_question(month: Demo, tmp_path: pathlib.Path) -> None:
    await only_the_bakery_approved_for_payment(month)
    async with month.client("tenri") as city:
        assert (await city.post(f"/v1/claims/{BOOKS}/approve")).status_code == 200
    app = console(month, "tenri", tmp_path / "out", language="en")
    async with app.run_test(size=(140, 40)) as pilot:
        await until(pilot, lambda: app.query_one("#claims", DataTable).row_count == 2)
        await pilot.press("z")
        await until(pilot, lambda: status(app).startswith("Saved the Zengin file"))
        assert not isinstance(app.screen, ConfirmScreen) and not JAPANESE.search(status(app))


async def test_in_english_the_partial_warning_and_a_refusals_detail_are_english(
    month: Demo, tmp_path: pathlib.Path
) -> None:
    await only_the_bakery_approved_for_payment(month)
    app = console(month, "tenri", tmp_path / "out", language="en", day=SATURDAY)
    async with app.run_test(size=(140, 40)) as pilot:
        await until(pilot, lambda: app.query_one("#claims", DataTable).row_count == 2)
        await pilot.press("z")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        warning = str(app.screen.query_one("#warning", Static).content)
        assert warning.startswith("Partial payout: 1 of the period's 2 claims") and not JAPANESE.search(
            warning
        )
        await pilot.press("y")
        await until(pilot, lambda: "(transfer_date_closed)" in status(app))
        assert "2026-12-05: Saturday" in status(app) and not JAPANESE.search(status(app))


@pytest.mark.parametrize(
    ("language", "said"),
    [
        ("ja", "serve はトークンを受け取りません。各ブラウザでサインインします"),
        ("en", "serve takes no token: each browser signs in for itself"),
    ],
)
def test_the_command_lines_refusals_are_in_one_language(
    language: str, said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    try:
        assert cli.main(["serve", "--token", "x", "--language", language]) == 2
        assert capsys.readouterr().err.strip() == said
        assert cli.main(["serve", "--tls-cert", "c.pem", "--language", language]) == 2
        refused = capsys.readouterr().err
        assert bool(JAPANESE.search(refused)) is (language == "ja") and " / " not in refused
    finally:
        words.set_language(words.DEFAULT_LANGUAGE)
