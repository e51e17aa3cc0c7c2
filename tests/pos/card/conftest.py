"""Card test fixtures: credentials made once per session, and virtual cards on real pcscd + vpcd."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from pos.card.pcsc import PcscReader
from pos.virtualcard.applet import Applet
from pos.virtualcard.credentials import CardCredentials, make_credentials
from pos.virtualcard.vcard import VirtualCard
from tests.support import pcscd as pcscd_support

# The shared pcscd fixtures (one pcscd per test process, under the machine-wide lock).
pcscd = pcscd_support.pcscd
empty_readers = pcscd_support.empty_readers


@pytest.fixture(scope="session")
def credentials() -> CardCredentials:
    """A test CA and one card issued by it (RSA key generation is the slow part: once)."""
    return make_credentials()


@pytest.fixture(scope="session")
def other_credentials(credentials: CardCredentials) -> CardCredentials:
    """A second card from the same CA."""
    return credentials.issue_card()


@pytest.fixture
def vcards(empty_readers: None) -> Iterator[Callable[..., VirtualCard]]:
    """Make virtual cards (``vcards(applet, slot=0)``); all removed again after the test."""
    made: list[VirtualCard] = []

    def make(applet: Applet, slot: int = 0) -> VirtualCard:
        card = VirtualCard(applet, slot)
        made.append(card)
        return card

    yield make
    for card in made:
        card.remove()


@pytest.fixture
def watcher(empty_readers: None) -> Iterator[PcscReader]:
    """A started :class:`PcscReader` (pcscd running, both slots empty)."""
    reader = PcscReader(poll_s=0.2, retry_s=0.05)
    reader.start()
    yield reader
    reader.stop()
