"""The shop's item list (items.toml), the entry field's reading of amounts, scans and department keys."""

from __future__ import annotations

import pathlib

import pytest

from points.discounts import Discount, DiscountKind
from points.tax import TaxRate
from pos.checkout import Basket
from pos.items import ItemList, ItemsError, load, parse
from pos.widgets.entry import EntryError, read_entry

BAKERY = """
default_rate = 8
markdown_percent = 30

[[department]]
key = "a"
name = "パン"
rate = 8

[[department]]
key = "D"
name = "イートイン"
rate = 10
price = 300

[[product]]
jan = "4901234567894"
name = "食パン 1斤"
price = 380
rate = 8
"""


@pytest.fixture
def bakery(tmp_path: pathlib.Path) -> ItemList:
    path = tmp_path / "items.toml"
    path.write_text(BAKERY, encoding="utf-8")
    return load(path)


def test_a_missing_file_is_an_empty_list_at_the_standard_rate(tmp_path: pathlib.Path) -> None:
    items = load(tmp_path / "items.toml")
    assert items.default_rate is TaxRate.STANDARD and not items.product


def test_the_bakery_file_reads(bakery: ItemList) -> None:
    assert bakery.default_rate is TaxRate.REDUCED
    assert bakery.departments()["A"].name == "パン"
    assert bakery.products()["4901234567894"].price == 380


@pytest.mark.parametrize(
    ("values", "says"),
    [
        ({"product": [{"jan": "4901234567895", "name": "x", "price": 1}]}, "check digit"),
        ({"product": [{"jan": 4901234567894, "name": "x", "price": 1}]}, "quotes"),
        ({"department": [{"key": "A", "name": "x"}, {"key": "a", "name": "y"}]}, "once"),
        ({"department": [{"key": "X", "name": "x"}]}, "department.0.key"),
        ({"default_rate": 5}, "default_rate"),
        ({"price_list": []}, "price_list"),
    ],
)
def test_a_wrong_entry_is_refused_naming_it(values: dict[str, object], says: str) -> None:
    with pytest.raises(ItemsError, match=says):
        parse(values)


def test_the_entry_reads_amounts_scans_and_departments(bakery: ItemList) -> None:
    products = bakery.products()
    assert read_entry("300*2", bakery, products).price == 300
    scanned = read_entry("4901234567894", bakery, products)
    assert scanned.product is not None and scanned.price == 380
    assert read_entry("4901234567894*3", bakery, products).quantity == 3
    eat_in = bakery.departments()["D"]
    assert read_entry("", bakery, products, eat_in).price == 300
    assert read_entry("250", bakery, products, eat_in).price == 250
    with pytest.raises(EntryError, match="check digit"):
        read_entry("4901234567895", bakery, products)
    with pytest.raises(EntryError, match="Unknown"):
        read_entry("4912345678904", bakery, products)
    with pytest.raises(EntryError, match="department key"):
        read_entry("", bakery, products, bakery.departments()["A"])
    for text in ("abc", "0", "1000000000", "12*0"):
        with pytest.raises(EntryError):
            read_entry(text, bakery, products)


def test_basket_discounts_lower_the_totals_per_rate() -> None:
    basket = Basket()
    basket.add(1_000, rate=TaxRate.REDUCED)
    basket.add(500, rate=TaxRate.STANDARD)
    basket.discount_last(Discount(DiscountKind.YEN, 100))
    assert basket.items_total == 1_400
    basket.discount_subtotal(Discount(DiscountKind.PERCENT, 10))
    assert basket.total == 1_400 - 140
    assert {t.rate: t.amount for t in basket.totals()} == {TaxRate.REDUCED: 900, TaxRate.STANDARD: 360}
    basket.add(100)  # a new line ends the subtotal discount (press 小計 again after the last item)
    assert basket.subtotal_discount == 0
