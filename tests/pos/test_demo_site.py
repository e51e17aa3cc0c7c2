"""``make demo``'s special site as the demo starts it, signed in with the shared demo card.

The demo's own pieces (:func:`pos.demo.server`, :func:`pos.demo.site`: real subprocesses) and the
card helper the demo tells the resident to run, on the simulated reader with the demo's saved card
(PIN 1234), as when pcscd is not there; the site's pages are fetched as a browser without
JavaScript would (the browser tests drive chromium).
"""

from __future__ import annotations

import os
import pathlib
import re
import subprocess
import sys

import httpx

from pos import demo
from pos.virtualcard.credentials import CardCredentials


def test_the_demo_site_signs_the_shared_demo_card_in_and_shows_its_balance(tmp_path: pathlib.Path) -> None:
    credentials = CardCredentials.load_or_create(tmp_path / "card")
    with (
        demo.server(tmp_path / "server", credentials.card_key, tmp_path / "card" / "ca.pem") as (
            url,
            tokens,
        ),
        demo.site(tmp_path / "server", url, tokens) as site_url,
        httpx.Client(base_url=site_url) as browser,
    ):
        page = browser.get("/signin")
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert csrf, page.text
        assert browser.post("/signin", data={"csrf": csrf[1]}).status_code == 303
        wait = browser.get("/signin/wait")
        code = re.search(r'id="user-code">([A-Z0-9-]{9})<', wait.text)
        assert code, wait.text
        helper = subprocess.run(
            [sys.executable, "-m", "pos.cli", "card", "helper", "--server", url, "--code", code[1], "--yes",
             "--reader", "sim", "--sim-card", str(tmp_path / "card")],
            input="1234\n", capture_output=True, text=True, timeout=60, start_new_session=True,
            env={**os.environ, "PYTHONPATH": str(demo.ROOT)}, check=False,
        )  # fmt: skip
        assert helper.returncode == 0, helper.stdout + helper.stderr
        assert demo.SITE_NAME in helper.stdout and site_url in helper.stdout
        done = browser.get("/signin/wait")
        assert done.status_code == 303 and done.headers["location"] == "/me"
        mine = browser.get("/me")
        assert mine.status_code == 200 and "20,000" in mine.text, mine.text
        # The demo's shop has something to sell: the Miyakonojo shops' products.
        catalogue = browser.get("/products")
        assert catalogue.status_code == 200 and "金霧島" in catalogue.text, catalogue.text
