"""``python -m pos.virtualcard.vcard --dir DIR``: what ``make demo`` runs, toggled by SIGUSR1."""

from __future__ import annotations

import pathlib
import signal
import subprocess
import sys

import pytest

from pos.card import events
from pos.card.pcsc import PcscReader
from pos.virtualcard.credentials import CardCredentials
from tests.pos.card.helpers import SLOT0, next_event

pytestmark = pytest.mark.pcscd


def test_the_demo_card_goes_in_and_out_on_sigusr1(watcher: PcscReader, tmp_path: pathlib.Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "pos.virtualcard.vcard", "--dir", str(tmp_path)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert "virtual card" in proc.stdout.readline()
        present = next_event(watcher, events.CardPresent, timeout=10)
        creds = CardCredentials.load(tmp_path)
        assert (tmp_path / "card_key.txt").read_text().strip() == creds.card_key
        with watcher.connect(present.reader) as session:
            assert session.read_identity().card_key == creds.card_key
        proc.send_signal(signal.SIGUSR1)
        assert next_event(watcher, events.CardRemoved).reader == SLOT0
        proc.send_signal(signal.SIGUSR1)
        assert next_event(watcher, events.CardPresent).reader == SLOT0
    finally:
        proc.terminate()
        assert proc.wait(10) == 0
    assert next_event(watcher, events.CardRemoved).reader == SLOT0
