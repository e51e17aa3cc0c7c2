"""``mykey-pos card probe``: readers, the card's kind, key, certificate and timings."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable

import pytest

from pos.card import probe
from pos.card.apdu import uid_card_key
from pos.card.simulated import SimulatedReader, demo_jpki_card
from pos.virtualcard.applet import JpkiCard, UidCard
from pos.virtualcard.credentials import CardCredentials
from pos.virtualcard.vcard import VirtualCard
from tests.support.pcscd import Pcscd

VCards = Callable[..., VirtualCard]


def lines(out: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_probe_reads_a_simulated_card_in_json() -> None:
    reader = SimulatedReader()
    card = demo_jpki_card()
    reader.tap(card)
    out = io.StringIO()
    assert probe.main(["probe", "--json", "--timeout", "2"], out=out, reader=reader) == probe.EXIT_OK
    readers, report = lines(out)
    assert readers["readers"] == [reader.name]
    assert report["card_key"] == card.credentials.card_key
    assert report["kind"] == "my_number"
    assert report["pin_tries_left"] == 3
    certificate = report["certificate"]
    assert isinstance(certificate, dict) and "mykey-pos test CA" in certificate["issuer"]


def test_probe_times_out_without_a_card() -> None:
    out = io.StringIO()
    code = probe.main(["probe", "--timeout", "0.2"], out=out, reader=SimulatedReader())
    assert code == probe.EXIT_TIMEOUT
    assert "no card" in out.getvalue()


def test_probe_reports_a_card_error_in_words() -> None:
    reader = SimulatedReader()
    card = UidCard(b"\x01\x02")  # a 2-byte UID is no UID at all
    reader.tap(card)
    out = io.StringIO()
    code = probe.main(["probe", "--timeout", "2", "--lang", "en"], out=out, reader=reader)
    assert code == probe.EXIT_CARD_ERROR
    assert "card_malformed" in out.getvalue() and "invalid answer" in out.getvalue()


@pytest.mark.pcscd
def test_mykey_pos_card_probe_on_real_pcscd(
    vcards: VCards, credentials: CardCredentials, pcscd: Pcscd
) -> None:
    card = vcards(JpkiCard(credentials))
    card.insert()
    command = [sys.executable, "-m", "pos.cli", "card", "probe", "--json", "--timeout", "10"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=30, env={**os.environ})
    assert done.returncode == 0, done.stderr
    reports = [json.loads(line) for line in done.stdout.splitlines()]
    assert reports[0]["readers"] == ["Virtual PCD 00 00", "Virtual PCD 00 01"]
    assert reports[-1]["card_key"] == credentials.card_key
    assert reports[-1]["read_ms"] > 0
    assert "certificate" in reports[-1]


@pytest.mark.pcscd
def test_probe_says_when_pcscd_is_not_running(pcscd: Pcscd) -> None:
    assert pcscd.owned
    pcscd.stop()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "pos.cli", "card", "probe"], capture_output=True, text=True, timeout=30
        )
    finally:
        pcscd.start()
    assert done.returncode == probe.EXIT_NO_SERVICE
    assert "pcscd" in done.stdout and "pcsc_unavailable" in done.stdout


def test_probe_watch_reads_one_card_after_another_and_reports_removals() -> None:
    reader = SimulatedReader()
    first, second = SimulatedReader.uid_card("04A1B2C3D4E5F6"), demo_jpki_card()
    out = io.StringIO()
    result: list[int] = []
    run = threading.Thread(
        target=lambda: result.append(probe.main(["probe", "--json", "--watch", "--count", "2"], out, reader))
    )
    run.start()
    while not reader.watching:  # wait until the probe listens
        threading.Event().wait(0.01)
    reader.tap(first)
    for _ in range(500):  # the probe reads the card on the reader: let it read the first one first
        if '"card_key"' in out.getvalue():
            break
        threading.Event().wait(0.01)
    reader.remove()
    reader.tap(second)
    run.join(10)
    assert result == [probe.EXIT_OK]
    reports = lines(out)
    keys = [r["card_key"] for r in reports if "card_key" in r]
    assert keys == [uid_card_key(first.uid), second.credentials.card_key]
    assert any(r.get("event") == "CardRemoved" for r in reports)
