"""A real settlement server for tests: ``mykey-server demo-data`` in a tmp dir, uvicorn on 127.0.0.1.

Usage::

    from tests.support.server import running_server

    with running_server(tmp_path) as srv:
        httpx.get(srv.url + "/v1/health")
        srv.tokens["yamato-bakery-t1"], srv.cards["sato"]["card_key"], srv.db_path
        srv.kill()      # SIGKILL, as a power cut would
        srv.restart()   # same database, same port

The server runs as a subprocess (``python -m server.cli serve``) on an ephemeral port that is
kept across restarts, so clients holding ``url`` reach the restarted server.
"""

from __future__ import annotations

import json
import os
import pathlib
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpx

ROOT = pathlib.Path(__file__).resolve().parents[2]
START_SECONDS = 20.0


@dataclass
class TlsFiles:
    """A server certificate and key, and the CA file clients verify it with."""

    cert: pathlib.Path
    key: pathlib.Path
    ca: pathlib.Path


@dataclass
class RunningServer:
    """A live ``mykey-server serve`` subprocess and the demo data it serves."""

    directory: pathlib.Path
    db_path: pathlib.Path
    tokens: dict[str, str]
    cards: dict[str, dict[str, str | None]]
    tls: TlsFiles | None = None
    trust_ca: Sequence[pathlib.Path] = ()
    workers: int = 1
    port: int = 0
    #: A ``--db`` URL (``postgresql://…``) served instead of ``db_path``.
    db_url: str | None = None
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def database(self) -> str:
        """What ``--db`` names: the ``postgresql://`` URL, or the SQLite file."""
        return self.db_url or str(self.db_path)

    @property
    def url(self) -> str:
        """The base URL, e.g. ``http://127.0.0.1:41234``."""
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    @property
    def verify(self) -> ssl.SSLContext | bool:
        """What an httpx client passes as ``verify``: a context trusting the test CA under TLS."""
        return ssl.create_default_context(cafile=str(self.tls.ca)) if self.tls else True

    def client(self, principal: str | None = None, **options: object) -> httpx.Client:
        """A keep-alive client, authenticated as ``principal`` (a name in ``tokens``) when given."""
        headers = {"Authorization": f"Bearer {self.tokens[principal]}"} if principal else {}
        return httpx.Client(base_url=self.url, headers=headers, verify=self.verify, **options)  # type: ignore[arg-type]

    def start(self) -> None:
        """Start the server (on the port it had, if it ran before) and wait for ``/v1/health``."""
        command = [
            sys.executable, "-m", "server.cli", "serve", "--db", self.db_url or str(self.db_path),
            "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning",
        ]  # fmt: skip
        for ca in self.trust_ca:
            command += ["--trust-ca", str(ca)]
        if self.workers > 1:
            command += ["--workers", str(self.workers)]
        if self.tls:
            command += ["--tls-cert", str(self.tls.cert), "--tls-key", str(self.tls.key)]
        log = (self.directory / "server.log").open("ab")
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        # A session of its own, so that kill() takes worker processes down with their parent.
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=log, env=env, cwd=ROOT, start_new_session=True
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline().decode()
        if "listening on" not in line:
            self.process.kill()
            raise RuntimeError(f"server did not start: {line!r}; see {self.directory / 'server.log'}")
        self.port = int(line.rsplit(":", 1)[1])
        deadline = time.monotonic() + START_SECONDS
        while True:
            try:
                if httpx.get(self.url + "/v1/health", verify=self.verify, timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.stop()
                raise RuntimeError(f"server not healthy; see {self.directory / 'server.log'}")
            time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL the server, as a power cut would (what it acknowledged is on disk)."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        """Stop the server gracefully (SIGTERM, then SIGKILL after 10 s)."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
        if self.process is not None and self.process.stdout is not None:
            self.process.stdout.close()

    def restart(self) -> None:
        """Kill the server and start it again on the same port and database."""
        self.kill()
        self.stop()
        self.start()


def make_demo(
    directory: pathlib.Path,
    card_keys: Sequence[str] = (),
    trust_ca: Sequence[pathlib.Path] = (),
    db_url: str | None = None,
) -> None:
    """Run ``mykey-server demo-data --dir directory [--db URL]`` (as a user would)."""
    command = [sys.executable, "-m", "server.cli", "demo-data", "--dir", str(directory)]
    if db_url is not None:
        command += ["--db", db_url]
    for key in card_keys:
        command += ["--card-key", key]
    for ca in trust_ca:
        command += ["--trust-ca", str(ca)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    subprocess.run(command, check=True, capture_output=True, env=env, cwd=ROOT)


@contextmanager
def running_server(
    directory: pathlib.Path,
    *,
    card_keys: Sequence[str] = (),
    trust_ca: Sequence[pathlib.Path] = (),
    tls: TlsFiles | None = None,
    workers: int = 1,
    db_url: str | None = None,
) -> Iterator[RunningServer]:
    """Demo data in ``directory`` and a live server on it; stopped when the block ends.

    Args:
        directory: an empty directory (``tmp_path``); gets ``mykey.db``, ``tokens.json``,
            ``cards.json`` and ``server.log``.
        card_keys: extra card keys given demo balances (e.g. a virtual My Number Card's).
        trust_ca: CA certificates (PEM files) the database trusts for card certificates.
        tls: serve HTTPS with this certificate; clients verify with ``tls.ca``.
        workers: server worker processes (``serve --workers``).
        db_url: the demo data goes into this (empty) database, ``postgresql://…``, which the
            server serves (its processes need ``MYKEY_KEY`` or ``MYKEY_KEY_FILE`` in the environment).
    """
    make_demo(directory, card_keys, trust_ca, db_url)
    server = RunningServer(
        directory=directory,
        db_path=directory / "mykey.db",
        tokens=json.loads((directory / "tokens.json").read_text()),
        cards=json.loads((directory / "cards.json").read_text()),
        tls=tls,
        trust_ca=trust_ca,
        workers=workers,
        db_url=db_url,
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()
