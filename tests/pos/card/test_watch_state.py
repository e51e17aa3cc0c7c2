"""What the PC/SC watcher reports as readers come and go (the bookkeeping, without pcscd)."""

from __future__ import annotations

from smartcard import scard  # type: ignore[import-untyped]

from pos.card import events
from pos.card.pcsc import SERVICE, _WatchState


def kinds(queue: events.EventQueue) -> list[tuple[str, str]]:
    return [(type(e).__name__, e.reader) for e in queue.drain()]


def test_readers_there_at_start_are_not_news_but_later_changes_are() -> None:
    queue = events.EventQueue()
    state = _WatchState(queue)
    state.readers_now(["A", "B"])
    assert kinds(queue) == []
    state.reader_flags("A", scard.SCARD_STATE_PRESENT, b"\x3b")
    state.readers_now(["B"])  # A unplugged with its card on it
    assert kinds(queue) == [("CardPresent", "A"), ("CardRemoved", "A"), ("ReaderGone", "A")]
    state.readers_now(["A", "B"])
    assert kinds(queue) == [("ReaderBack", "A")]


def test_a_card_present_twice_is_reported_once_and_removal_once() -> None:
    queue = events.EventQueue()
    state = _WatchState(queue)
    state.readers_now(["A"])
    state.reader_flags("A", scard.SCARD_STATE_PRESENT, b"\x3b")
    state.reader_flags("A", scard.SCARD_STATE_PRESENT | scard.SCARD_STATE_INUSE, b"\x3b")
    state.reader_flags("A", scard.SCARD_STATE_EMPTY, b"")
    state.reader_flags("A", scard.SCARD_STATE_EMPTY, b"")
    assert kinds(queue) == [("CardPresent", "A"), ("CardRemoved", "A")]


def test_service_down_is_said_once_then_readers_come_back() -> None:
    queue = events.EventQueue()
    state = _WatchState(queue)
    state.readers_now(["A"])
    state.service_down()
    state.service_down()
    gone = queue.drain()
    assert [(type(e).__name__, e.reader) for e in gone] == [("ReaderGone", "A")]
    assert isinstance(gone[0], events.ReaderGone) and gone[0].reason == "pcsc_unavailable"
    state.readers_now(["A"])
    assert kinds(queue) == [("ReaderBack", "A")]


def test_no_pcscd_from_the_start_is_one_event_about_the_service() -> None:
    queue = events.EventQueue()
    state = _WatchState(queue)
    state.service_down()
    state.service_down()
    assert kinds(queue) == [("ReaderGone", SERVICE)]
    state.readers_now(["A"])
    assert kinds(queue) == [("ReaderBack", "A")]
