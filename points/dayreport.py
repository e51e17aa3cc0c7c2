"""The arithmetic of the X and Z reports (点検・精算): sums per tax rate and per tender, the cash
drawer, and 過不足. Pure: the counter feeds it the day's receipts, the printer prints the result.

- per rate: tax-inclusive sales and their tax, each receipt's tax as it was printed (rounded
  once per rate per receipt, never recomputed on the day's sum);
- per tender: whatever kinds the day holds (``cash``, ``points``, ``ticket``, ``external``, …),
  each with a key (the program, the brand) — a new tender kind needs no change here;
- returns (返品): each return receipt counted apart, per rate (amount and tax as printed on the
  return receipt) and per refund tender; the sales per rate stay as sold, so both receipts of a
  return are seen, and the net is their difference;
- the drawer: change float (釣銭準備金) + cash taken − cash refunded = expected; counted by
  denomination; 過不足 = counted − expected (negative: short, positive: over).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

#: Japanese notes and coins, largest first (1万, 5千, 2千, 千 円札; 500 … 1 円玉).
DENOMINATIONS: tuple[int, ...] = (10_000, 5_000, 2_000, 1_000, 500, 100, 50, 10, 5, 1)
#: A drawer count above this per denomination is a typing mistake, not cash.
MAX_PIECES = 100_000


@dataclass(frozen=True, slots=True)
class TenderAmount:
    """One tender of one sale: its kind (``cash`` net of change, ``points``, ``ticket``, …) and key."""

    kind: str
    key: str
    amount: int


@dataclass(frozen=True, slots=True)
class SaleFigures:
    """What one receipt adds to the day.

    ``rates`` holds (rate, tax-inclusive amount, tax) as the receipt printed them. A voided sale
    counts under voids only; ``returned`` is the yen given back by returns (and ``refund_cash``
    the part of it paid out of the drawer). A return receipt (``is_return``) holds the returned
    amounts per rate in ``rates``, its refunds in ``tenders`` and the cash refunded in
    ``refund_cash``: it counts under returns only.
    """

    rates: tuple[tuple[int, int, int], ...]
    tenders: tuple[TenderAmount, ...] = ()
    voided: bool = False
    returned: int = 0
    refund_cash: int = 0
    is_return: bool = False

    @property
    def total(self) -> int:
        """The receipt's tax-inclusive total (after discounts)."""
        return sum(amount for _rate, amount, _tax in self.rates)


@dataclass(frozen=True, slots=True)
class Sum:
    """A count and an amount (yen or points)."""

    count: int = 0
    amount: int = 0

    def add(self, amount: int) -> Sum:
        """This sum with one more item of ``amount``."""
        return Sum(self.count + 1, self.amount + amount)


@dataclass(frozen=True, slots=True)
class DayFigures:
    """The day's sums, as both the X and the Z report show them."""

    sales: Sum = Sum()
    voids: Sum = Sum()
    returns: Sum = Sum()
    #: rate → (tax-inclusive amount, tax), sales that stand only.
    rates: Mapping[int, tuple[int, int]] = field(default_factory=dict)
    #: (kind, key) → sum, in the order first seen (cash first when there was any).
    tenders: Mapping[tuple[str, str], Sum] = field(default_factory=dict)
    refund_cash: int = 0
    #: rate → (tax-inclusive amount, tax) given back by return receipts.
    return_rates: Mapping[int, tuple[int, int]] = field(default_factory=dict)
    #: (kind, key) → sum refunded by return receipts (cash, points, other tenders).
    return_tenders: Mapping[tuple[str, str], Sum] = field(default_factory=dict)

    @property
    def net(self) -> int:
        """純売上: standing sales less what return receipts gave back."""
        return self.sales.amount - sum(amount for amount, _tax in self.return_rates.values())

    @property
    def cash_in(self) -> int:
        """Cash kept from sales (cash tendered less change)."""
        return sum(s.amount for (kind, _key), s in self.tenders.items() if kind == "cash")


def summarise(sales: Iterable[SaleFigures]) -> DayFigures:
    """Sum the day's receipts: standing sales per rate and tender; voids and returns apart."""
    total = voids = returns = Sum()
    rates: dict[int, tuple[int, int]] = {}
    tenders: dict[tuple[str, str], Sum] = {}
    refund_cash = 0
    return_rates: dict[int, tuple[int, int]] = {}
    return_tenders: dict[tuple[str, str], Sum] = {}
    for sale in sales:
        if sale.is_return:
            returns = returns.add(sale.total)
            refund_cash += sale.refund_cash
            for rate, amount, tax in sale.rates:
                was_amount, was_tax = return_rates.get(rate, (0, 0))
                return_rates[rate] = (was_amount + amount, was_tax + tax)
            for tender in sale.tenders:
                key = (tender.kind, tender.key)
                return_tenders[key] = return_tenders.get(key, Sum()).add(tender.amount)
            continue
        if sale.voided:
            voids = voids.add(sale.total)
            continue
        total = total.add(sale.total)
        for rate, amount, tax in sale.rates:
            was_amount, was_tax = rates.get(rate, (0, 0))
            rates[rate] = (was_amount + amount, was_tax + tax)
        for tender in sale.tenders:
            key = (tender.kind, tender.key)
            tenders[key] = tenders.get(key, Sum()).add(tender.amount)
        if sale.returned:
            returns = returns.add(sale.returned)
            refund_cash += sale.refund_cash
    ordered = dict(sorted(tenders.items(), key=lambda item: item[0][0] != "cash"))
    return DayFigures(
        total,
        voids,
        returns,
        dict(sorted(rates.items(), reverse=True)),
        ordered,
        refund_cash,
        dict(sorted(return_rates.items(), reverse=True)),
        dict(sorted(return_tenders.items(), key=lambda item: item[0][0] != "cash")),
    )


def counted_total(pieces: Mapping[int, int]) -> int:
    """Yen in the drawer from the count of each note and coin.

    Raises:
        ValueError: a denomination Japan does not issue, or a count below 0 or above MAX_PIECES.
    """
    total = 0
    for denomination, count in pieces.items():
        if denomination not in DENOMINATIONS:
            raise ValueError(f"no {denomination} yen note or coin")
        if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= MAX_PIECES:
            raise ValueError(f"a count of {denomination} yen pieces must be 0..{MAX_PIECES}, got {count!r}")
        total += denomination * count
    return total


def expected_cash(change_float: int, day: DayFigures) -> int:
    """What the drawer should hold: the float, plus cash kept from sales, less cash refunded."""
    return change_float + day.cash_in - day.refund_cash


def over_short(counted: int, expected: int) -> int:
    """過不足: counted − expected (negative: the drawer is short; positive: over)."""
    return counted - expected
