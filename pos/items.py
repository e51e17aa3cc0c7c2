"""The shop's items on this terminal: department keys (部門), products (PLU) and the default rate.

Kept in ``items.toml`` beside the settings file (``~/.config/mykey-pos/items.toml``): a
shopkeeper edits it by hand like the settings, and it never leaves the terminal — the server gets
totals per rate only (DESIGN.md §3, data minimisation). A bakery's file::

    default_rate = 8          # a plain typed amount is 8 % (take-out food) without F2
    markdown_percent = 20     # 見切り (F9) at closing time, when no percent is typed

    [[department]]
    key = "A"                 # the key pressed after an amount (or alone, with a fixed price)
    name = "パン"
    rate = 8
    [[department]]
    key = "D"
    name = "イートイン"
    rate = 10
    price = 300               # optional fixed price

    [[product]]
    jan = "4901234567894"     # JAN/EAN-13 or EAN-8, check digit verified on load
    name = "食パン 1斤"
    price = 380
    rate = 8

:class:`ItemList` is a strict pydantic model: a wrong check digit, a duplicate key or code, or a
rate that is not 10 or 8 is refused at start, naming the entry.
"""

from __future__ import annotations

import pathlib
import tomllib
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from points import jan
from points.money import MAX_AMOUNT
from points.tax import TaxRate

#: The file's name, beside ``config.toml``.
FILE_NAME = "items.toml"

Price = Annotated[int, Field(strict=True, gt=0, le=MAX_AMOUNT)]


class ItemsError(ValueError):
    """An items file that cannot be read or has a wrong entry."""


class _Strict(BaseModel):
    # Validators are built on first use (an items file read), not at import (``tui_start_ms``).
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True, defer_build=True)


class Department(_Strict):
    """A department key (部門キー): a name and tax rate for typed amounts, optionally a fixed price."""

    #: One letter; X is not a key (it writes a quantity: 300x2).
    key: Annotated[str, Field(pattern=r"^[A-WYZ]$")]
    name: Annotated[str, Field(min_length=1, max_length=40)]
    rate: TaxRate = Field(TaxRate.REDUCED, strict=False)
    price: Price | None = None

    @field_validator("key", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value


class Product(_Strict):
    """A product of the PLU list: its JAN code, name, tax-inclusive price and rate."""

    jan: str
    name: Annotated[str, Field(min_length=1, max_length=40)]
    price: Price
    rate: TaxRate = Field(TaxRate.REDUCED, strict=False)

    @field_validator("jan", mode="before")
    @classmethod
    def _checked(cls, value: object) -> object:
        if not isinstance(value, str):
            raise ValueError("a JAN code is written as text in quotes")
        try:
            return jan.parse(value)
        except jan.JanError as exc:
            raise ValueError(str(exc)) from None


class ItemList(_Strict):
    """Everything ``items.toml`` holds (an empty list when there is no file: amounts typed by hand)."""

    default_rate: TaxRate = Field(TaxRate.STANDARD, strict=False)
    markdown_percent: Annotated[int, Field(strict=True, ge=1, le=100)] = 20
    department: list[Department] = Field(default_factory=list, max_length=26)
    product: list[Product] = Field(default_factory=list, max_length=100_000)

    @model_validator(mode="after")
    def _unique(self) -> ItemList:
        keys = [d.key for d in self.department]
        if len(set(keys)) != len(keys):
            raise ValueError("each department key appears once")
        codes = [p.jan for p in self.product]
        if len(set(codes)) != len(codes):
            raise ValueError("each JAN code appears once")
        return self

    def departments(self) -> dict[str, Department]:
        """Departments by key letter."""
        return {d.key: d for d in self.department}

    def products(self) -> dict[str, Product]:
        """Products by JAN code (built once per call; the sale screen keeps it)."""
        return {p.jan: p for p in self.product}


def no_items() -> ItemList:
    """No departments and no products: amounts typed by hand (made without building the validators)."""
    return ItemList.model_construct()


def path_beside(settings_path: pathlib.Path | None) -> pathlib.Path:
    """Where the items file is for a settings file (``items.toml`` in the same folder)."""
    from pos.settings import config_dir

    return (settings_path or config_dir() / "config.toml").with_name(FILE_NAME)


def parse(values: dict[str, Any]) -> ItemList:
    """An item list from TOML values, checked.

    Raises:
        ItemsError: an entry is wrong (the message names it).
    """
    try:
        return ItemList.model_validate(values)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'items'}: {e['msg'].removeprefix('Value error, ')}"
            for e in exc.errors()
        )
        raise ItemsError(problems) from None


def load(path: pathlib.Path) -> ItemList:
    """Read ``items.toml`` (an empty list when there is none).

    Raises:
        ItemsError: broken TOML or a wrong entry.
    """
    if not path.exists():
        return no_items()
    try:
        values = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ItemsError(f"{path}: {exc}") from exc
    try:
        return parse(values)
    except ItemsError as exc:
        raise ItemsError(f"{path}: {exc}") from None
