"""Serial printers (RS-232 or a USB serial adapter) through pyserial."""

from __future__ import annotations

import errno
import time

from printers.connections import status
from printers.connections.base import DEFAULT_TIMEOUT, Deadline, Printer
from printers.errors import (
    N_,
    PrinterBusy,
    PrinterDisconnected,
    PrinterError,
    PrinterNotFound,
    PrinterPermission,
    PrinterTimeout,
    PrinterUnsupported,
)

PERMISSION_TEXT = N_(
    "This user is not allowed to use the printer. "
    "Add this user to the dialout group (sudo usermod -aG dialout $USER)."
)
STATUS_WAIT = 0.3


class SerialPrinter(Printer):
    """A printer at ``serial:///dev/ttyUSB0?baudrate=115200``."""

    def __init__(
        self,
        port: str,
        *,
        baudrate: int = 9600,
        timeout: float = DEFAULT_TIMEOUT,
        status_wait: float = STATUS_WAIT,
    ) -> None:
        self.port, self.baudrate = port, baudrate
        self.timeout, self.status_wait = timeout, status_wait
        self.url = f"serial://{port}?baudrate={baudrate}"
        self.answers_status: bool | None = None

    def send(self, data: bytes) -> None:
        """Deliver one job (see :meth:`Printer.send`)."""
        try:
            import serial  # type: ignore[import-untyped]
        except ImportError:
            raise PrinterUnsupported("pyserial is not installed") from None
        deadline = Deadline(self.timeout)
        try:
            port = serial.Serial(
                self.port, self.baudrate, timeout=deadline.left(), write_timeout=deadline.left()
            )
        except serial.SerialException as exc:
            raise _translate(exc, self.url) from None
        try:
            if self.status_wait > 0 and self.answers_status is not False:
                port.reset_input_buffer()
                port.timeout = deadline.left(self.status_wait)
                port.write(status.REQUEST)
                answer = port.read(status.ANSWER_SIZE)
                self.answers_status = bool(answer)
                status.check(answer)
            port.write_timeout = deadline.left()
            port.write(data)
            while port.out_waiting:  # drain the driver's buffer, but only until the deadline
                if deadline.expired:
                    raise PrinterTimeout(f"{self.url}: data still queued after {self.timeout:g} s")
                time.sleep(0.01)
        except serial.SerialTimeoutException:
            raise PrinterTimeout(f"{self.url}: printer took no data within {self.timeout:g} s") from None
        except serial.SerialException as exc:
            raise PrinterDisconnected(f"{self.url}: {exc}") from None
        finally:
            port.close()


def _translate(exc: OSError, url: str) -> PrinterError:
    detail = f"{url}: {exc}"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return PrinterPermission(detail, text=PERMISSION_TEXT)
    if exc.errno == errno.EBUSY:
        return PrinterBusy(detail)
    return PrinterNotFound(detail)
