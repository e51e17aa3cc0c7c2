"""The desk's flow against the Ariake libraries' systems: may borrow, lend, return, the slip."""

from __future__ import annotations

import datetime as dt

import pytest

from pos.library import errors
from pos.library.desk import InMemoryMemberships, LibraryDesk, NoMemberships, mask_patron
from pos.library.sip2 import Sip2Client
from printers import decode, render
from printers.layout import PAPER_58MM
from tests.library.conftest import HANAKO_CARD
from tests.support.sip2_library import Sip2Library

MORNING = dt.datetime(2026, 12, 2, 9, 30)


def test_a_tapped_card_is_this_librarys_patron_and_may_borrow(omuta_desk: LibraryDesk) -> None:
    patron = omuta_desk.patron_for_card(HANAKO_CARD)
    assert patron == "1100000001"
    standing = omuta_desk.standing(patron)
    assert standing.may_borrow and standing.name == "有明 花子"
    assert "有明" not in repr(standing)


def test_a_card_not_linked_here_is_no_one(omuta_desk: LibraryDesk) -> None:
    assert omuta_desk.patron_for_card("jpki:" + "b" * 64) is None


@pytest.mark.parametrize(
    ("patron", "code", "says"),
    [
        ("1100000003", "card_lost", "紛失"),
        ("1100000004", "fines", "未払いの料金1,200円が図書館の上限500円を超えています。"),
        ("1100000005", "too_many_overdue", "延滞中の資料が3点あります。"),
        ("1199999999", "not_a_patron", "登録されていません"),
    ],
)
def test_a_patron_the_library_blocks_may_not_borrow(
    omuta_desk: LibraryDesk, patron: str, code: str, says: str
) -> None:
    standing = omuta_desk.standing(patron)
    assert not standing.may_borrow
    assert [reason.code for reason in standing.reasons][:1] == [code]
    assert says in standing.reasons[0].message("ja")


def test_lend_three_return_one(omuta_desk: LibraryDesk, sip2_library: Sip2Library) -> None:
    lending = omuta_desk.lend("1100000001", ["1190000001", "1190000002", "1190000004", "1190000001"])
    assert lending.complete and [loan.item_id for loan in lending.lent] == [
        "1190000001",
        "1190000002",
        "1190000004",
    ]
    returning = omuta_desk.give_back(["1190000002"])
    assert returning.complete and [r.title for r in returning.returned] == ["吾輩は猫である"]
    assert sorted(sip2_library.libraries["OMUTA"].charged("1100000001")) == ["1190000001", "1190000004"]


def test_an_item_the_library_refuses_is_refused_and_the_rest_are_lent(omuta_desk: LibraryDesk) -> None:
    lending = omuta_desk.lend("1100000001", ["1190000011", "1190000012", "1190000003"])  # on loan, held
    assert lending.complete
    assert [loan.item_id for loan in lending.lent] == ["1190000003"]
    assert [loan.screen_messages for loan in lending.refused] == [
        ("この資料は貸出中です",),
        ("この資料は他の方の予約があります",),
    ]


def test_the_library_going_down_midway_says_what_was_lent_and_what_was_not(
    omuta_desk: LibraryDesk, sip2_library: Sip2Library
) -> None:
    sip2_library.down_after_checkouts = 2
    lending = omuta_desk.lend("1100000001", ["1190000001", "1190000002", "1190000003", "1190000004"])
    assert not lending.complete and isinstance(lending.error, errors.LibraryDown)
    assert [loan.item_id for loan in lending.lent] == ["1190000001", "1190000002"]
    assert lending.not_lent == ("1190000003", "1190000004") and lending.unsettled == ()
    assert sorted(sip2_library.libraries["OMUTA"].charged("1100000001")) == ["1190000001", "1190000002"]


def test_an_answer_lost_midway_leaves_that_item_unsettled_not_guessed(
    omuta_desk: LibraryDesk, sip2_library: Sip2Library
) -> None:
    omuta_desk.lend("1100000001", ["1190000001"])
    sip2_library.garble = 2  # the checkout of the second book is done, its answer unreadable twice
    lending = omuta_desk.lend("1100000001", ["1190000002", "1190000003"])
    assert isinstance(lending.error, errors.LibraryGarbled)
    assert (lending.lent, lending.unsettled, lending.not_lent) == ((), ("1190000002",), ("1190000003",))


def test_the_lending_slip_lists_titles_and_due_dates_and_names_no_one(omuta_desk: LibraryDesk) -> None:
    lending = omuta_desk.lend("1100000001", ["1190000001", "1190000004", "1190000011"])
    slip = omuta_desk.slip(lending, MORNING)
    for width in (48, PAPER_58MM):
        lines = decode(render(slip, width=width))
        text = "\n".join(lines)
        assert "大牟田市立図書館" in text and "貸出票" in text
        assert "坊っちゃん" in text and "走れメロス" in text
        due = lending.lent[0].due_date
        assert due is not None and f"{due.year}年{due.month}月{due.day}日" in text
        assert "******0001" in text and "1100000001" not in text and "有明" not in text
        assert "1190000011" in text  # refused: listed as not lent
        assert lines[-1] == "[cut]"


def test_a_resident_of_two_libraries_borrows_at_both_with_one_card(sip2_library: Sip2Library) -> None:
    memberships = InMemoryMemberships()
    memberships.link(HANAKO_CARD, "OMUTA", "1100000001")
    memberships.link(HANAKO_CARD, "YANAGAWA", "1200000002")
    for institution, book in (("OMUTA", "1190000001"), ("YANAGAWA", "1290000001")):
        with Sip2Client(sip2_library.system(institution)) as client:
            desk = LibraryDesk(client, memberships)
            patron = desk.patron_for_card(HANAKO_CARD)
            assert patron is not None and desk.standing(patron).may_borrow
            assert desk.lend(patron, [book]).lent[0].item_id == book
    # Omuta's patron number means nothing to Yanagawa's system.
    with Sip2Client(sip2_library.system("YANAGAWA")) as client:
        assert LibraryDesk(client, memberships).standing("1100000001").reasons[0].code == "not_a_patron"


def test_masking_keeps_the_last_four() -> None:
    assert mask_patron("1100000001") == "******0001" and mask_patron("12") == "12"


def test_a_first_visit_links_only_a_number_the_library_knows(omuta: Sip2Client) -> None:
    memberships = InMemoryMemberships()
    desk = LibraryDesk(omuta, memberships)
    other_card = "jpki:" + "b" * 64
    unknown = desk.first_visit(other_card, "1199999999")
    assert [reason.code for reason in unknown.reasons] == ["not_a_patron"]
    assert desk.patron_for_card(other_card) is None
    standing = desk.first_visit(other_card, "1100000002")
    assert standing.may_borrow and desk.patron_for_card(other_card) == "1100000002"


def test_a_terminal_without_a_server_saves_no_link(omuta: Sip2Client) -> None:
    desk = LibraryDesk(omuta, NoMemberships())
    with pytest.raises(LookupError):
        desk.first_visit("jpki:" + "b" * 64, "1100000002")
