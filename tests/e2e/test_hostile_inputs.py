"""Garbage at the edges: a hostile card and random scanned tickets give clear errors, never a crash."""

from __future__ import annotations

import datetime as dt
import pathlib
import random
import tempfile

from hypothesis import given, settings
from hypothesis import strategies as st

from points import tickets
from pos import settings as pos_settings
from pos.card import apdu, errors, events
from pos.card.base import CardIdentity
from pos.card.pcsc import PcscReader
from pos.card.session import ApduSession
from pos.virtualcard.applet import Applet, JpkiCard
from pos.virtualcard.credentials import make_credentials
from pos.virtualcard.vcard import VirtualCard
from tests.pos.card.helpers import next_event
from tests.support import pcscd as pcscd_support

CREDENTIALS = make_credentials()


class HostileApplet(Applet):
    """A card that answers from a script of raw replies, then falls back to a real JPKI card."""

    atr = apdu.ATR_JPKI

    def __init__(self, replies: list[bytes], honest: JpkiCard | None = None) -> None:
        super().__init__()
        self.replies = list(replies)
        self.honest = honest

    def _answer(self, command: bytes) -> bytes:
        if self.replies:
            return self.replies.pop(0)
        if self.honest is not None:
            return self.honest.process(command)
        return b"\x6f\x00"


class InProcessSession(ApduSession):
    """The host logic over a direct call into an applet (no pcscd: thousands of cards a second)."""

    def __init__(self, applet: Applet) -> None:
        super().__init__("in-process", applet.atr)
        self.applet = applet

    def _transmit(self, command: bytes) -> bytes:
        return self.applet.process(command)

    def close(self) -> None:
        """Nothing to release in-process."""


def read(applet: Applet) -> CardIdentity | errors.CardError:
    try:
        return InProcessSession(applet).read_identity()
    except errors.CardError as exc:
        assert exc.message("ja") and exc.message("en")  # something to show the shopkeeper
        return exc


replies = st.lists(st.binary(min_size=0, max_size=300), max_size=12)


@settings(max_examples=300, deadline=None)
@given(replies)
def test_random_answers_give_a_card_error_or_a_real_key(script: list[bytes]) -> None:
    outcome = read(HostileApplet(script))
    if isinstance(outcome, CardIdentity):
        # Only a UID card can come out of pure noise: a JPKI key needs a parsable certificate.
        assert outcome.card_key.startswith("uid:")


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_a_card_that_lies_midway_never_yields_a_partial_key(data: st.DataObject) -> None:
    honest = JpkiCard(CREDENTIALS)
    honest.power_on()
    script_honest = [honest.process(c) for c in _identity_commands(honest)]
    position = data.draw(st.integers(min_value=0, max_value=len(script_honest) - 1))
    lie = data.draw(
        st.one_of(
            st.binary(max_size=260),
            st.sampled_from([b"\x6a\x82", b"\x90", b"", b"\x30\x82\xff\xff\x90\x00", b"\x63\xc0"]),
        )
    )
    script = [*script_honest[:position], lie, *script_honest[position + 1 :]]
    outcome = read(HostileApplet(script))
    if isinstance(outcome, CardIdentity):
        assert outcome.card_key == apdu.jpki_card_key(CREDENTIALS.certificate_der) or (
            outcome.card_key.startswith("uid:")
        )


def _identity_commands(card: JpkiCard) -> list[bytes]:
    """The APDUs an honest read sends (recorded from a real read of the honest card)."""
    recorder = JpkiCard(CREDENTIALS)
    InProcessSession(recorder).read_identity()
    return list(recorder.received)


def test_huge_certificate_length_is_refused_without_reading_forever() -> None:
    honest = JpkiCard(CREDENTIALS)
    commands = _identity_commands(honest)
    honest.power_on()
    script = [honest.process(c) for c in commands]
    header_index = next(i for i, c in enumerate(commands) if c[1:2] == b"\xb0" and c[-1] == 4 and i > 2)
    script[header_index] = b"\x30\x82\xff\xff\x90\x00"
    applet = HostileApplet(script)
    outcome = read(applet)
    assert isinstance(outcome, errors.CardError)
    assert len(applet.received) < 300  # 64 KB at most is 258 chunks; it stops at the first lie


scanned = st.one_of(
    st.text(max_size=300),
    st.binary(max_size=300).map(lambda b: b.decode("latin-1")),
    st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", max_size=250).map(lambda s: "MKT1" + s),
)


@settings(max_examples=500, deadline=None)
@given(scanned)
def test_random_scans_are_refused_as_tickets(text: str) -> None:
    keys: dict[str, object] = {}
    try:
        tickets.verify(text, keys, dt.date(2026, 11, 27))  # type: ignore[arg-type]
    except tickets.TicketError as exc:
        assert exc.code.startswith("ticket_")
    else:
        raise AssertionError("random text verified as a ticket")


def test_random_human_serials_are_refused_or_read() -> None:
    rng = random.Random(7)
    for _ in range(2_000):
        text = "".join(rng.choice("0123456789- ０１") for _ in range(rng.randrange(20)))
        try:
            serial = tickets.parse_human_serial(text)
        except tickets.TicketGarbled:
            continue
        assert tickets.parse_human_serial(tickets.format_human_serial(serial)) == serial


# Through the real stack: pcscd, the vpcd driver, a virtual card speaking nonsense ---------

pcscd = pcscd_support.pcscd
empty_readers = pcscd_support.empty_readers


def test_hostile_cards_on_real_pcscd_give_typed_errors(empty_readers: None) -> None:
    rng = random.Random(20261127)
    reader = PcscReader(poll_s=0.2, retry_s=0.05)
    reader.start()
    try:
        for _ in range(4):
            script = [rng.randbytes(rng.randrange(0, 260)) for _ in range(rng.randrange(1, 8))]
            card = VirtualCard(HostileApplet(script), 0)
            card.insert()
            try:
                present = next_event(reader, events.CardPresent)
                try:
                    with reader.connect(present.reader) as session:
                        identity = session.read_identity()
                    assert identity.card_key.startswith("uid:")
                except errors.CardError as exc:
                    assert exc.message("ja") and exc.message("en")
            finally:
                card.remove()
                next_event(reader, events.CardRemoved)
    finally:
        reader.stop()


# Settings files edited by hand ------------------------------------------------------------

SETTING_NAMES = ["server_url", "reader", "printer", "paper_width", "raster", "language", "journal"]
toml_values = st.one_of(
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.booleans(),
    st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=20),
    st.lists(st.integers(min_value=0, max_value=9), max_size=3),
    st.floats(allow_nan=False, allow_infinity=False),
)


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return repr(value)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(SETTING_NAMES), toml_values, max_size=4))
def test_settings_with_wrong_types_are_refused_clearly(values: dict[str, object]) -> None:
    folder = pathlib.Path(tempfile.mkdtemp())
    path = folder / "config.toml"
    path.write_text("".join(f"{key} = {_toml(value)}\n" for key, value in values.items()), encoding="utf-8")
    try:
        loaded = pos_settings.load(path)
    except pos_settings.SettingsError:
        return
    # What loads is what the app can use.
    assert isinstance(loaded.server_url, str) and isinstance(loaded.printer, str)
    assert isinstance(loaded.raster, bool) and loaded.paper_width in (32, 42, 48)
    assert loaded.language in pos_settings.LANGUAGES
