"""The counter app end to end in a real terminal (tmux): real server, real pcscd with the virtual
My Number Card on vpcd, the TCP test printer. Keys go in with ``send-keys``; the screen comes
back with ``capture-pane``.
"""

from __future__ import annotations

import os
import pathlib
import shlex
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator

import pytest

from pos.virtualcard.credentials import CardCredentials
from tests.support.pcscd import empty_readers, pcscd  # noqa: F401  (fixtures used by name)
from tests.support.server import ROOT, running_server
from tests.support.tcp_printer import TcpPrinter

pytestmark = [pytest.mark.pcscd, pytest.mark.slow]


class Tmux:
    """One tmux session of our own, named after this process, killed at the end."""

    def __init__(self, command: str, env: dict[str, str]) -> None:
        self.name = f"mykey-counter-{os.getpid()}"
        exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        subprocess.run(
            [
                "tmux",
                "new-session",
                "-d",
                "-s",
                self.name,
                "-x",
                "110",
                "-y",
                "40",
                f"env {exports} {command}",
            ],
            check=True,
        )

    def keys(self, *keys: str) -> None:
        subprocess.run(["tmux", "send-keys", "-t", self.name, *keys], check=True)

    def screen(self) -> str:
        out = subprocess.run(["tmux", "capture-pane", "-p", "-t", self.name], capture_output=True, text=True)
        return out.stdout

    def wait_for(self, text: str, timeout: float = 15.0) -> str:
        """The screen once ``text`` is on it."""
        return self.wait_until(lambda screen: text in screen, timeout, f"{text!r} not on screen")

    def wait_until(self, done: Callable[[str], bool], timeout: float = 15.0, what: str = "") -> str:
        """The screen once ``done(screen)`` holds; an AssertionError with the screen after ``timeout``."""
        end = time.monotonic() + timeout
        while not done(screen := self.screen()):
            if time.monotonic() > end:
                raise AssertionError(f"{what or 'the screen did not change as expected'}:\n{screen}")
            time.sleep(0.1)
        return screen

    def close(self) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.name], check=False, capture_output=True)


def selected_program(screen: str) -> str:
    """The program line the payment screen marks with ▶ (empty when none is)."""
    return next(
        (line.split("▶", 1)[1].split("│")[0].strip() for line in screen.splitlines() if "▶" in line), ""
    )


@pytest.fixture
def virtual_card(
    tmp_path: pathlib.Path, request: pytest.FixtureRequest
) -> Iterator[tuple[CardCredentials, subprocess.Popen[bytes]]]:
    """The virtual My Number Card process, starting off the reader; SIGUSR1 puts it on / takes it off.

    pcscd runs under the machine-wide lock for the whole test (``empty_readers``).
    """
    request.getfixturevalue("empty_readers")
    credentials = CardCredentials.load_or_create(tmp_path / "card")
    proc = subprocess.Popen(
        [sys.executable, "-m", "pos.virtualcard.vcard", "--dir", str(tmp_path / "card"), "--removed"],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        yield credentials, proc
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_a_pin_sale_in_tmux_through_pcscd_to_the_tcp_printer(
    tmp_path: pathlib.Path, virtual_card: tuple[CardCredentials, subprocess.Popen[bytes]]
) -> None:
    credentials, card = virtual_card
    with (
        running_server(
            tmp_path / "srv", card_keys=[credentials.card_key], trust_ca=[tmp_path / "card" / "ca.pem"]
        ) as server,
        TcpPrinter() as printer,
    ):
        command = shlex.join(
            [
                sys.executable, "-m", "pos.cli", "--config", str(tmp_path / "config.toml"),
                "--server", server.url, "--token", server.tokens["yamato-bakery-t1"],
                "--printer", printer.url, "--reader", "pcsc", "--journal", str(tmp_path / "journal.db"),
            ]
        )  # fmt: skip
        env = {"PYTHONPATH": str(ROOT), "XDG_CONFIG_HOME": str(tmp_path)}
        tmux = Tmux(f"bash -c {shlex.quote(f'cd {ROOT} && {command}')}", env)
        try:
            tmux.wait_for("カードをタッチしてください")
            tmux.keys("F1")
            tmux.wait_for("金額")
            tmux.keys("3500", "Enter")
            tmux.wait_for("合計 ¥3,500")
            os.kill(card.pid, signal.SIGUSR1)  # the resident taps the card
            screen = tmux.wait_for("天理めぐみめぐるポイント: 5,000 pt")
            for _ in range(4):  # the program order follows expiry: pick 天理めぐみ
                if "めぐるポイントのポイント" in screen:
                    break
                chosen = selected_program(screen)
                tmux.keys("F2")
                # One F2 at a time: on a loaded machine the screen lags behind the key.
                screen = tmux.wait_until(lambda now, was=chosen: selected_program(now) != was)
            tmux.keys("3500", "Enter")
            time.sleep(0.3)
            tmux.keys("Enter")
            time.sleep(0.3)
            tmux.keys("Enter")
            tmux.wait_for("暗証番号(4桁)")
            assert "残り回数: 3" in tmux.screen()
            tmux.keys("1234", "Enter")
            screen = tmux.wait_for("レシート 1")  # the preview, decoded from the bytes sent
            assert "登録番号 T1234567890123" in screen
            (job,) = printer.wait_for_jobs(1)
            paper = "\n".join(job.lines)
            assert "やまとベーカリー" in paper and "3,500 pt" in paper
            tmux.keys("C-q")
        finally:
            tmux.close()
        with sqlite3.connect(server.db_path) as db:
            assert db.execute("SELECT count(*) FROM sales").fetchone()[0] == 1
