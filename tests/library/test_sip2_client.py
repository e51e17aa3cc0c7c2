"""The SIP2 client against a real SIP2 peer on loopback: login, status, lending, and its faults."""

from __future__ import annotations

import socket

import pysip2
import pytest

from pos.library import errors
from pos.library.sip2 import Sip2Client
from tests.support.sip2_library import Sip2Library


def test_the_desk_logs_in_and_the_library_says_it_lends_today(omuta: Sip2Client) -> None:
    status = omuta.status()
    assert status.online and status.checkout_ok and status.checkin_ok
    assert (status.institution_id, status.library_name) == ("OMUTA", "大牟田市立図書館")


def test_a_wrong_password_is_refused_in_japanese(sip2_library: Sip2Library) -> None:
    client = Sip2Client(sip2_library.system("OMUTA", login_password="wrong"))
    with pytest.raises(errors.LibraryRefused) as refused:
        client.status()
    assert "ログイン" in refused.value.message("ja")


def test_a_patrons_status_and_information(omuta: Sip2Client) -> None:
    status = omuta.patron_status("1100000001")
    assert status.valid and status.flags == frozenset() and status.fee_amount == 0
    assert status.name == "有明 花子" and "有明" not in repr(status)  # shown, never in a log line
    information = omuta.patron_information("1100000001")
    assert (information.charged_count, information.charged_limit, information.fee_limit) == (0, 10, 500)


def test_checkout_three_then_checkin_one(omuta: Sip2Client, sip2_library: Sip2Library) -> None:
    loans = [omuta.checkout("1100000001", barcode) for barcode in ("1190000001", "1190000002", "1190000004")]
    assert all(loan.ok for loan in loans)
    assert [loan.title for loan in loans] == ["坊っちゃん", "吾輩は猫である", "走れメロス"]
    assert all(loan.due_date is not None for loan in loans)
    back = omuta.checkin("1190000002")
    assert back.ok and back.title == "吾輩は猫である"
    assert omuta.patron_information("1100000001").charged_items == ("1190000001", "1190000004")
    assert sorted(sip2_library.libraries["OMUTA"].charged("1100000001")) == ["1190000001", "1190000004"]


def test_a_blocked_patron_is_refused_by_the_library(omuta: Sip2Client) -> None:
    status = omuta.patron_status("1100000003")
    assert {"card_lost", "charge_denied"} <= status.flags
    loan = omuta.checkout("1100000003", "1190000005")
    assert not loan.ok and loan.due_date is None and loan.screen_messages


def test_a_library_that_is_down_says_so_in_japanese_and_nothing_was_sent(sip2_library: Sip2Library) -> None:
    client = Sip2Client(sip2_library.system("OMUTA"))
    sip2_library.stop()
    with pytest.raises(errors.LibraryDown) as down:
        client.checkout("1100000001", "1190000001")
    assert not down.value.maybe_done
    assert down.value.message("ja") == "図書館システムに接続できません。復旧するまで貸出はお待ちください。"


def test_a_library_that_stops_answering_times_out(omuta: Sip2Client, sip2_library: Sip2Library) -> None:
    omuta.status()
    sip2_library.hang = True
    with pytest.raises(errors.LibraryTimeout) as late:
        omuta.checkout("1100000001", "1190000001")
    assert late.value.maybe_done  # sent: the library may have lent it
    assert "時間内" in late.value.message("ja")


def test_one_garbled_answer_is_asked_for_again(omuta: Sip2Client, sip2_library: Sip2Library) -> None:
    omuta.status()
    sip2_library.garble = 1
    assert omuta.checkout("1100000001", "1190000001").ok
    assert sip2_library.requests[-2:] == ["11", "97"]
    assert sip2_library.libraries["OMUTA"].charged("1100000001") == ["1190000001"]  # lent once


def test_an_answer_garbled_twice_is_a_clear_error(omuta: Sip2Client, sip2_library: Sip2Library) -> None:
    omuta.status()
    sip2_library.garble = 2
    with pytest.raises(errors.LibraryGarbled) as garbled:
        omuta.patron_status("1100000001")
    assert "読み取れません" in garbled.value.message("ja")
    assert omuta.patron_status("1100000001").valid  # the next request starts afresh


def test_an_answer_to_another_request_is_refused(omuta: Sip2Client, sip2_library: Sip2Library) -> None:
    omuta.status()
    sip2_library.wrong_sequence = True
    with pytest.raises(errors.LibraryGarbled, match="sequence"):
        omuta.patron_status("1100000001")


def test_the_library_answers_a_bad_checksum_with_96(sip2_library: Sip2Library) -> None:
    with socket.create_connection((sip2_library.host, sip2_library.port), timeout=2) as raw:
        raw.sendall(b"9300CNdesk-omuta|COomuta-sip2|AY0AZ0000\r")
        answer = raw.recv(100)
    assert pysip2.decode_message(answer).message == pysip2.RequestSCResend()


def test_an_idle_connection_the_library_closed_is_made_again(
    omuta: Sip2Client, sip2_library: Sip2Library
) -> None:
    omuta.status()
    sip2_library.drop_connections()
    assert omuta.patron_status("1100000001").valid
    assert sip2_library.requests.count("93") == 2


def test_a_late_answer_is_never_taken_for_the_next_one(omuta: Sip2Client, sip2_library: Sip2Library) -> None:
    omuta.status()
    assert omuta._socket is not None
    omuta._socket.sendall(b"99" + b"0" + b"048" + b"2.00" + b"AY9AZ0000\r")  # an answer no one will read
    omuta._socket.recv(1, socket.MSG_PEEK)  # the library's 96 has arrived
    assert omuta.patron_status("1100000001").valid  # made afresh, not read off the old connection
    assert sip2_library.requests.count("93") == 2


def test_nothing_but_a_login_before_a_login(sip2_library: Sip2Library) -> None:
    request = pysip2.SCStatusRequest(status_code="0", max_print_width="048", protocol_version="2.00")
    with socket.create_connection((sip2_library.host, sip2_library.port), timeout=2) as raw:
        raw.sendall(pysip2.encode_message(request, sequence_number=0, checksum=True))
        answer = pysip2.decode_message(raw.recv(100)).message
    assert answer == pysip2.LoginResponse(ok="0")


def test_one_librarys_desk_cannot_lend_another_librarys_books(sip2_library: Sip2Library) -> None:
    with Sip2Client(sip2_library.system("OMUTA")) as client:
        assert not client.checkout("1100000001", "1290000001").ok  # a Yanagawa barcode
    assert sip2_library.libraries["YANAGAWA"].loans.keys() == {"1290000011"}


def test_a_message_the_library_does_not_support_goes_unanswered(
    omuta: Sip2Client, sip2_library: Sip2Library
) -> None:
    omuta.status()
    assert omuta._socket is not None
    omuta._socket.settimeout(0.3)
    request = pysip2.ItemInformationRequest(
        transaction_date="20261202    093000", institution_id="OMUTA", item_identifier="1190000001"
    )
    omuta._socket.sendall(pysip2.encode_message(request, sequence_number=3, checksum=True))
    with pytest.raises(TimeoutError):
        omuta._socket.recv(100)
    assert sip2_library.requests[-1] == "17"
