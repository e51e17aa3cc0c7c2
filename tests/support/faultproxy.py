"""A TCP proxy on loopback that loses answers on purpose, for the soak and sync tests.

Between terminals and the server it can pass traffic, delay it, drop a connection after the
request went through but before the answer comes back (the sale is applied, the terminal does
not know), or cut the link entirely (terminals go offline). Runs its own asyncio loop in a
thread so synchronous tests can steer it.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import threading
from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum


class Fault(StrEnum):
    """What the proxy does to the next connection."""

    PASS = "pass"
    #: Forward the request, let the server answer, then close on the client without the answer.
    DROP_ANSWER = "drop_answer"
    #: Refuse new connections and cut open ones (a network outage).
    CUT = "cut"


@dataclass
class FaultPlan:
    """Random faults: each connection draws one; ``delay_s`` is added before forwarding."""

    drop_answer: float = 0.0
    delay_s: float = 0.0
    seed: int = 0
    rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)


class FaultProxy:
    """Forwards ``127.0.0.1:<port>`` to ``upstream`` with injected faults; counts what it did."""

    def __init__(self, upstream_host: str, upstream_port: int, plan: FaultPlan | None = None) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.plan = plan or FaultPlan()
        self.counts: Counter[str] = Counter()
        self.port = 0
        self._cut = False
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._thread = threading.Thread(target=self._run, name="faultproxy", daemon=True)

    # Control, from any thread -----------------------------------------------------------

    def start(self) -> FaultProxy:
        """Start listening; returns self with :attr:`port` set."""
        self._thread.start()
        self._ready.wait(5)
        return self

    def stop(self) -> None:
        """Close every connection and the listener, and end the thread."""
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def cut(self, on: bool = True) -> None:
        """Start (or end) an outage: open connections are closed, new ones reset."""
        self._cut = on
        if on:
            self.counts["cut"] += 1
            self._loop.call_soon_threadsafe(self._close_all)

    def refuse(self, on: bool = True) -> None:
        """Stop (or start again) listening on :attr:`port`: connections are refused, as with the server
        host down, and open ones are cut. Unlike :meth:`cut`, the client cannot have been heard."""
        asyncio.run_coroutine_threadsafe(self._listen(not on), self._loop).result(5)
        if on:
            self.counts["refuse"] += 1

    def retarget(self, host: str, port: int) -> None:
        """Point at a restarted server (a new port)."""
        self.upstream = (host, port)

    @property
    def url(self) -> str:
        """The proxy's base URL for HTTP clients."""
        return f"http://127.0.0.1:{self.port}"

    # The loop ----------------------------------------------------------------------------

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(asyncio.start_server(self._handle, "127.0.0.1", 0))
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            if self._server is not None:
                self._server.close()
            self._close_all()
            with contextlib.suppress(Exception):
                self._loop.run_until_complete(asyncio.sleep(0))
            self._loop.close()

    async def _listen(self, on: bool) -> None:
        if on and self._server is None:
            self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        elif not on and self._server is not None:
            self._server.close()
            self._server = None
            self._close_all()

    def _close_all(self) -> None:
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._cut:
            self.counts["refused"] += 1
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            self.counts["upstream_down"] += 1
            writer.transport.abort()
            return
        self._writers.update((writer, up_writer))
        try:
            await asyncio.gather(
                self._pump(reader, up_writer, to_server=True),
                self._pump(up_reader, writer, to_server=False),
            )
        finally:
            for w in (writer, up_writer):
                self._writers.discard(w)
                w.transport.abort()

    async def _pump(
        self, source: asyncio.StreamReader, sink: asyncio.StreamWriter, *, to_server: bool
    ) -> None:
        while True:
            try:
                data = await source.read(65536)
            except (ConnectionError, OSError):
                break
            if not data or self._cut:
                break
            if to_server and self.plan.delay_s:
                await asyncio.sleep(self.plan.delay_s * self.plan.rng.random())
            if not to_server and self.plan.rng.random() < self.plan.drop_answer:
                # The server has done the work; the client never hears of it.
                self.counts["drop_answer"] += 1
                break
            self.counts["bytes_up" if to_server else "bytes_down"] += len(data)
            try:
                sink.write(data)
                await sink.drain()
            except (ConnectionError, OSError):
                break
        with contextlib.suppress(Exception):
            sink.transport.abort()
