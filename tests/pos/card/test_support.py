"""Credentials on disk, the event queue across threads, and the error family's words."""

from __future__ import annotations

import pathlib
import stat
import threading

import pytest

from pos.card import errors, events
from pos.card.pcsc import map_hresult
from pos.virtualcard.credentials import CardCredentials


def test_credentials_round_trip_through_pem(credentials: CardCredentials, tmp_path: pathlib.Path) -> None:
    credentials.save(tmp_path)
    loaded = CardCredentials.load(tmp_path)
    assert loaded.certificate_der == credentials.certificate_der
    assert loaded.card_key == credentials.card_key
    assert (tmp_path / "card_key.txt").read_text().strip() == credentials.card_key
    assert stat.S_IMODE((tmp_path / "card-key.pem").stat().st_mode) == 0o600
    assert CardCredentials.load_or_create(tmp_path).card_key == credentials.card_key


def test_the_card_certificate_is_issued_by_the_ca_and_names_no_one(credentials: CardCredentials) -> None:
    cert = credentials.certificate
    cert.verify_directly_issued_by(credentials.ca_certificate)
    assert cert.public_key().key_size == 2048  # type: ignore[union-attr]
    assert len(credentials.certificate_der) > 4 * 255 - 40  # several READ BINARY chunks


def test_events_from_many_threads_all_arrive_in_each_threads_order() -> None:
    queue = events.EventQueue()

    def produce(n: int) -> None:
        for i in range(200):
            queue.put(events.CardPresent(f"r{n}", atr=bytes([i])))

    threads = [threading.Thread(target=produce, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    got = [queue.get(5) for _ in range(800)]
    for t in threads:
        t.join()
    assert queue.get(0.01) is None
    for n in range(4):
        mine = [e.atr[0] for e in got if isinstance(e, events.CardPresent) and e.reader == f"r{n}"]
        assert mine == list(range(200))


def test_every_error_speaks_japanese_and_english_with_its_own_code() -> None:
    classes = [c for c in vars(errors).values() if isinstance(c, type) and issubclass(c, errors.CardError)]
    special = {errors.WrongPin: (2,), errors.UnexpectedStatus: (0x6F00, "read binary")}
    instances = [c(*special.get(c, ())) for c in classes]
    for err in instances:
        assert err.message("ja") != err.message("en")
        assert any("\u3040" <= ch <= "\u9fff" for ch in err.message("ja"))
    codes = [c.code for c in classes]
    assert len(codes) == len(set(codes))


@pytest.mark.parametrize(
    ("hresult", "error"),
    [
        (0x80100069, errors.CardRemoved),
        (0x80100016, errors.CardRemoved),
        (0x80100017, errors.ReaderGone),
        (0x8010001D, errors.PcscUnavailable),
        (0x8010002E, errors.NoReader),
        (0x80100001, errors.CardError),
    ],
)
def test_pcsc_codes_become_card_errors(hresult: int, error: type[errors.CardError]) -> None:
    mapped = map_hresult(hresult, "step")
    assert type(mapped) is error
    assert f"{hresult:#010x}" in mapped.detail


def test_no_card_while_connecting_is_no_card() -> None:
    assert isinstance(map_hresult(0x8010000C, "connect", connecting=True), errors.NoCard)


def test_the_card_layer_never_imports_textual() -> None:
    import json
    import subprocess
    import sys

    code = (
        "import sys, json\n"
        "import pos.card.base, pos.card.pcsc, pos.card.simulated, pos.virtualcard.vcard, pos.card.probe\n"
        "print(json.dumps(sorted(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert not {m for m in json.loads(out) if m.split(".")[0] == "textual"}
