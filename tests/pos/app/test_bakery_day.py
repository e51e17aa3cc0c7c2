"""A bakery's whole day at the counter, driven by the keys (Pilot, real server, TCP test printer).

The float goes in, then 30 sales are rung up with department keys (部門), scanned products (PLU),
line and subtotal discounts and 見切り, card points of three programs, point tickets, other tenders
(credit, QR, IC), three of them while the server is down; one sale is voided, two are returned in
part (返品); then the X report, the drawer counted by denomination, and the Z close. What varies
(amounts, items, how the customer pays in cash) is drawn from a fixed seed.

Every job the TCP printer received is decoded back to text, and the day is added up from the
receipts alone — the sale receipts, the void receipt (取消) and the return receipts (返品) — per
tax rate, per tender and per program. The Z report's printed figures must equal those sums to the
yen, the drawer must be float + cash taken − change − cash refunded, and 過不足 counted − expected.
The server's own records (sales and their statuses, returns, other tenders, tickets) must agree.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable

from points import jan
from points.dayreport import DENOMINATIONS
from pos import app as pos_app
from pos.app import PosApp
from pos.card.simulated import DEMO_UIDS, SimulatedReader
from pos.items import ItemList, parse
from pos.screens.end_of_day import EndOfDayScreen
from pos.screens.history import HistoryScreen
from pos.screens.home import HomeScreen
from pos.screens.receipt import ReceiptScreen
from pos.screens.returns import ReturnScreen
from pos.screens.sale import SaleScreen
from pos.screens.tender import TenderScreen
from tests.pos.app.conftest import SIZE
from tests.pos.app.helpers import choose_program, fill, ready, settle, text_of, type_in
from tests.support.counter_server import CounterServer
from tests.support.tcp_printer import Job, TcpPrinter, tcp_printer  # noqa: F401  (fixture)

SEED = 20261202
FLOAT = 30_000
ALICE_CARD = SimulatedReader.uid_card(DEMO_UIDS[0])
BOB_CARD = SimulatedReader.uid_card(DEMO_UIDS[1])

#: The bakery's products: (JAN, name, price, rate).
PRODUCTS = [
    (jan.make("490123456001"), "食パン 1斤", 380, 8),
    (jan.make("490123456002"), "クロワッサン", 220, 8),
    (jan.make("490123456003"), "メロンパン", 180, 8),
    (jan.make("490123456004"), "ブレンドコーヒー", 350, 10),
]


@pytest.fixture
def bakery() -> ItemList:
    return parse(
        {
            "default_rate": 8,
            "markdown_percent": 30,
            "department": [
                {"key": "A", "name": "パン", "rate": 8},
                {"key": "B", "name": "焼菓子", "rate": 8},
                {"key": "C", "name": "ドリンク", "rate": 10},
                {"key": "D", "name": "イートイン", "rate": 10, "price": 300},
            ],
            "product": [{"jan": j, "name": n, "price": p, "rate": r} for j, n, p, r in PRODUCTS],
        }
    )


# Decoding what was printed ---------------------------------------------------------------


def normal(line: str) -> str:
    """A printed line with its runs of spaces squeezed (columns are the layout's business)."""
    return " ".join(line.split())


YEN = re.compile(r"(-?)¥([\d,]+)$")
POINTS = re.compile(r"([+-]?)([\d,]+) pt$")


def yen(text: str) -> int:
    """The yen amount that ends a printed line (``-¥1,234`` is -1234)."""
    match = YEN.search(text)
    assert match is not None, f"no amount in {text!r}"
    return (-1 if match[1] else 1) * int(match[2].replace(",", ""))


def points_of(text: str) -> int:
    match = POINTS.search(text)
    assert match is not None, f"no points in {text!r}"
    return (-1 if match[1] == "-" else 1) * int(match[2].replace(",", ""))


def fmt(amount: int) -> str:
    return f"-¥{-amount:,}" if amount < 0 else f"¥{amount:,}"


@dataclass
class Printed:
    """One receipt as decoded from the printer's bytes: what it adds to (or takes from) the day."""

    kind: str  # sale, void, return
    no: int
    lines: list[str]
    sale_id: str = ""
    original_no: int = 0
    total: int = 0
    #: rate → (amount, tax) as printed (negative on void and return receipts).
    rates: dict[int, tuple[int, int]] = field(default_factory=dict)
    cash: int = 0
    change: int = 0
    #: program name → points paid (sale) or given back (void, return).
    points: dict[str, int] = field(default_factory=dict)
    #: program name → (count, yen) of tickets.
    tickets: dict[str, list[int]] = field(default_factory=dict)
    #: words (クレジット, QR決済, …) → yen.
    external: dict[str, int] = field(default_factory=dict)
    #: program name → points awarded (sale) or taken back (void, return: 付与取消).
    awards: dict[str, int] = field(default_factory=dict)
    refund_cash: int = 0
    offline: bool = False


def read_receipt(lines: list[str], programs: dict[str, str]) -> Printed:
    """Parse a decoded sale, void or return receipt (``programs``: name → id of the terminal's)."""
    kind = "void" if "取消" in lines else "return" if "返品" in lines else "sale"
    head = next(line for line in lines if line.startswith("端末 "))
    match = re.search(r"(元)?No\.(\d{6})$", head)
    assert match is not None, head
    printed = Printed(kind, int(match[2]), lines)
    if kind == "void":
        printed.original_no = printed.no
    rates: dict[int, list[int]] = {}
    rate = 0
    after_total = False
    for line in lines:
        if line.startswith("元レシート No."):
            printed.original_no = int(line.removeprefix("元レシート No."))
        if line.startswith("取引ID "):
            printed.sale_id = line.removeprefix("取引ID ")
        if line.startswith("元取引ID "):
            printed.sale_id = line.removeprefix("元取引ID ")
        if line.startswith("オフライン取引:"):
            printed.offline = True
        if line.startswith(("合計 ", "取消合計 ", "返品合計 ")):
            printed.total = yen(line)
            after_total = True
            continue
        if not after_total:
            continue  # item lines: their names are the shop's, not figures of the day
        rate_match = re.match(r"^(?:※ )?(\d+)%対象 (-?¥[\d,]+)$", line)
        if rate_match:
            rate = int(rate_match[1])
            rates[rate] = [yen(line), 0]
        elif line.startswith("内消費税等 "):
            rates[rate][1] = yen(line)
        elif line.startswith("現金返金 "):
            printed.refund_cash = yen(line)
        elif line.startswith("現金 "):
            printed.cash = yen(line)
        elif line.startswith("お釣り "):
            printed.change = yen(line)
        elif line.startswith("ポイント返却 "):
            name = line.removeprefix("ポイント返却 ").rsplit(" ", 2)[0]
            printed.points[name] = points_of(line)
        elif line.startswith("付与取消 ") or line.startswith("付与 "):
            name = line.split(" ", 1)[1].rsplit(" ", 2)[0]
            printed.awards[name] = points_of(line)
        elif line.startswith("ポイント券 ") and kind == "sale":
            # Tickets are all the city's (天理めぐみ): the only program that issues them here.
            name = "天理めぐみめぐるポイント"
            count_sum = printed.tickets.setdefault(name, [0, 0])
            count_sum[0] += 1
            count_sum[1] += yen(line)
        elif kind == "sale" and POINTS.search(line) and line.rsplit(" ", 2)[0] in programs:
            printed.points[line.rsplit(" ", 2)[0]] = points_of(line)
        elif kind == "sale" and line.rsplit(" ", 1)[0] in EXTERNAL_WORDS:
            words = line.rsplit(" ", 1)[0]
            printed.external[words] = printed.external.get(words, 0) + yen(line)
    printed.rates = {r: (a, t) for r, (a, t) in rates.items()}
    return printed


EXTERNAL_WORDS = ("クレジット", "QR決済", "電子マネー(交通系IC)")


def job_kind(raw: list[str]) -> str:
    lines = [normal(line) for line in raw]
    if all(line.startswith("[drawer") for line in lines if line):
        return "drawer"
    if any(line.startswith("精算(Z)") for line in lines):
        return "z"
    if "点検(X)" in lines:
        return "x"
    return "receipt"


# Driving the counter -----------------------------------------------------------------------


async def press_keys(pilot: Pilot[int], text: str, *, enter: bool = False) -> None:
    """Type ``text`` key by key (a keyboard-wedge scanner's burst), then Enter if asked."""
    await pilot.press(*text, *(["enter"] if enter else []))
    await pilot.pause()


def due_on_screen(pilot: Pilot[int]) -> int:
    """What the payment screen says is still to be paid in cash (お支払い ¥…)."""
    first = text_of(pilot, "#due").splitlines()[0]
    return yen(first)


@dataclass
class Plan:
    """How one sale is paid, beyond its items."""

    discount: str = ""  # markdown, line, subtotal_pct, subtotal_yen
    card: object | None = None
    program: str = ""
    points: int = 0
    tickets: list[str] = field(default_factory=list)
    external: tuple[int, str] | None = None  # (F4 presses, amount typed; "" is all that is due)
    #: Scanned codes instead of the seeded items (a small sale that earns no award).
    scans: list[str] = field(default_factory=list)
    #: Items are added until the total is at least this (points and tickets need something to pay).
    minimum: int = 0


class Shop:
    """The shopkeeper: rings sales up by the keys, with a seeded hand for what varies."""

    def __init__(self, pilot: Pilot[int], reader: SimulatedReader, rng: random.Random) -> None:
        self.pilot = pilot
        self.reader = reader
        self.rng = rng
        #: What the drawer physically holds: the float, cash in, change out, refunds out.
        self.drawer = 0

    @property
    def app(self) -> PosApp:
        return self.pilot.app  # type: ignore[return-value]

    async def items(self, minimum: int) -> None:
        """One to three lines: department keys with amounts, the fixed-price key, scans, plain amounts."""
        pilot, rng = self.pilot, self.rng
        for _ in range(rng.randint(1, 3)):
            how = rng.choice(["dept", "dept", "fixed", "scan", "scan", "plain", "quantity"])
            if how == "dept":
                await press_keys(pilot, str(rng.randrange(120, 900, 10)))
                await pilot.press(rng.choice("abc"))
            elif how == "fixed":
                await pilot.press("d")
            elif how == "scan":
                code = rng.choice(PRODUCTS)[0]
                await press_keys(pilot, code, enter=True)  # a keyboard-wedge scanner: digits, then Enter
            elif how == "quantity":
                await press_keys(pilot, f"{rng.randrange(100, 300, 10)}*{rng.randint(2, 4)}")
                await pilot.press("b")
            else:
                await press_keys(pilot, str(rng.randrange(100, 600, 10)), enter=True)
            await pilot.pause()
        while yen(text_of(pilot, "#total")) < minimum:
            await press_keys(pilot, "500")
            await pilot.press("a")

    async def discount(self, kind: str) -> None:
        pilot = self.pilot
        if kind == "markdown":
            await press_keys(pilot, PRODUCTS[0][0], enter=True)
            await pilot.press("f9")  # 見切り 30 % on the last line
        elif kind == "line":
            await press_keys(pilot, str(self.rng.randrange(20, 100, 10)))
            await pilot.press("f4")
        elif kind == "subtotal_pct":
            await press_keys(pilot, f"{self.rng.choice([5, 10, 15])}%")
            await pilot.press("f5")
        elif kind == "subtotal_yen":
            await press_keys(pilot, str(self.rng.randrange(10, 100, 10)))
            await pilot.press("f5")
        await pilot.pause()

    async def sale(self, plan: Plan, *, offline: bool = False) -> int:
        """Ring up and pay one sale; back home with its receipt number (from the receipt's title)."""
        pilot, app = self.pilot, self.app
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, SaleScreen)
        if plan.scans:
            for code in plan.scans:
                await press_keys(pilot, code, enter=True)
        else:
            await self.items(plan.minimum)
        if plan.discount:
            await self.discount(plan.discount)
        assert isinstance(app.screen, SaleScreen), text_of(pilot, "#message")
        if plan.card is not None:
            self.reader.tap(plan.card)  # type: ignore[arg-type]
            await settle(pilot)
        else:
            await pilot.press("f10")
            await settle(pilot)
        assert isinstance(app.screen, TenderScreen), text_of(pilot, "#message")
        if plan.points:
            await choose_program(pilot, plan.program)
            await type_in(pilot, str(plan.points))
            assert "ポイント" in text_of(pilot, "#sums")
        for ticket in plan.tickets:
            await fill(pilot, "#ticket", ticket)
        if plan.external is not None:
            presses, amount = plan.external
            for _ in range(presses):
                await pilot.press("f4")
                await pilot.pause()
            await type_in(pilot, amount)
            await settle(pilot)
        if isinstance(app.screen, TenderScreen):
            due = due_on_screen(pilot)
            given = self.rng.choice([due, -(-due // 1000) * 1000, -(-due // 5000) * 5000, 10_000])
            given = max(given, due)
            await fill(pilot, "#cash", str(given))
            await settle(pilot)
            self.drawer += due  # the cash given, less the change handed back
        assert isinstance(app.screen, ReceiptScreen), text_of(pilot, "#message")
        title = text_of(pilot, "#receipt-title")
        assert ("オフライン" in title) is offline, title
        number = int(re.search(r"(\d+)", title)[1])  # type: ignore[index]
        await pilot.press("escape")
        await pilot.pause()
        if plan.card is not None:
            self.reader.remove()
            await settle(pilot)
        assert isinstance(app.screen, HomeScreen)
        return number

    async def history_row(self, receipt_no: int) -> None:
        """In History, move the cursor down to the row of ``receipt_no``."""
        table = self.app.screen.query_one(DataTable)
        for _ in range(60):
            if str(table.get_row_at(table.cursor_row)[0]) == str(receipt_no):
                return
            await self.pilot.press("down")
            await self.pilot.pause()
        raise AssertionError(f"receipt {receipt_no} is not in History")


async def test_a_bakerys_day_adds_up_on_the_z_report(
    make_app: Callable[..., PosApp],
    real_server: CounterServer,
    reader: SimulatedReader,
    bakery: ItemList,
    tcp_printer: TcpPrinter,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The background health check and sync run often, as a long day's would by chance: it must
    # never trip over a sale the counter is sending at the same moment.
    monkeypatch.setattr(pos_app, "HEALTH_SECONDS", 0.2)
    rng = random.Random(SEED)
    tickets_500 = [real_server.issue_tickets(5000)[0] for _ in range(3)]  # one 500-yen ticket each
    tickets_100 = real_server.issue_tickets(3000)  # three 100-yen tickets
    app = make_app(printer=tcp_printer.url, items=bakery)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        shop = Shop(pilot, reader, rng)
        # Morning: the change float goes into the drawer.
        await pilot.press("f3")
        await settle(pilot)
        assert isinstance(app.screen, EndOfDayScreen)
        await type_in(pilot, str(FLOAT))
        await pilot.press("escape")
        await pilot.pause()
        shop.drawer = FLOAT

        plans: list[Plan] = [
            Plan(),
            Plan(discount="markdown"),
            Plan(card=ALICE_CARD, program="としまポイント", points=400, minimum=1100),
            Plan(external=(1, "")),  # credit, all of it
            Plan(discount="line"),
            Plan(tickets=[tickets_500[0]], minimum=1200),
            Plan(external=(2, "500")),  # QR for part, the rest cash
            Plan(discount="subtotal_pct"),
            Plan(card=BOB_CARD, program="小国町北里柴三郎ポイント", points=300, minimum=1000),
            Plan(external=(3, "")),  # transit IC, all of it
            Plan(),  # voided later
            Plan(tickets=tickets_100[:2], minimum=1200),
            # 12-14: the server is down.
            Plan(),
            # Offline points up to the program's offline limit; small, so no award waits on the server.
            Plan(
                card=ALICE_CARD, program="としまポイント", points=200, scans=[PRODUCTS[1][0], PRODUCTS[2][0]]
            ),
            Plan(discount="subtotal_yen"),
            Plan(card=ALICE_CARD, program="天理めぐみめぐるポイント", points=500, minimum=1500),
        ]
        kinds = ["cash", "markdown", "line", "subtotal_pct", "subtotal_yen"]
        kinds += ["credit", "qr", "points", "ticket"]
        spare_tickets = [*tickets_500[1:], tickets_100[2]]
        while len(plans) < 30:
            kind = rng.choice(kinds)
            if kind in ("markdown", "line", "subtotal_pct", "subtotal_yen"):
                plans.append(Plan(discount=kind))
            elif kind == "credit":
                plans.append(Plan(external=(1, ""), discount=rng.choice(["", "line"])))
            elif kind == "qr":
                plans.append(Plan(external=(2, str(rng.randrange(100, 400, 10)))))
            elif kind == "points":
                card = rng.choice([ALICE_CARD, BOB_CARD])
                program = rng.choice(["天理めぐみめぐるポイント", "小国町北里柴三郎ポイント"])
                points = rng.randrange(50, 300, 10)
                plans.append(Plan(card=card, program=program, points=points, minimum=points + 700))
            elif kind == "ticket" and spare_tickets:
                plans.append(Plan(tickets=[spare_tickets.pop()], minimum=1200))
            else:
                plans.append(Plan())

        numbers: list[int] = []
        for index, plan in enumerate(plans):
            offline = 12 <= index <= 14
            if index == 12:
                real_server.outage()
            numbers.append(await shop.sale(plan, offline=offline))
            if index == 14:
                real_server.outage(False)
                await pilot.press("f9")  # sync the offline stretch
                await settle(pilot, 6)
                assert text_of(pilot, "#pending") == ""
        assert app.counter.day_totals()["unsynced"] == 0

        # A void: the customer changed their mind about sale 11 (V, V again to confirm).
        await pilot.press("f2")
        await settle(pilot)
        assert isinstance(app.screen, HistoryScreen)
        await shop.history_row(numbers[10])
        await pilot.press("v")
        await settle(pilot)
        await pilot.press("v")
        await settle(pilot)
        assert isinstance(app.screen, ReceiptScreen) and "取消" in text_of(pilot, "#receipt")
        void_lines = [normal(line) for line in text_of(pilot, "#receipt").splitlines()]
        shop.drawer -= yen(next(line for line in void_lines if line.startswith("現金返金 ")))
        await pilot.press("escape")
        await settle(pilot)

        # Return 1: the first line of sale 3 (paid partly with としま points), chosen with Space:
        # points go back to the card, which must be touched, the rest in cash.
        await pilot.press("b")
        await settle(pilot)
        assert isinstance(app.screen, ReturnScreen)
        await fill(pilot, "#find", str(numbers[2]))
        eight = app.screen.query_one("#amount8").value  # type: ignore[attr-defined]
        ten = app.screen.query_one("#amount10").value  # type: ignore[attr-defined]
        assert not eight and not ten  # nothing chosen yet
        await pilot.press("space")  # the first line comes back whole
        await settle(pilot)
        assert "ポイント" in text_of(pilot, "#return-summary")
        await pilot.press("f10")
        await settle(pilot)
        reader.tap(ALICE_CARD)
        await settle(pilot)
        assert "確認しました" in text_of(pilot, "#return-summary")
        await pilot.press("f10")
        await settle(pilot)
        await pilot.press("f10")
        await settle(pilot)
        assert isinstance(app.screen, ReceiptScreen), text_of(pilot, "#message")
        back = [normal(line) for line in text_of(pilot, "#receipt").splitlines()]
        shop.drawer -= sum(yen(line) for line in back if line.startswith("現金返金 "))
        await pilot.press("escape")
        await settle(pilot)
        reader.remove()
        await settle(pilot)

        # Return 2: ¥100 typed at the first sale's rate, all in cash.
        assert isinstance(app.screen, HistoryScreen)
        await pilot.press("b")
        await settle(pilot)
        await fill(pilot, "#find", str(numbers[0]))
        first = app.counter.journal.find_sale(str(numbers[0]))
        assert first is not None
        rate = int(first.request["totals"][0]["rate"])
        await fill(pilot, f"#amount{rate}", "100")
        await pilot.press("f10")
        await settle(pilot)
        await pilot.press("f10")
        await settle(pilot)
        assert isinstance(app.screen, ReceiptScreen), text_of(pilot, "#message")
        back = [normal(line) for line in text_of(pilot, "#receipt").splitlines()]
        shop.drawer -= sum(yen(line) for line in back if line.startswith("現金返金 "))
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, HomeScreen)

        # Evening: the X report, the drawer counted (a 10-yen coin went missing), the Z close.
        await pilot.press("f3")
        await settle(pilot)
        assert isinstance(app.screen, EndOfDayScreen)
        await pilot.press("f5")
        await settle(pilot)
        assert isinstance(app.screen, ReceiptScreen) and "点検(X)" in text_of(pilot, "#receipt")
        await pilot.press("escape")
        await settle(pilot)
        counted = shop.drawer - 10
        left = counted
        for denomination in DENOMINATIONS:
            pieces, left = divmod(left, denomination)
            if pieces:
                await fill(pilot, f"#n{denomination}", str(pieces))
        await pilot.press("f10", "f10")  # the Z close asks once, the second F10 closes
        await settle(pilot)
        assert isinstance(app.screen, ReceiptScreen) and "精算(Z) No.1" in text_of(pilot, "#receipt")

    # Every job the printer got, decoded from its bytes.
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        jobs = [job for job in tcp_printer.jobs if job.complete]
        if any(job_kind(job.lines) == "z" for job in jobs) and all(j.complete for j in tcp_printer.jobs):
            break
        time.sleep(0.05)
    jobs = [job for job in tcp_printer.jobs if job.complete]
    assert not [job for job in tcp_printer.jobs if job.dropped]
    by_kind: dict[str, list[Job]] = {}
    for job in jobs:
        by_kind.setdefault(job_kind(job.lines), []).append(job)
    assert app.counter.config is not None
    programs = {p.name_ja: p.id for p in app.counter.config.programs}
    receipts = [read_receipt([normal(line) for line in job.lines], programs) for job in by_kind["receipt"]]
    sales = [r for r in receipts if r.kind == "sale"]
    (void,) = [r for r in receipts if r.kind == "void"]
    returns = [r for r in receipts if r.kind == "return"]
    assert len(sales) == 30 and len(returns) == 2
    assert sorted(r.no for r in sales) == sorted(numbers)
    assert void.original_no == numbers[10]
    assert sorted(r.original_no for r in returns) == sorted([numbers[0], numbers[2]])
    # Of the three offline sales only the one with points says they wait for the server; the
    # plain cash ones have nothing to confirm (the Z still counts all three as offline).
    assert [r.no for r in sales if r.offline] == [numbers[13]]
    # Each cash sale and each cash refund opened the drawer (ESC p), in a job of its own.
    cash_sales = sum(1 for r in sales if r.cash)
    assert len(by_kind["drawer"]) == cash_sales + sum(1 for r in returns if r.refund_cash)

    # The day from the receipts: the sales, less the void; returns apart.
    voided = next(r for r in sales if r.no == void.original_no)
    standing = [r for r in sales if r is not voided]
    expected: list[str] = [f"売上 {len(standing)}件 {fmt(sum(r.total for r in standing))}"]
    rates = sorted({rate for r in sales for rate in r.rates}, reverse=True)
    for rate in rates:
        amount = sum(r.rates.get(rate, (0, 0))[0] for r in sales) + void.rates.get(rate, (0, 0))[0]
        tax = sum(r.rates.get(rate, (0, 0))[1] for r in sales) + void.rates.get(rate, (0, 0))[1]
        expected += [f"{'※ ' if rate == 8 else ''}{rate}%対象 {fmt(amount)}", f"内消費税等 {fmt(tax)}"]
    assert void.total == -voided.total
    expected.append(f"取消 1件 {fmt(void.total)}")
    returned = sum(r.total for r in returns)
    expected.append(f"返品 {len(returns)}件 {fmt(returned)}")
    for rate in sorted({rate for r in returns for rate in r.rates}, reverse=True):
        amount = sum(r.rates.get(rate, (0, 0))[0] for r in returns)
        tax = sum(r.rates.get(rate, (0, 0))[1] for r in returns)
        expected += [f"返品{'※ ' if rate == 8 else ''}{rate}%対象 {fmt(amount)}", f"内消費税等 {fmt(tax)}"]
    refunds = [r.refund_cash for r in returns if r.refund_cash]
    expected.append(f"返金 現金 {len(refunds)}件 {fmt(sum(refunds))}")
    for name in sorted({name for r in returns for name in r.points}):
        given = [r.points[name] for r in returns if name in r.points]
        expected.append(f"返金 ポイント {name} {len(given)}件 {fmt(sum(given))}")
    expected.append(f"純売上 {fmt(sum(r.total for r in standing) + returned)}")

    # Per tender (支払別): exactly these lines, cash net of change, the void's tenders taken off.
    tenders: dict[str, list[int]] = {}

    def add(label: str, amount: int, count: int = 1) -> None:
        entry = tenders.setdefault(label, [0, 0])
        entry[0] += count
        entry[1] += amount

    for r in sales:
        if r.cash:
            add("現金", r.cash - r.change)
        for name, points in r.points.items():
            add(f"ポイント {name}", points)
        for name, (count, amount) in r.tickets.items():
            add(f"ポイント券 {name}", amount, count)
        for words, amount in r.external.items():
            add(words, amount)
    if void.refund_cash:
        add("現金", -void.refund_cash, -1)
    for name, points in void.points.items():
        add(f"ポイント {name}", -points, -1)
    assert not voided.external and not voided.tickets  # the void receipt prints neither
    tender_lines = sorted(f"{label} {c}件 {fmt(a)}" for label, (c, a) in tenders.items() if c)

    # Per program: points used, tickets taken, points awarded (the void's award taken back).
    program_lines: dict[str, list[str]] = {}
    for name in programs:
        used = [r.points[name] for r in standing if name in r.points]
        taken = [r.tickets[name] for r in standing if name in r.tickets]
        awarded = [r.awards[name] for r in standing if name in r.awards]
        if used or taken or awarded:
            program_lines[name] = [
                f"ポイント利用 {len(used)}件 {sum(used):,} pt",
                f"ポイント券 {sum(c for c, _a in taken)}件 {fmt(sum(a for _c, a in taken))}",
                f"ポイント付与 {len(awarded)}件 {sum(awarded):,} pt",
            ]

    # The drawer: float + cash taken − change − cash refunded (the void's and the returns').
    cash_in = sum(r.cash for r in sales) - sum(r.change for r in sales)
    expected_cash = FLOAT + cash_in - void.refund_cash - sum(r.refund_cash for r in returns)
    assert expected_cash == shop.drawer  # what the shopkeeper's hands did, to the yen
    expected += [f"釣銭準備金 {fmt(FLOAT)}", f"現金在高(予定) {fmt(expected_cash)}"]

    (z_job,) = by_kind["z"]
    (x_job,) = by_kind["x"]
    z = [normal(line) for line in z_job.lines]
    x = [normal(line) for line in x_job.lines]
    for line in expected:
        assert line in z, (line, z)
        assert line in x, (line, x)
    for report in (z, x):
        start = report.index("支払別") + 1
        end = next(i for i in range(start, len(report)) if report[i].startswith("---"))
        printed_tenders = sorted(report[start:end])
        assert printed_tenders == tender_lines, (
            f"printed only: {sorted(set(printed_tenders) - set(tender_lines))}, "
            f"receipts only: {sorted(set(tender_lines) - set(printed_tenders))}"
        )
        for name, lines in program_lines.items():
            at = report.index(name)
            assert report[at + 1 : at + 4] == lines, (name, report[at + 1 : at + 4], lines)
    assert f"現金在高(実査) {fmt(counted)}" in z
    assert "過不足 -¥10" in z and counted - expected_cash == -10
    assert "現金は未確認です" in x
    assert "オフライン取引 3件" in z and "未送信 0件" in z

    # The server agrees: every sale it holds, the void, the returns, the other tenders, the tickets.
    held = real_server.sales()
    assert held == {r.sale_id: ("voided" if r is voided else "accepted") for r in sales}
    stored = dict(real_server.query("SELECT sale_id, SUM(amount) FROM sale_returns GROUP BY sale_id"))
    assert stored == {r.sale_id: -r.total for r in returns}
    rows = real_server.query("SELECT SUM(amount) FROM sale_external_tenders")
    assert rows == [(sum(a for r in sales for a in r.external.values()),)]
    assert len(real_server.redeemed()) == sum(c for r in sales for c, _a in r.tickets.values())
