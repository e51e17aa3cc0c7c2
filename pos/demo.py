"""``make demo``: the whole system on one machine, stopped again when the counter app quits.

1. ``mykey-server demo-data`` and ``mykey-server serve`` on 127.0.0.1 (a free port), in a fresh
   folder under the system temp dir;
2. cards: the virtual My Number Card (``python -m pos.virtualcard.vcard``) through pcscd's vpcd reader
   when pcscd and vpcd are installed and no one else holds the pcscd lock — **F6** puts it on the
   reader and takes it off; otherwise the simulated reader — **F6/F7** tap two residents' point
   cards, **F8** a My Number Card (PIN 1234), **F12** takes the card off;
3. the city's special site (``mykey-server site``) on another free port: the demo data's
   都城市特設サイト (``miyakonojo-tokusen``), six products of four Miyakonojo shops; a resident signs in
   and pays there with the demo My Number Card through ``mykey-pos card helper`` (the command
   printed; PIN 1234; every demo card holds Miyakonojo points);
4. the counter app in shop mode for the demo bakery; receipts go to a file printer
   (``receipts.bin`` in the demo folder) and to the on-screen preview.

``--desk`` (``make demo DESK=library`` or ``DESK=facility``) starts another desk instead:

- ``library``: the six Ariake libraries' SIP2 systems (the emulator of ``tests/support``) on a
  free loopback port, and the counter as the library desk of ``--library`` (default ``OMUTA``,
  大牟田市立図書館) with that library's token (``$MYKEY_POS_LIBRARY_TOKEN``); the resident 佐藤's
  point card (F6) is patron 1100000001 there, the My Number Card not yet (its first visit: type
  1100000002, 三池 太郎's library card); lending slips go to the file printer;
- ``facility``: Toshima's community centre 区民ひろば池袋 with its token
  (``$MYKEY_POS_FACILITY_TOKEN``): 佐藤's card is member H0000123, another card's first visit
  links any facility card number typed (e.g. H0000456).

Quitting the app (Ctrl+Q) or Ctrl+C stops everything the demo started: the server, the virtual
card and pcscd if the demo started it. The demo folder is removed only when nothing in it is
unconfirmed: no sale waiting in the journal for the server, no error the app logged, a clean exit
(:func:`keep_reason`); otherwise it stays, and the demo says where.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import pathlib
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator

import httpx

ROOT = pathlib.Path(__file__).resolve().parents[1]
PCSCD = "/usr/sbin/pcscd"
VPCD_CONF = pathlib.Path("/etc/reader.conf.d/vpcd")
PCSCD_LOCK = "/tmp/mykey-pcscd.lock"
PCSCD_COMM = pathlib.Path("/run/pcscd/pcscd.comm")
TERMINAL = "yamato-bakery-t1"
#: The demo's desks: (the counter's mode, the terminal whose config the counter loads).
DESKS = {
    "shop": ("shop", TERMINAL),
    "library": ("library", TERMINAL),
    "facility": ("facility", "toshima-award-1"),  # a Toshima terminal: the header names the city
}
#: The Ariake libraries the library desk may be (the emulator's institution ids).
LIBRARIES = ("OMUTA", "YANAGAWA", "MIYAMA", "NANKAN", "ARAO", "NAGASU")
FACILITY = "toshima-hiroba-ikebukuro"


def _python(*args: str) -> list[str]:
    return [sys.executable, "-m", *args]


@contextlib.contextmanager
def process(command: list[str], **options: object) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``command`` for the block; TERM it (KILL after 5 s) and reap it at the end."""
    proc = subprocess.Popen(command, cwd=ROOT, **options)  # type: ignore[call-overload]
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@contextlib.contextmanager
def server(directory: pathlib.Path, card_key: str, ca: pathlib.Path) -> Iterator[tuple[str, dict[str, str]]]:
    """Demo data and a live server on a free loopback port: ``(url, tokens)``."""
    subprocess.run(
        _python(
            "server.cli", "demo-data", "--dir", str(directory), "--card-key", card_key, "--trust-ca", str(ca)
        ),
        check=True,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    log = (directory / "server.log").open("ab")
    command = _python(
        "server.cli", "serve", "--db", str(directory / "mykey.db"), "--host", "127.0.0.1", "--port", "0"
    )
    with process(command, stdout=subprocess.PIPE, stderr=log) as proc:
        line = proc.stdout.readline().decode()
        if "listening on" not in line:
            raise RuntimeError(f"the server did not start; see {directory / 'server.log'}")
        url = line.split("listening on", 1)[1].strip()
        deadline = time.monotonic() + 20
        while True:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(url + "/v1/health", timeout=1).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"the server is not healthy; see {directory / 'server.log'}")
            time.sleep(0.1)
        yield url, json.loads((directory / "tokens.json").read_text())


