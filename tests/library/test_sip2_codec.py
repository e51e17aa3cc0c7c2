"""The wire format against the SIP2 2.00 spec's own example messages: checksum, sequence, fields.

The examples are those printed in the 3M spec (and quoted by every SIP2 implementation's tests). A
few of the spec's examples carry checksums that do not add up as printed; those show the codec
refusing a mismatch rather than what it reads.
"""

from __future__ import annotations

import datetime as dt

import pysip2
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pos.library.sip2 import PATRON_STATUS_FLAGS, parse_due_date, sip_datetime

# The spec's examples whose checksums add up.
LOGIN = b"9300CNLoginUserID|COLoginPassword|CPLocationCode|AY5AZEC7B\r"
PATRON_INFORMATION = (
    b"6300119980723    091905Y         AOInstitutionID|AAPatronID|BP00001|BQ00005|AY1AZEA83\r"
)
LOGIN_RESPONSE = b"941AY3AZFDFA\r"
CHECKIN = (
    b"09N19980821    085721                  APCertification Terminal Location|"
    b"AOCertification Institute ID|ABCheckInBook|ACTPWord|BIN|AY2AZD6A5\r"
)
CHECKIN_RESPONSE = (
    b"101YNN19980821    085721AOCertification Institute ID|ABCheckInBook|"
    b"AQPermanent Location for CheckinBook, Language 1|AJTitle For CheckinBook|AAGoodPatron1|CK001|"
    b"CHCheckinBook Properties|CLsort bin A1|AFScreen Message for CheckInBook|"
    b"AGPrint Line for CheckInBook|AY2AZA3FF\r"
)
# The spec's examples whose printed checksums do not add up.
CHECKOUT_AS_PRINTED = (
    b"11YN19960212    10051419960212    100514AO|AA104000000105|AB000000000005792|AC|AY3AZEDB7\r"
)
PATRON_STATUS_RESPONSE_AS_PRINTED = (
    b"24              00119960212    100239AO|AA104000000105|AEJohn Doe|AFScreen Message|"
    b"AGCheck Print message|AY2AZDFC4\r"
)


@pytest.mark.parametrize("frame", [LOGIN, PATRON_INFORMATION, LOGIN_RESPONSE, CHECKIN, CHECKIN_RESPONSE])
def test_the_specs_examples_add_up(frame: bytes) -> None:
    assert pysip2.verify_checksum(frame[:-1])
    assert pysip2.calculate_checksum(frame[:-5]) == frame[-5:-1].decode()


def test_the_login_example_reads_as_the_spec_says() -> None:
    decoded = pysip2.decode_message(LOGIN)
    assert decoded.sequence_number == 5 and decoded.checksum == "EC7B"
    login = decoded.message
    assert isinstance(login, pysip2.LoginRequest)
    assert (login.login_user_id, login.login_password, login.location_code) == (
        "LoginUserID",
        "LoginPassword",
        "LocationCode",
    )


def test_a_login_encoded_here_is_the_specs_example_byte_for_byte() -> None:
    login = pysip2.LoginRequest(
        uid_algorithm="0",
        pwd_algorithm="0",
        login_user_id="LoginUserID",
        login_password="LoginPassword",
        location_code="LocationCode",
    )
    assert pysip2.encode_message(login, sequence_number=5, checksum=True) == LOGIN


def test_the_patron_information_example_asks_for_holds_one_to_five() -> None:
    request = pysip2.decode_message(PATRON_INFORMATION).message
    assert isinstance(request, pysip2.PatronInformationRequest)
    assert request.summary == "Y         " and (request.start_item, request.end_item) == ("00001", "00005")
    assert (request.institution_id, request.patron_identifier) == ("InstitutionID", "PatronID")


def test_the_checkin_response_example_reads_as_the_spec_says() -> None:
    decoded = pysip2.decode_message(CHECKIN_RESPONSE)
    answer = decoded.message
    assert isinstance(answer, pysip2.CheckinResponse) and decoded.sequence_number == 2
    assert answer.ok == "1" and answer.alert == "N"
    assert answer.title_identifier == "Title For CheckinBook"
    assert answer.permanent_location == "Permanent Location for CheckinBook, Language 1"
    assert answer.screen_message == ("Screen Message for CheckInBook",)


def test_a_checksum_that_does_not_add_up_is_refused() -> None:
    with pytest.raises(pysip2.SIP2ChecksumError):
        pysip2.decode_message(CHECKOUT_AS_PRINTED)
    with pytest.raises(pysip2.SIP2ChecksumError):
        pysip2.decode_message(LOGIN.replace(b"LoginUserID", b"LoginUserId"))


def test_the_patron_status_example_reads_without_its_trailer() -> None:
    body = PATRON_STATUS_RESPONSE_AS_PRINTED[: PATRON_STATUS_RESPONSE_AS_PRINTED.index(b"AY")] + b"\r"
    decoded = pysip2.decode_message(body)
    answer = decoded.message
    assert isinstance(answer, pysip2.PatronStatusResponse) and decoded.checksum is None
    assert answer.patron_status == " " * 14 and answer.personal_name == "John Doe"
    assert answer.print_line == ("Check Print message",)


@given(st.text(st.characters(blacklist_characters="|\r\x00", blacklist_categories=["Cs"]), max_size=40))
def test_any_japanese_title_survives_the_checksum_in_utf8(title: str) -> None:
    answer = pysip2.CheckoutResponse(
        ok="1",
        renewal_ok="N",
        magnetic_media="N",
        desensitize="Y",
        transaction_date="20261201    093000",
        institution_id="OMUTA",
        patron_identifier="1100000001",
        item_identifier="1190000001",
        title_identifier=title,
        due_date="20261215    235959",
    )
    frame = pysip2.encode_message(answer, sequence_number=7, checksum=True, encoding="utf-8")
    decoded = pysip2.decode_message(frame, encoding="utf-8")
    assert decoded.sequence_number == 7 and decoded.message == answer


def test_sequence_numbers_are_one_digit() -> None:
    with pytest.raises(pysip2.SIP2CodecError):
        pysip2.encode_message(pysip2.LoginResponse(ok="1"), sequence_number=10, checksum=True)


def test_dates_are_local_time_with_a_blank_zone_and_due_dates_read_their_day() -> None:
    assert sip_datetime(dt.datetime(1998, 8, 21, 8, 57, 21)) == "19980821    085721"
    assert parse_due_date("20261215    235959") == dt.date(2026, 12, 15)
    assert parse_due_date("2026-12-15") is None and parse_due_date("20261315") is None
    assert len(PATRON_STATUS_FLAGS) == 14
