"""File printers: a job appended to a file (for the demo and tests), or written to a device node
such as ``/dev/usb/lp0`` (the kernel's usblp driver)."""

from __future__ import annotations

import errno
import os
import pathlib
import select
import stat

from printers.connections.base import DEFAULT_TIMEOUT, Deadline, Printer
from printers.errors import (
    N_,
    PrinterBusy,
    PrinterDisconnected,
    PrinterError,
    PrinterNotFound,
    PrinterPermission,
    PrinterTimeout,
)

PERMISSION_TEXT = N_(
    "This user is not allowed to use the printer. "
    "Add this user to the lp group (sudo usermod -aG lp $USER, then log in again)."
)


class FilePrinter(Printer):
    """A printer at ``file:///path``: a regular file gets each job appended."""

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.path = pathlib.Path(path)
        self.timeout = timeout
        self.url = self.path.absolute().as_uri()

    def send(self, data: bytes) -> None:
        """Append one job to the file, or write it to the device (see :meth:`Printer.send`)."""
        deadline = Deadline(self.timeout)
        is_device = self.path.exists() and stat.S_ISCHR(self.path.stat().st_mode)
        flags = os.O_WRONLY | (os.O_NONBLOCK if is_device else os.O_CREAT | os.O_APPEND)
        try:
            fd = os.open(self.path, flags, 0o644)
        except OSError as exc:
            raise _translate(exc, self.url) from None
        try:
            view = memoryview(data)
            while view:
                if is_device and not select.select([], [fd], [], deadline.left())[1]:
                    raise PrinterTimeout(f"{self.url}: device took no data within {self.timeout:g} s")
                try:
                    written = os.write(fd, view)
                except BlockingIOError:
                    continue
                except OSError as exc:
                    raise _translate(exc, self.url) from None
                view = view[written:]
            if not is_device:
                os.fsync(fd)  # a receipt file survives a power cut like the journal does
        finally:
            os.close(fd)


def _translate(exc: OSError, url: str) -> PrinterError:
    detail = f"{url}: {exc.strerror}"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return PrinterPermission(detail, text=PERMISSION_TEXT)
    if exc.errno == errno.EBUSY:
        return PrinterBusy(detail)
    if exc.errno in (errno.ENOENT, errno.ENOTDIR, errno.EISDIR, errno.ENXIO, errno.ENODEV):
        return PrinterNotFound(detail)
    if exc.errno == errno.ENOSPC:
        return PrinterError(detail, text=N_("The disk is full."))
    return PrinterDisconnected(detail)