#: The demo data's special site (``server.demo.MIYAKONOJO_SHOP``: six products of four shops, the
#: city keeps 10 %) and the program it accepts.
SITE_SHOP = "miyakonojo-tokusen"
SITE_NAME = "都城市特設サイト"
SITE_PROGRAM = "miyakonojo-points"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def site(directory: pathlib.Path, api_url: str, tokens: dict[str, str]) -> Iterator[str]:
    """The demo data's special site (in ``directory``) on a free loopback port: its URL.

    The site's origin is set to that address, so the card helper shows the resident the address
    their browser is on.
    """
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    database = str(directory / "mykey.db")
    subprocess.run(
        _python(
            "server.cli", "shop", "create", "--db", database, "--id", SITE_SHOP, "--name", SITE_NAME,
            "--merchant", "miyakonojo-shosha", "--city", "miyakonojo", "--origin", url,
            "--program", SITE_PROGRAM,
        ),
        check=True, cwd=ROOT, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    token_file = directory / "site.token"
    token_file.write_text(tokens[SITE_SHOP] + "\n")
    token_file.chmod(0o600)
    log = (directory / "site.log").open("ab")
    command = _python(
        "server.cli", "site", "--api", api_url, "--shop-token-file", str(token_file), "--port", str(port),
        "--name", SITE_NAME,
    )  # fmt: skip
    with process(command, stdout=log, stderr=log):
        deadline = time.monotonic() + 20
        while True:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(url + "/", timeout=1).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"the site did not start; see {directory / 'site.log'}")
            time.sleep(0.1)
        yield url


@contextlib.contextmanager
def sip2_libraries(directory: pathlib.Path) -> Iterator[dict[str, str]]:
    """The Ariake libraries' SIP2 systems on a free loopback port: institution id → ``sip2://`` address."""
    log = (directory / "sip2.log").open("ab")
    command = _python("tests.support.sip2_library", "--port", "0", "--data", "six-ariake")
    with process(command, stdout=subprocess.PIPE, stderr=log) as proc:
        addresses: dict[str, str] = {}
        while len(addresses) < len(LIBRARIES):
            line = proc.stdout.readline().decode()
            if not line:
                raise RuntimeError(f"the library systems did not start; see {directory / 'sip2.log'}")
            if found := re.search(r"'(sip2://[^']+/([A-Z]+)\?[^']*)'", line):
                addresses[found.group(2)] = found.group(1)
        yield addresses


def desk_environment(
    desk: str, tokens: dict[str, str], libraries: dict[str, str], library: str
) -> dict[str, str]:
    """What the counter reads from its environment for ``desk``: the desk's address and token.

    The SIP2 password and the desk's token go through the environment, not the command line
    (which every user of the machine can read).
    """
    if desk == "library":
        return {
            "MYKEY_POS_LIBRARY": libraries[library],
            "MYKEY_POS_LIBRARY_TOKEN": tokens[f"library-{library.lower()}"],
        }
    if desk == "facility":
        return {"MYKEY_POS_FACILITY_TOKEN": tokens[FACILITY]}
    return {}


def desk_hint(desk: str, library: str) -> str:
    """One line for the demo's user: what to type at the desk."""
    if desk == "library":
        n = LIBRARIES.index(library) + 11  # the emulator's numbers start with the library's number
        return (
            f"図書館カウンター {library}: 本のバーコード {n}90000001〜{n}90000012、"
            f"初回登録の利用者番号 {n}00000002、F4 貸出/返却"
        )
    if desk == "facility":
        return "施設の受付 区民ひろば池袋: 初回は施設カードの番号を入力 (例 H0000456)"
    return ""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """``python -m pos.demo [--desk shop|library|facility] [--library OMUTA]``."""
    parser = argparse.ArgumentParser(prog="make demo", description="The whole system on one machine.")
    parser.add_argument("--desk", choices=sorted(DESKS), default="shop", help="which counter to start")
    parser.add_argument(
        "--library", choices=LIBRARIES, default="OMUTA", help="the library desk's library (--desk library)"
    )
    return parser.parse_args(argv)


