"""pcscd stopped and restarted while the app watches: the watcher reports it and comes back."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from pos.card import errors, events
from pos.card.pcsc import PcscReader
from pos.virtualcard.applet import JpkiCard
from pos.virtualcard.credentials import CardCredentials
from pos.virtualcard.vcard import VirtualCard
from tests.pos.card.helpers import SLOT0, SLOT1, next_event
from tests.support.pcscd import Pcscd, wait_empty

pytestmark = pytest.mark.pcscd


def test_pcscd_stopped_and_restarted_while_watching(
    pcscd: Pcscd,
    watcher: PcscReader,
    vcards: Callable[..., VirtualCard],
    credentials: CardCredentials,
) -> None:
    assert pcscd.owned, "this test restarts pcscd, so it must be the one these tests started"
    card = vcards(JpkiCard(credentials))
    card.insert()
    next_event(watcher, events.CardPresent)

    pcscd.stop()
    # The card goes with the service, then both readers.
    assert next_event(watcher, events.CardRemoved).reader == SLOT0
    gone = [next_event(watcher, events.ReaderGone), next_event(watcher, events.ReaderGone)]
    assert {g.reader for g in gone} == {SLOT0, SLOT1}
    assert {g.reason for g in gone} == {"pcsc_unavailable"}
    with pytest.raises(errors.PcscUnavailable) as info:
        watcher.readers()
    assert "pcscd" in info.value.message("ja")
    with pytest.raises(errors.PcscUnavailable):
        watcher.connect()
    assert watcher.watching  # the watcher is still there, waiting for pcscd

    pcscd.start()
    back = {next_event(watcher, events.ReaderBack).reader, next_event(watcher, events.ReaderBack).reader}
    assert back == {SLOT0, SLOT1}
    assert watcher.rebuilds >= 1
    wait_empty()
    card.remove()  # pcscd dropped the old connection; the card goes in again
    card.insert()
    present = next_event(watcher, events.CardPresent)
    with watcher.connect(present.reader) as session:
        assert session.read_identity().card_key == credentials.card_key


def test_a_watcher_started_without_pcscd_picks_it_up_when_it_comes(
    pcscd: Pcscd, vcards: Callable[..., VirtualCard], credentials: CardCredentials
) -> None:
    assert pcscd.owned
    pcscd.stop()
    reader = PcscReader(poll_s=0.2, retry_s=0.05)
    reader.start()
    try:
        gone = next_event(reader, events.ReaderGone)
        assert (gone.reader, gone.reason) == ("", "pcsc_unavailable")  # no reader known: the service
        assert reader.events.get(0.3) is None  # said once, not on every retry
        pcscd.start()
        assert next_event(reader, events.ReaderBack).reader in {SLOT0, SLOT1}
        card = vcards(JpkiCard(credentials))
        card.insert()
        assert next_event(reader, events.CardPresent).reader == SLOT0
    finally:
        reader.stop()
    assert not reader.watching


def test_a_dead_watcher_thread_is_rebuilt_by_start(pcscd: Pcscd, empty_readers: None) -> None:
    reader = PcscReader(poll_s=0.1)
    reader.start()
    reader.stop()
    assert not reader.watching
    reader.start()
    assert reader.watching
    reader.stop()
