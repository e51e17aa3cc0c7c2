"""The fault proxy does what the soak relies on: answers lost after the work is done, outages."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator

import httpx
import pytest

from tests.support.faultproxy import FaultPlan, FaultProxy


class CountingHandler(http.server.BaseHTTPRequestHandler):
    """Answers every POST with the number of POSTs seen so far."""

    seen = 0

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        type(self).seen += 1
        body = str(type(self).seen).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def upstream() -> Iterator[http.server.ThreadingHTTPServer]:
    CountingHandler.seen = 0
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), CountingHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def start_proxy(server: http.server.ThreadingHTTPServer, plan: FaultPlan) -> FaultProxy:
    return FaultProxy("127.0.0.1", server.server_address[1], plan).start()


def test_passes_traffic(upstream: http.server.ThreadingHTTPServer) -> None:
    proxy = start_proxy(upstream, FaultPlan())
    try:
        assert httpx.post(proxy.url + "/sale", content=b"x").text == "1"
    finally:
        proxy.stop()


def test_dropped_answer_means_the_server_did_the_work(upstream: http.server.ThreadingHTTPServer) -> None:
    proxy = start_proxy(upstream, FaultPlan(drop_answer=1.0))
    try:
        with pytest.raises(httpx.TransportError):
            httpx.post(proxy.url + "/sale", content=b"x", timeout=5)
        assert CountingHandler.seen == 1
        assert proxy.counts["drop_answer"] == 1
    finally:
        proxy.stop()


def test_cut_refuses_until_restored(upstream: http.server.ThreadingHTTPServer) -> None:
    proxy = start_proxy(upstream, FaultPlan())
    try:
        proxy.cut()
        with pytest.raises(httpx.TransportError):
            httpx.post(proxy.url + "/sale", content=b"x", timeout=5)
        assert CountingHandler.seen == 0
        proxy.cut(False)
        assert httpx.post(proxy.url + "/sale", content=b"x", timeout=5).text == "1"
    finally:
        proxy.stop()


def test_refuse_means_nothing_listens_until_restored(upstream: http.server.ThreadingHTTPServer) -> None:
    proxy = start_proxy(upstream, FaultPlan())
    try:
        proxy.refuse()
        with pytest.raises(httpx.ConnectError):  # refused at connect: the server cannot have heard it
            httpx.post(proxy.url + "/sale", content=b"x", timeout=5)
        assert CountingHandler.seen == 0
        proxy.refuse(False)
        assert httpx.post(proxy.url + "/sale", content=b"x", timeout=5).text == "1"
    finally:
        proxy.stop()