@contextlib.contextmanager
def pcscd_lock() -> Iterator[bool]:
    """Hold the machine's pcscd lock if it is free: ``True`` when the demo may use pcscd."""
    if not (os.path.exists(PCSCD) and VPCD_CONF.exists()):
        yield False
        return
    fd = os.open(PCSCD_LOCK, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        yield False  # tests are using pcscd right now: the demo takes the simulated reader
        return
    try:
        yield True
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _pcscd_running() -> bool:
    out = subprocess.run(["pgrep", "-x", "pcscd"], capture_output=True, check=False)
    return out.returncode == 0


@contextlib.contextmanager
def pcscd() -> Iterator[None]:
    """pcscd in the foreground for the demo's life, unless one is already running (then reused)."""
    if _pcscd_running():
        yield
        return
    with process([PCSCD, "-f", "-i"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL):
        deadline = time.monotonic() + 10
        while not PCSCD_COMM.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        yield


def keep_reason(work: pathlib.Path, exit_code: int | None) -> str | None:
    """Why the demo folder must stay (unsent sales, a logged error, an unclean exit), or ``None``."""
    journal_path = work / "journal.db"
    if journal_path.exists():
        from pos.journal import EntryState, Journal

        try:
            journal = Journal(journal_path)
        except Exception as exc:  # an unreadable journal is data we cannot vouch for
            return f"the journal cannot be read ({exc})"
        try:
            waiting = journal.count(EntryState.PENDING) + journal.count(EntryState.OFFLINE)
            unprinted = len(journal.unprinted())
        finally:
            journal.close()
        if waiting:
            return f"{waiting} sales the server has not confirmed (未送信 {waiting} 件)"
        if unprinted:
            return f"{unprinted} receipts not printed"
    if (work / "errors.log").exists():
        return f"the app logged errors ({work / 'errors.log'})"
    if exit_code not in (0, None):
        return f"the app ended with status {exit_code}"
    return None


def main(argv: list[str] | None = None) -> int:
    """Start the server, the cards (and the library systems) and the counter app; stop them all at its end."""
    from pos.app import build
    from pos.app import parse_args as counter_args
    from pos.card.simulated import SimulatedReader, demo_jpki_card
    from pos.virtualcard.credentials import CardCredentials

    options = parse_args(sys.argv[1:] if argv is None else argv)
    mode, terminal = DESKS[options.desk]
    work = pathlib.Path(tempfile.mkdtemp(prefix="mykey-demo-"))
    credentials = CardCredentials.load_or_create(work / "card")
    # Ctrl+C reaches the app as a key; a SIGTERM to the demo, or a SIGHUP when its terminal window is
    # closed, ends it through the same cleanup (else the pcscd it started stays, holding the readers).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGHUP, lambda *_: sys.exit(0))
    with contextlib.ExitStack() as stack:
        url, tokens = stack.enter_context(
            server(work / "server", credentials.card_key, work / "card" / "ca.pem")
        )
        site_url = stack.enter_context(site(work / "server", url, tokens))
        libraries = stack.enter_context(sip2_libraries(work)) if options.desk == "library" else {}
        os.environ.update(desk_environment(options.desk, tokens, libraries, options.library))
        args = [
            "--config", str(work / "config.toml"), "--server", url, "--token", tokens[terminal],
            "--printer", f"file://{work / 'receipts.bin'}", "--journal", str(work / "journal.db"),
            "--mode", mode,
        ]  # fmt: skip
        toggle = None
        simulated = None
        if stack.enter_context(pcscd_lock()):
            stack.enter_context(pcscd())
            card = stack.enter_context(
                process(
                    _python("pos.virtualcard.vcard", "--dir", str(work / "card"), "--removed"),
                    stdin=subprocess.DEVNULL,  # the app's keys are not the card's
                    stdout=subprocess.DEVNULL,
                )
            )

            def toggle() -> None:
                os.kill(card.pid, signal.SIGUSR1)

            args += ["--reader", "pcsc"]
            how = "F6: マイナンバーカード(仮想, PIN 1234)をかざす/外す"
            helper = f"mykey-pos card helper --server {url}   (F6 でカードを置いてから)"
        else:
            cards = json.loads((work / "server" / "cards.json").read_text())
            uids = [c["uid"] for c in cards.values() if c.get("uid")][:2]
            simulated = [SimulatedReader.uid_card(uid) for uid in uids] + [demo_jpki_card(credentials)]
            args += ["--reader", "sim"]
            how = "F6/F7: ポイントカード、F8: マイナンバーカード(PIN 1234)、F12: カードを外す"
            helper = f"mykey-pos card helper --server {url} --reader sim --sim-card {work / 'card'}"
        print(
            f"mykey-pos demo in {work}\n  server {url}\n  {how}\n  receipts: {work / 'receipts.bin'}"
            f"\n  特設サイト {site_url}  (サインイン: 別の端末で {helper}、PIN 1234)"
        )
        if hint := desk_hint(options.desk, options.library):
            print(f"  {hint}")
        app = build(counter_args(args), simulated_cards=simulated, card_toggle=toggle)
        exit_code: int | None = 1  # until the app returns normally
        try:
            app.run()
            exit_code = app.return_code
        finally:
            stack.close()  # stop the server before its database is judged
            reason = keep_reason(work, exit_code) or (
                "MYKEY_DEMO_KEEP=1" if os.environ.get("MYKEY_DEMO_KEEP") == "1" else None
            )
            if reason is None:
                shutil.rmtree(work, ignore_errors=True)
            else:
                print(
                    f"mykey-pos demo: kept {work} because of {reason}.\n  journal: {work / 'journal.db'}"
                    f"\n  server database: {work / 'server' / 'mykey.db'}",
                    file=sys.stderr,
                )
    return 0 if exit_code in (0, None) else 1


if __name__ == "__main__":
    sys.exit(main())
