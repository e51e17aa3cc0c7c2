"""``mykey-server site``: serve the special site with uvicorn (its own process, a client of the API)."""

from __future__ import annotations

import pathlib

import uvicorn

from server.site.app import create_site
from server.site.client import Api


def serve(
    api_url: str,
    shop_token_file: pathlib.Path,
    *,
    host: str = "127.0.0.1",
    port: int = 8100,
    name: str = "特設サイト",
    tls_cert: pathlib.Path | None = None,
    tls_key: pathlib.Path | None = None,
    api_ca: pathlib.Path | None = None,
) -> None:
    """Serve the site until interrupted; the shop token is read from a file (never a command line)."""
    token = shop_token_file.read_text(encoding="utf-8").strip()
    api = Api(api_url, token, verify=str(api_ca) if api_ca else True)
    app = create_site(api, name=name, secure=True if tls_cert else None)
    uvicorn.run(
        app,
        host=host,
        port=port,
        ssl_certfile=str(tls_cert) if tls_cert else None,
        ssl_keyfile=str(tls_key) if tls_key else None,
        log_level="warning",
        # The access log would show paths only (no code, token or secret is ever in a URL).
        access_log=True,
    )
