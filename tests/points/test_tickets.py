"""Point tickets: text form round-trips, and every kind of bad ticket is refused with its own error."""

from __future__ import annotations

import datetime as dt
import string

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from points import tickets
from points.tickets import (
    TicketBadSignature,
    TicketExpired,
    TicketGarbled,
    TicketSigner,
    TicketUnknownKey,
)

TODAY = dt.date(2026, 11, 27)
SIGNER = TicketSigner(Ed25519PrivateKey.generate())
KEYS = {SIGNER.key_id: SIGNER.public_key}


def issue(serial: int = 123_456_789, value: int = 500, days: int = 90) -> str:
    return SIGNER.issue(serial, "tenri-megumi", value, TODAY + dt.timedelta(days=days))


def test_issued_ticket_verifies_and_keeps_its_fields() -> None:
    ticket = tickets.verify(issue(), KEYS, TODAY)
    assert (ticket.serial, ticket.program_id, ticket.value) == (123_456_789, "tenri-megumi", 500)
    assert ticket.expires_on == dt.date(2027, 2, 25)
    assert ticket.human_serial == "0001-2345-6789-" + ticket.human_serial[-1]


def test_ticket_text_is_scanner_safe() -> None:
    text = issue()
    assert text.startswith("MKT1")
    assert set(text) <= set(string.ascii_uppercase + "234567" + "1")
    assert len(text) < 200


def test_scanned_text_with_newline_and_lower_case_still_verifies() -> None:
    assert tickets.verify("  " + issue().lower() + "\r\n", KEYS, TODAY).value == 500


def test_ticket_is_valid_on_its_last_day_and_expired_the_day_after() -> None:
    text = issue(days=0)
    assert tickets.verify(text, KEYS, TODAY).value == 500
    with pytest.raises(TicketExpired):
        tickets.verify(text, KEYS, TODAY + dt.timedelta(days=1))


def test_ticket_from_an_unknown_key_is_refused() -> None:
    other = TicketSigner(Ed25519PrivateKey.generate())
    text = other.issue(1, "tenri-megumi", 500, TODAY)
    with pytest.raises(TicketUnknownKey):
        tickets.verify(text, KEYS, TODAY)


def test_forged_signature_with_a_known_key_id_is_refused() -> None:
    forger = TicketSigner(Ed25519PrivateKey.generate())
    forger.key_id = SIGNER.key_id  # claims to be the real key
    text = forger.issue(1, "tenri-megumi", 5_000, TODAY)
    with pytest.raises(TicketBadSignature):
        tickets.verify(text, KEYS, TODAY)


@pytest.mark.parametrize("garbage", ["", "MKT1", "hello", "MKT1!!!!", "MKT1AAAA", "0001-2345"])
def test_garbage_is_garbled(garbage: str) -> None:
    with pytest.raises(TicketGarbled):
        tickets.verify(garbage, KEYS, TODAY)


@settings(max_examples=300)
@given(st.data())
def test_any_single_changed_character_fails_verification(data: st.DataObject) -> None:
    text = issue()
    position = data.draw(st.integers(min_value=0, max_value=len(text) - 1))
    replacement = data.draw(st.sampled_from(string.ascii_uppercase + "234567"))
    changed = text[:position] + replacement + text[position + 1 :]
    if changed.upper() == text:
        return
    with pytest.raises(tickets.TicketError):
        tickets.verify(changed, KEYS, TODAY)


@given(
    st.integers(min_value=0, max_value=10**12 - 1),
    st.integers(min_value=1, max_value=100_000_000),
    st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2170, 12, 31)),
    st.from_regex(r"[a-z0-9][a-z0-9_-]{0,40}", fullmatch=True),
)
def test_ticket_text_round_trips(serial: int, value: int, expires: dt.date, program: str) -> None:
    text = SIGNER.issue(serial, program, value, expires)
    ticket = tickets.verify(text, KEYS, expires)
    assert (ticket.serial, ticket.value, ticket.expires_on, ticket.program_id) == (
        serial,
        value,
        expires,
        program,
    )


@given(st.integers(min_value=0, max_value=10**12 - 1))
def test_human_serial_round_trips(serial: int) -> None:
    human = tickets.format_human_serial(serial)
    assert tickets.parse_human_serial(human) == serial
    assert tickets.parse_human_serial(human.replace("-", " ")) == serial


def test_human_serial_accepts_full_width_digits() -> None:
    human = tickets.format_human_serial(42)
    full_width = human.translate(str.maketrans("0123456789-", "０１２３４５６７８９－"))
    assert tickets.parse_human_serial(full_width) == 42


@given(st.integers(min_value=0, max_value=10**12 - 1), st.data())
def test_human_serial_catches_a_mistyped_digit_and_a_swap(serial: int, data: st.DataObject) -> None:
    digits = tickets.format_human_serial(serial).replace("-", "")
    i = data.draw(st.integers(min_value=0, max_value=len(digits) - 1))
    wrong = data.draw(st.sampled_from([d for d in "0123456789" if d != digits[i]]))
    with pytest.raises(TicketGarbled):
        tickets.parse_human_serial(digits[:i] + wrong + digits[i + 1 :])
    j = data.draw(st.integers(min_value=0, max_value=len(digits) - 2))
    if digits[j] != digits[j + 1]:
        swapped = digits[:j] + digits[j + 1] + digits[j] + digits[j + 2 :]
        with pytest.raises(TicketGarbled):
            tickets.parse_human_serial(swapped)


def test_public_key_text_round_trips() -> None:
    text = tickets.public_key_to_text(SIGNER.public_key)
    assert tickets.key_id_of(tickets.public_key_from_text(text)) == SIGNER.key_id
    with pytest.raises(ValueError):
        tickets.public_key_from_text("AAAA")


def test_denominations_make_as_few_tickets_as_the_unit_allows() -> None:
    assert tickets.split_into_tickets(5000, 100) == [1000] * 5
    assert tickets.split_into_tickets(1700, 100) == [1000, 500, 100, 100]
    assert tickets.split_into_tickets(150, 50) == [100, 50]
    assert tickets.split_into_tickets(0, 100) == []


@given(points=st.integers(0, 60_000), unit=st.sampled_from([1, 10, 50, 100, 500, 1000, 300]))
def test_denominations_add_up_largest_first(points: int, unit: int) -> None:
    faces = tickets.split_into_tickets(points, unit)
    assert sum(faces) == points
    assert all(face > 0 for face in faces)
    # Multiples of the unit only (the unit itself when no denomination is one), largest first;
    # only a last remainder below the smallest such face may fall outside them.
    faces_allowed = [d for d in tickets.DENOMINATIONS if d % unit == 0] or [unit]
    assert all(face in faces_allowed for face in faces[:-1])
    assert faces[:-1] == sorted(faces[:-1], reverse=True)
    if faces and faces[-1] not in faces_allowed:
        assert faces[-1] < min(faces_allowed)
