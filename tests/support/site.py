"""The special site for tests: ``mykey-server site`` as a subprocess beside a live server, on 127.0.0.1.

Usage::

    with running_server(tmp / "srv", card_keys=[key], trust_ca=[ca]) as srv, served_site(srv, tmp) as site:
        site.url            # http://127.0.0.1:PORT
        site.shop_token     # the online_shop token it runs with
        site.helper(code, "--reader", "sim", "--sim-card", dir, typed="1234\\n")   # the card helper
"""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx

from server import admin, approvals, db, ledger
from tests.support.browser import ROOT, free_port
from tests.support.server import RunningServer

SHOP_ID = "tenri-tokusen"
SITE_NAME = "天理のおみやげ特設サイト"


@dataclass
class ServedSite:
    url: str
    api_url: str
    shop_token: str
    process: subprocess.Popen[bytes]

    def helper(self, code: str, *extra: str, typed: str = "") -> subprocess.CompletedProcess[str]:
        """``mykey-pos card helper`` as its own process with no terminal (getpass reads stdin)."""
        return subprocess.run(
            [sys.executable, "-m", "pos.cli", "card", "helper", "--server", self.api_url, "--code", code,
             "--yes", "--timeout", "20", *extra],
            input=typed, capture_output=True, text=True, timeout=60, start_new_session=True, cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)}, check=False,
        )  # fmt: skip


def add_shop(database: str | pathlib.Path, origin: str) -> str:
    """The demo city's online shop (run by the demo bakery, accepting tenri-megumi) and its token."""
    conn = db.connect(database)
    with db.atomic(conn):
        approvals.add_shop(
            conn, SHOP_ID, SITE_NAME, merchant_id="yamato-bakery", city_id="tenri", origin=origin,
            programs=["tenri-megumi"], now=ledger.utc_now(),
        )  # fmt: skip
        token = admin.add_principal(conn, SHOP_ID, "online_shop", shop_id=SHOP_ID)
    conn.close()
    return token


@contextmanager
def served_site(server: RunningServer, directory: pathlib.Path) -> Iterator[ServedSite]:
    """The site for ``server``'s demo data, served until the block ends."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    token = add_shop(server.database, url)
    directory.mkdir(parents=True, exist_ok=True)
    token_file = directory / "shop.token"
    token_file.write_text(token)
    token_file.chmod(0o600)
    log = (directory / "site.log").open("ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "site", "--api", server.url,
         "--shop-token-file", str(token_file), "--port", str(port), "--name", SITE_NAME],
        cwd=ROOT, stdout=log, stderr=log, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(url + "/", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the site did not start; see {directory / 'site.log'}")
            time.sleep(0.1)
        yield ServedSite(url, server.url, token, proc)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
