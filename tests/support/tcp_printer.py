"""A receipt printer on 127.0.0.1 (an ephemeral port) that captures ESC/POS jobs, with faults.

It behaves like a network printer's raw port: one connection is one job, it answers ``DLE EOT``
status requests (paper out, cover open when told), and closes its side once the client has
half-closed and everything is read. Faults are switched at any time:

- :meth:`TcpPrinter.refuse` — connections are refused (the port stays reserved);
- ``stall = True`` — connections are accepted and never read;
- ``close_after = N`` — the printer drops the connection after N bytes of a job;
- ``paper_out`` / ``cover_open`` / ``fault`` — what status answers say;
- ``runs_out_after = N`` — the paper runs out once a job has brought N bytes;
- ``answers_status = False`` — status requests go unanswered (a cheap printer).

Use it as a context manager or through the :func:`tcp_printer` fixture::

    with TcpPrinter() as printer:
        open_printer(printer.url).send(data)
        [job] = printer.wait_for_jobs(1)
        assert "合計" in "\\n".join(job.lines)
"""

from __future__ import annotations

import contextlib
import re
import select
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from printers import decode

_STATUS_REQUEST = re.compile(rb"\x10\x04([\x01-\x04])")
_STATUS_AT_END = re.compile(rb"\x10\x04[\x01-\x04]\Z")


@dataclass
class Job:
    """What one connection delivered; ``complete`` when the client finished it (half-close)."""

    raw: bytes = b""
    complete: bool = False
    dropped: bool = False

    @property
    def data(self) -> bytes:
        """The job without the status requests sent before and after it."""
        data = self.raw
        while (match := _STATUS_REQUEST.match(data)) is not None:
            data = data[match.end() :]
        while (match := _STATUS_AT_END.search(data)) is not None:
            data = data[: match.start()]
        return data

    @property
    def lines(self) -> list[str]:
        """The job decoded to text lines (see :func:`printers.decode`)."""
        return decode(self.data)


@dataclass
class TcpPrinter:
    """A loopback TCP printer capturing jobs (see the module docstring for faults)."""

    host: str = "127.0.0.1"
    stall: bool = False
    close_after: int | None = None
    paper_out: bool = False
    cover_open: bool = False
    #: An error of the printer's own (paper or cutter jam).
    fault: bool = False
    answers_status: bool = True
    #: The paper runs out once a job has brought this many bytes (status says so from then on).
    runs_out_after: int | None = None
    jobs: list[Job] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Condition()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._connections: list[socket.socket] = []
        self._listener = socket.create_server((self.host, 0))
        self.port: int = self._listener.getsockname()[1]
        self._blocker: socket.socket | None = None
        self._accepting = threading.Thread(target=self._accept_loop, name="tcp-printer", daemon=True)
        self._accepting.start()

    @property
    def url(self) -> str:
        """The address to hand to :func:`printers.open_printer`."""
        return f"tcp://{self.host}:{self.port}"

    # Faults ------------------------------------------------------------------------

    def refuse(self) -> None:
        """Refuse connections from now on, like a printer switched off: open jobs are dropped, the
        port stays bound, but nothing listens."""
        self._listener.close()
        # The accept thread's select() keeps the listening socket alive until it returns.
        self._accepting.join(timeout=2)
        with self._lock:
            for conn in self._connections:
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
                    conn.close()
            blocker = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            blocker.bind((self.host, self.port))  # bound, not listening: connect gets RST
            self._blocker = blocker

    def accept(self) -> None:
        """Take connections again after :meth:`refuse`."""
        with self._lock:
            if self._blocker is None:
                return
            self._blocker.close()
            self._blocker = None
            self._listener = socket.create_server((self.host, self.port))
            self._accepting = threading.Thread(target=self._accept_loop, name="tcp-printer", daemon=True)
            self._accepting.start()

    # Jobs --------------------------------------------------------------------------

    def wait_for_jobs(self, count: int, timeout: float = 5.0) -> list[Job]:
        """The first ``count`` finished jobs (complete or dropped), waiting up to ``timeout``.

        Raises:
            AssertionError: fewer jobs finished in time.
        """
        end = time.monotonic() + timeout
        with self._lock:
            while True:
                done = [job for job in self.jobs if job.complete or job.dropped]
                if len(done) >= count:
                    return done[:count]
                left = end - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"expected {count} job(s), got {len(done)}")
                self._lock.wait(left)

    def clear(self) -> list[Job]:
        """Forget the jobs captured so far (e.g. between rounds of a soak test) and return them."""
        with self._lock:
            taken, self.jobs = self.jobs, []
        return taken

    # Serving -----------------------------------------------------------------------

    def _accept_loop(self) -> None:
        listener = self._listener
        while not self._stop.is_set():
            try:
                ready, _, _ = select.select([listener], [], [], 0.05)
                if not ready:
                    continue
                conn, _ = listener.accept()
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except (OSError, ValueError):  # closed by refuse() or close()
                return
            job = Job()
            with self._lock:
                self.jobs.append(job)
                self._connections.append(conn)
            thread = threading.Thread(target=self._serve, args=(conn, job), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _answer(self, request: int) -> bytes:
        if request == 1:
            return bytes([0x16 | (0x08 if self.paper_out or self.cover_open or self.fault else 0)])
        if request == 2:
            offline = 0x20 if self.paper_out else 0
            return bytes([0x12 | offline | (0x04 if self.cover_open else 0) | (0x40 if self.fault else 0)])
        if request == 4:
            return bytes([0x12 | (0x60 if self.paper_out else 0)])
        return b"\x12"

    def _serve(self, conn: socket.socket, job: Job) -> None:
        if self.stall:
            self._stop.wait()  # hold the connection, read nothing
            return
        scanned = 0
        try:
            while not self._stop.is_set():
                ready, _, _ = select.select([conn], [], [], 0.05)
                if not ready:
                    continue
                want = 4096 if self.close_after is None else max(0, self.close_after - len(job.raw))
                if want == 0:
                    # Drop it mid-job; unread bytes make the kernel answer the client with RST.
                    with self._lock:
                        job.dropped = True
                        self._lock.notify_all()
                    return
                chunk = conn.recv(want)
                if not chunk:
                    with self._lock:
                        job.complete = True
                        self._lock.notify_all()
                    return
                with self._lock:
                    job.raw += chunk
                    if self.runs_out_after is not None and len(job.raw) >= self.runs_out_after:
                        self.paper_out = True
                if self.answers_status:
                    for match in _STATUS_REQUEST.finditer(job.raw, max(0, scanned - 2)):
                        if match.end() > scanned:  # not answered when the chunk before came
                            conn.sendall(self._answer(match[1][0]))
                scanned = len(job.raw)
        except OSError:
            with self._lock:
                job.dropped = True
                self._lock.notify_all()
        finally:
            conn.close()

    def close(self) -> None:
        """Stop serving and close every connection."""
        self._stop.set()
        with self._lock:
            self._listener.close()
            if self._blocker is not None:
                self._blocker.close()
            for conn in self._connections:
                with contextlib.suppress(OSError):
                    conn.close()
        self._accepting.join(timeout=2)
        for thread in self._threads:
            thread.join(timeout=2)

    def __enter__(self) -> TcpPrinter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@pytest.fixture
def tcp_printer() -> Iterator[TcpPrinter]:
    """A running :class:`TcpPrinter`, closed after the test (import it into a conftest to use)."""
    with TcpPrinter() as printer:
        yield printer
