"""``make demo DESK=library|facility``: the demo's server, the Ariake libraries' SIP2 systems and the
counter built as the demo builds it, each desk asking the server with its own token from the
environment (``$MYKEY_POS_LIBRARY_TOKEN``, ``$MYKEY_POS_FACILITY_TOKEN``)."""

from __future__ import annotations

import contextlib
import json
import pathlib
from collections.abc import Iterator

import pytest

from pos import demo
from pos.app import build, parse_args
from pos.card.simulated import SimulatedReader
from pos.library.errors import LibraryDown
from pos.library.sip2 import Sip2Client, system_from_url
from pos.screens.facility import FacilityScreen
from pos.screens.library import LibraryScreen
from pos.virtualcard.credentials import CardCredentials
from tests.pos.app.helpers import ready, settle, text_of

DemoServer = tuple[pathlib.Path, str, dict[str, str]]
ENV = ("MYKEY_POS_LIBRARY", "MYKEY_POS_LIBRARY_TOKEN", "MYKEY_POS_FACILITY_TOKEN")


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    """The demo's own server (``mykey-server demo-data`` and ``serve`` as subprocesses)."""
    work = tmp_path_factory.mktemp("demo")
    credentials = CardCredentials.load_or_create(work / "card")
    with demo.server(work / "server", credentials.card_key, work / "card" / "ca.pem") as (url, tokens):
        yield work, url, tokens


def counter(work: pathlib.Path, url: str, tokens: dict[str, str], desk: str, tmp: pathlib.Path):  # type: ignore[no-untyped-def]
    mode, terminal = demo.DESKS[desk]
    args = [
        "--config", str(tmp / "config.toml"), "--server", url, "--token", tokens[terminal],
        "--printer", f"file://{tmp / 'receipts.bin'}", "--journal", str(tmp / "journal.db"),
        "--mode", mode, "--reader", "sim", "--language", "ja",
    ]  # fmt: skip
    cards = json.loads((work / "server" / "cards.json").read_text())
    sato = SimulatedReader.uid_card(cards["sato"]["uid"])
    return build(parse_args(args), simulated_cards=[sato]), cards["sato"]["card_key"]


def test_the_demo_starts_the_six_ariake_libraries_and_stops_them(tmp_path: pathlib.Path) -> None:
    with demo.sip2_libraries(tmp_path) as libraries:
        assert sorted(libraries) == sorted(demo.LIBRARIES)
        system = system_from_url(libraries["YANAGAWA"])
        assert system.name == "柳川市立図書館"
        with Sip2Client(system) as client:
            assert client.patron_status("1200000001").valid is True
    with pytest.raises(LibraryDown), Sip2Client(system_from_url(libraries["OMUTA"])) as client:
        client.patron_status("1100000001")  # the emulator was stopped with the demo


async def test_the_library_desk_asks_the_server_with_the_librarys_token(
    demo_server: DemoServer, tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work, url, tokens = demo_server
    with contextlib.ExitStack() as stack:
        libraries = stack.enter_context(demo.sip2_libraries(tmp_path))
        for name in ENV:
            monkeypatch.delenv(name, raising=False)
        environment = demo.desk_environment("library", tokens, libraries, "OMUTA")
        assert environment["MYKEY_POS_LIBRARY_TOKEN"] == tokens["library-omuta"]
        # Without the library's token the desk asks with the bakery terminal's, which the server refuses.
        monkeypatch.setenv("MYKEY_POS_LIBRARY", environment["MYKEY_POS_LIBRARY"])
        app, sato = counter(work, url, tokens, "library", tmp_path)
        assert app.library is not None
        with pytest.raises(LookupError):
            app.library.patron_for_card(sato)
        for name, value in environment.items():
            monkeypatch.setenv(name, value)
        app, sato = counter(work, url, tokens, "library", tmp_path)
        assert app.library is not None and app.library.patron_for_card(sato) == "1100000001"
        async with app.run_test(size=(100, 34)) as pilot:
            await ready(pilot)
            assert isinstance(app.screen, LibraryScreen)
            await pilot.press("f6")  # 佐藤's point card on the simulated reader
            await settle(pilot)
            assert "有明 花子" in text_of(pilot, "#patron")


async def test_the_facility_desk_records_entries_with_the_facilitys_token(
    demo_server: DemoServer, tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work, url, tokens = demo_server
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    # Without the facility's token the desk asks with the terminal's: the server says it may not.
    app, _sato = counter(work, url, tokens, "facility", tmp_path / "untokened")
    assert app.facility is None
    async with app.run_test(size=(100, 34)) as pilot:
        await ready(pilot)
        await settle(pilot)
        assert "(forbidden)" in text_of(pilot, "#message")
    for name, value in demo.desk_environment("facility", tokens, {}, "OMUTA").items():
        monkeypatch.setenv(name, value)
    app, _sato = counter(work, url, tokens, "facility", tmp_path)
    assert app.facility is not None
    async with app.run_test(size=(100, 34)) as pilot:
        await ready(pilot)
        assert isinstance(app.screen, FacilityScreen)
        await settle(pilot)
        assert text_of(pilot, "#facility") == "区民ひろば池袋"
        await pilot.press("f6")
        await settle(pilot)
        assert "H0000123" in text_of(pilot, "#member")
        assert "本日の入館 1人" in text_of(pilot, "#today")


def test_the_demo_takes_a_desk_and_a_library() -> None:
    assert demo.parse_args([]).desk == "shop"
    chosen = demo.parse_args(["--desk", "library", "--library", "MIYAMA"])
    assert (chosen.desk, chosen.library) == ("library", "MIYAMA")
    assert "1390000001" in demo.desk_hint("library", "MIYAMA")
    with pytest.raises(SystemExit):
        demo.parse_args(["--desk", "museum"])
