"""The sale screen's entry field: typed amounts, scanned JAN codes and department keys (部門キー).

A keyboard-wedge scanner types the digits of a code fast and then Enter, exactly as a person
would type an amount: :func:`read_entry` tells them apart by the product list (13 digits are
never an amount; 8 digits are a product when the list has them). A department key is one
letter pressed after the amount, as on a register: :class:`EntryInput` turns the letter into a
:class:`EntryInput.DepartmentKey` message instead of typing it.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from textual import events
from textual.message import Message
from textual.widgets import Input

from points import jan
from points.money import MAX_AMOUNT
from pos.items import Department, ItemList, Product


class EntryError(ValueError):
    """Typed text the sale screen cannot read; ``message`` is an English msgid."""


@dataclass(frozen=True, slots=True)
class ItemEntry:
    """What one entry adds: a price, a quantity, and the product or department it came from."""

    price: int
    quantity: int
    product: Product | None = None
    department: Department | None = None


def _quantity(text: str) -> tuple[str, int]:
    normal = unicodedata.normalize("NFKC", text).strip().replace("x", "*").replace("X", "*").replace(",", "")
    head, _sep, quantity_text = normal.partition("*")
    try:
        quantity = int(quantity_text or "1")
    except ValueError:
        raise EntryError("Enter an amount in yen, e.g. 300 or 300*2.") from None
    if not 0 < quantity <= 9999:
        raise EntryError("Enter an amount in yen, e.g. 300 or 300*2.")
    return head.strip(), quantity


def read_entry(
    text: str, items: ItemList, products: dict[str, Product], department: Department | None = None
) -> ItemEntry:
    """Read the entry field: ``300``, ``300*2``, a JAN code (``4901234567894*2``), or a department's amount.

    Args:
        text: what was typed or scanned.
        items: the shop's item list.
        products: ``items.products()`` (kept by the caller: a scan must not rebuild it).
        department: the department key pressed, if any (a fixed price needs no amount).

    Raises:
        EntryError: not an amount, an unknown product, or a code with a wrong check digit.
    """
    head, quantity = _quantity(text)
    if department is not None and not head:
        if department.price is None:
            raise EntryError("Type the amount, then the department key.")
        return ItemEntry(department.price, quantity, department=department)
    if department is None and jan.looks_like_jan(head):
        code = jan.normalize(head)
        product = products.get(code)
        if product is not None:
            return ItemEntry(product.price, quantity, product=product)
        if len(code) == 13:
            # 13 digits are never an amount (the largest is 9 digits): a code we cannot ring up.
            try:
                jan.parse(code)
            except jan.JanError:
                raise EntryError("Misread code (check digit): scan it again.") from None
            raise EntryError("Unknown product code: add it to items.toml or type its price.")
    if not head.isascii() or not head.isdigit() or len(head) > 9:
        raise EntryError("Enter an amount in yen, e.g. 300 or 300*2.")
    price = int(head)
    if not 0 < price <= MAX_AMOUNT:
        raise EntryError("Enter an amount in yen, e.g. 300 or 300*2.")
    return ItemEntry(price, quantity, department=department)


class EntryInput(Input):
    """An input where a department key letter (A–Z, as the item list defines) rings up the amount."""

    class DepartmentKey(Message):
        """A department key was pressed with ``value`` in the field."""

        def __init__(self, entry: EntryInput, department: Department, value: str) -> None:
            super().__init__()
            self.entry = entry
            self.department = department
            self.value = value

    def __init__(self, departments: dict[str, Department], **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.departments = departments

    async def _on_key(self, event: events.Key) -> None:
        character = event.character or ""
        department = self.departments.get(character.upper()) if len(character) == 1 else None
        if department is not None and character.isascii() and character.isalpha():
            event.stop()
            event.prevent_default()
            self.post_message(self.DepartmentKey(self, department, self.value))
            return
        await super()._on_key(event)
