"""Network printers on a raw TCP port (usually 9100), one connection per job.

A job is: connect, ask the status (``DLE EOT``; paper out and cover open stop here), send the
bytes, half-close, and wait for the printer to close its side, which it does once it has read
everything. A printer that stops reading (stalled) runs into the deadline; one that drops the
connection before the end (cut mid-job) is reported, since the receipt may be incomplete.
"""

from __future__ import annotations

import socket

from printers.connections import status
from printers.connections.base import DEFAULT_TIMEOUT, Deadline, Printer
from printers.errors import PrinterDisconnected, PrinterNotFound, PrinterRefused, PrinterTimeout

#: Seconds to wait for a status answer before taking the printer for one that does not answer.
STATUS_WAIT = 0.5


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
            if self.status_wait > 0 and self.answers_status is not False:
                self._check_status(sock, deadline)
            sock.settimeout(deadline.left())
            sock.sendall(data)
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
            return socket.create_connection((self.host, self.port), timeout=deadline.left())
        except ConnectionRefusedError:
            raise PrinterRefused(f"{self.url}: connection refused") from None
        except TimeoutError:
            raise PrinterTimeout(f"{self.url}: no answer to connect within {self.timeout:g} s") from None
        except socket.gaierror as exc:
            raise PrinterNotFound(f"{self.url}: {exc.strerror}") from None
        except OSError as exc:  # unreachable network or host
            raise PrinterNotFound(f"{self.url}: {exc.strerror or exc}") from None

    def _check_status(self, sock: socket.socket, deadline: Deadline) -> None:
        sock.settimeout(deadline.left(self.status_wait))
        sock.sendall(status.REQUEST)
        answer = b""
        try:
            while len(answer) < status.ANSWER_SIZE:
                chunk = sock.recv(status.ANSWER_SIZE - len(answer))
                if not chunk:
                    raise PrinterDisconnected(f"{self.url}: closed while asked for its status")
                answer += chunk
        except TimeoutError:
            if not answer:
                self.answers_status = False
                return
        self.answers_status = True
        status.check(answer)

    def _wait_for_close(self, sock: socket.socket, deadline: Deadline) -> None:
        while True:
            sock.settimeout(deadline.left())
            if deadline.expired:
                raise TimeoutError
            # Anything read here answers a DLE EOT that happened to be inside image data.
            if not sock.recv(4096):
                return
