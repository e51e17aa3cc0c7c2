"""Network printers on a raw TCP port (usually 9100), one connection per job.

A job is: connect, ask the status (``DLE EOT``; paper out and cover open stop here), send the
bytes, then make sure the printer took them all. A printer that answers status is asked again
after the job: ``DLE EOT`` is a real-time command, so its answer comes once the bytes before it
have arrived (and says whether the paper ran out during the job). A printer that does not
answer gets a half-close, and the job counts as delivered when it closes its side, as raw-port
printers do once they have read everything. A printer that stops reading (stalled) runs into
the deadline; one that drops the connection before the end (cut mid-job) is reported, since the
receipt may be incomplete.
"""

from __future__ import annotations

import re
import socket

from printers.connections import status
from printers.connections.base import DEFAULT_TIMEOUT, Deadline, Printer
from printers.errors import PrinterDisconnected, PrinterNotFound, PrinterRefused, PrinterTimeout

#: Seconds to wait for a status answer before taking the printer for one that does not answer.
STATUS_WAIT = 0.5
_STATUS_IN_DATA = re.compile(rb"\x10\x04[\x01-\x04]")


class NetworkPrinter(Printer):
    """A printer at ``tcp://host:port``."""

    def __init__(
        self,
        host: str,
        port: int = 9100,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        status_wait: float = STATUS_WAIT,
    ) -> None:
        self.host, self.port = host, port
        self.timeout = timeout
        self.status_wait = status_wait
        self.url = f"tcp://{host}:{port}"
        #: False once the printer has not answered a status request: do not wait for it again.
        self.answers_status: bool | None = None

    def send(self, data: bytes) -> None:
        """Deliver one job (see :meth:`Printer.send`)."""
        deadline = Deadline(self.timeout)
        sock = self._connect(deadline)
        try:
            answered = False
            if self.status_wait > 0 and self.answers_status is not False:
                answered = self._check_status(sock, deadline)
            sock.settimeout(deadline.left())
            sock.sendall(data)
            if answered:
                self._confirm(sock, deadline, stray=len(_STATUS_IN_DATA.findall(data)))
            else:
                sock.shutdown(socket.SHUT_WR)
                self._wait_for_close(sock, deadline)
        except TimeoutError:
            raise PrinterTimeout(f"{self.url}: no progress within {self.timeout:g} s") from None
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError) as exc:
            raise PrinterDisconnected(f"{self.url}: {exc.strerror or exc}") from None
        except OSError as exc:
            raise PrinterDisconnected(f"{self.url}: {exc}") from None
        finally:
            sock.close()

    def _connect(self, deadline: Deadline) -> socket.socket:
        try:
            sock = socket.create_connection((self.host, self.port), timeout=deadline.left())
        except ConnectionRefusedError:
            raise PrinterRefused(f"{self.url}: connection refused") from None
        except TimeoutError:
            raise PrinterTimeout(f"{self.url}: no answer to connect within {self.timeout:g} s") from None
        except socket.gaierror as exc:
            raise PrinterNotFound(f"{self.url}: {exc.strerror}") from None
        except OSError as exc:  # unreachable network or host
            raise PrinterNotFound(f"{self.url}: {exc.strerror or exc}") from None
        # The status request after a job is a few bytes: without this, Nagle holds it back
        # until the printer's delayed ACK of the job (about 40 ms).
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock

    def _check_status(self, sock: socket.socket, deadline: Deadline) -> bool:
        """Ask the status before the job; False when the printer does not answer."""
        sock.settimeout(deadline.left(self.status_wait))
        sock.sendall(status.REQUEST)
        try:
            answer = self._read(sock, status.ANSWER_SIZE)
        except TimeoutError:
            self.answers_status = False
            return False
        self.answers_status = True
        status.check(answer)
        return True

    def _confirm(self, sock: socket.socket, deadline: Deadline, stray: int) -> None:
        """Ask the status after the job: the answer proves the bytes arrived."""
        sock.settimeout(deadline.left())
        sock.sendall(status.REQUEST)
        # A DLE EOT inside image data was answered too: skip those answers.
        answer = self._read(sock, stray + status.ANSWER_SIZE)
        status.check(answer[stray:])

    def _read(self, sock: socket.socket, size: int) -> bytes:
        answer = b""
        while len(answer) < size:
            chunk = sock.recv(size - len(answer))
            if not chunk:
                raise PrinterDisconnected(f"{self.url}: closed the connection before the job was confirmed")
            answer += chunk
        return answer

    def _wait_for_close(self, sock: socket.socket, deadline: Deadline) -> None:
        while True:
            sock.settimeout(deadline.left())
            if deadline.expired:
                raise TimeoutError
            # Anything read here answers a DLE EOT that happened to be inside image data.
            if not sock.recv(4096):
                return
