"""Demo data for the library system emulator: the six libraries of the Ariake region (有明圏域).

Omuta and its neighbours lend to each other's residents, but each library keeps its own system,
its own user database and its own card (DESIGN.md §1). Each library here has a desk login, a
handful of patrons (one whose card was reported lost, one with fines over the limit, one with too
many overdue items) and shelves of public-domain classics with barcodes of their own.

Patron numbers and barcodes start with the library's two-digit number, so a number typed at the
wrong library is plainly someone else's. The names are made up.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from tests.support.sip2_library import Item, LibraryData, Patron

ARIAKE = (
    # (institution id, number, name)
    ("OMUTA", "11", "大牟田市立図書館"),
    ("YANAGAWA", "12", "柳川市立図書館"),
    ("MIYAMA", "13", "みやま市立図書館"),
    ("NANKAN", "14", "南関町立図書館"),
    ("ARAO", "15", "荒尾市立図書館"),
    ("NAGASU", "16", "長洲町図書館"),
)

TITLES = (
    "坊っちゃん",
    "吾輩は猫である",
    "銀河鉄道の夜",
    "走れメロス",
    "羅生門",
    "こころ",
    "注文の多い料理店",
    "蜘蛛の糸",
    "山椒大夫",
    "高瀬舟",
    "舞姫",
    "たけくらべ",
)

NAMES = ("有明 花子", "三池 太郎", "柳川 みどり", "荒尾 健", "長洲 さくら", "南関 一郎")


def library(institution_id: str, number: str, name: str) -> LibraryData:
    """One Ariake library with its desk login, patrons and shelves."""
    data = LibraryData(
        institution_id=institution_id,
        name=name,
        login_user=f"desk-{institution_id.lower()}",
        login_password=f"{institution_id.lower()}-sip2",
    )
    patrons = [
        Patron(f"{number}00000001", NAMES[0]),
        Patron(f"{number}00000002", NAMES[1]),
        Patron(f"{number}00000003", NAMES[2], card_lost=True),
        Patron(f"{number}00000004", NAMES[3], fines=1200),
        Patron(f"{number}00000005", NAMES[4], overdue=3),
        Patron(f"{number}00000006", NAMES[5]),
    ]
    data.patrons = {patron.patron_id: patron for patron in patrons}
    for index, title in enumerate(TITLES, start=1):
        barcode = f"{number}9{index:07d}"
        data.items[barcode] = Item(barcode, title, loan_days=14 if index % 4 else 7)
    # The twelfth book waits for the second patron; the eleventh is on loan to the sixth.
    data.items[f"{number}90000012"].holds.append(f"{number}00000002")
    data.loans[f"{number}90000011"] = (f"{number}00000006", _due_in(10))
    return data


def _due_in(days: int) -> dt.date:
    return dt.date.today() + dt.timedelta(days=days)


def six_ariake() -> list[LibraryData]:
    """The six libraries of the Ariake region, fresh."""
    return [library(*entry) for entry in ARIAKE]


#: The emulator's ``--data`` choices.
DATA_SETS: dict[str, Callable[[], list[LibraryData]]] = {"six-ariake": six_ariake}
