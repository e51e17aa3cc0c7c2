"""The settlement console served to Chromium: ``mykey-settle serve`` as a subprocess, pages that read it.

Usage::

    with served_console(srv.url, "--period", "2026-11") as console, chromium() as browser:
        tab = ConsoleTab.open(browser, console.url)
        tab.wait_for("サインイン")
        tab.type("mk_...")  # and Enter

The page draws the terminal on a canvas, so a tab reads what the console sent over its websocket
(Playwright sees the frames) through a pyte screen: the text a clerk would see. Debian's chromium
is used as it is; nothing is downloaded.
"""

from __future__ import annotations

import os
import pathlib
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpx
import pyte
from playwright.sync_api import Browser, Page, WebSocket, sync_playwright

ROOT = pathlib.Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]  # fmt: skip


def free_port() -> int:
    """A port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class ServedConsole:
    """A live ``mykey-settle serve`` subprocess."""

    url: str
    process: subprocess.Popen[bytes]

    def sessions(self) -> list[int]:
        """The pids of its console session processes (``... cli session ...``)."""
        found = []
        for entry in pathlib.Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                cmdline = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            if parent == self.process.pid and b"session" in cmdline:
                found.append(int(entry.name))
        return found


@contextmanager
def served_console(
    server_url: str,
    *args: str,
    env: dict[str, str] | None = None,
    scheme: str = "http",
    verify: object = True,
) -> Iterator[ServedConsole]:
    """``mykey-settle serve --url server_url ARGS`` on a free loopback port, until the block ends.

    It waits for the page rather than reading the start-up line, so it serves any version of the
    launcher (a test can be run against the code before a change).
    """
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "server.console.cli",
        "serve",
        "--url",
        server_url,
        "--port",
        str(port),
        *args,
    ]
    environment = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    process = subprocess.Popen(
        command, cwd=ROOT, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"{scheme}://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(url + "/", timeout=2, verify=verify).status_code == 200:  # type: ignore[arg-type]
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("mykey-settle serve did not start")
            time.sleep(0.1)
        yield ServedConsole(url, process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def chromium() -> Iterator[Browser]:
    """Debian's headless chromium through Playwright."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class ConsoleTab:
    """One browser tab on the console, in a browser context of its own (no shared cookies or storage)."""

    page: Page
    screen: pyte.Screen = field(default_factory=lambda: pyte.Screen(240, 80))

    def __post_init__(self) -> None:
        self.stream = pyte.ByteStream(self.screen)
        self.page.on("websocket", self._watch)

    @classmethod
    def open(cls, browser: Browser, url: str, **context: object) -> ConsoleTab:
        """A new context and page, loading ``url``."""
        page = browser.new_context(viewport={"width": 1500, "height": 900}, **context).new_page()  # type: ignore[arg-type]
        tab = cls(page)
        page.goto(url)
        return tab

    def _watch(self, websocket: WebSocket) -> None:
        def received(payload: str | bytes) -> None:
            if isinstance(payload, bytes):  # terminal output; text frames are textual-serve's own
                self.stream.feed(payload)

        websocket.on("framereceived", received)

    def text(self) -> str:
        """What the terminal shows now."""
        return "\n".join(line.rstrip() for line in self.screen.display)

    def wait_for(self, check: str | Callable[[str], bool], seconds: float = 30.0) -> str:
        """Wait until the screen shows ``check`` (a text, or a test of the text); return the text."""
        test = (lambda text: check in text) if isinstance(check, str) else check
        deadline = time.monotonic() + seconds
        while not test(text := self.text()):
            if time.monotonic() > deadline:
                raise AssertionError(f"not on screen: {check!r}\n{text}")
            self.page.wait_for_timeout(100)
        return text

    def type(self, text: str, enter: bool = True) -> None:
        """Type into the terminal as a clerk would, then Enter."""
        self.page.focus(".xterm-helper-textarea")
        self.page.keyboard.type(text)
        if enter:
            self.page.keyboard.press("Enter")
