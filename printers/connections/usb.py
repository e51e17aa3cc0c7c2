"""USB printers by vendor and product id, through pyusb (libusb).

Opening one needs write access to its device node: the usual fix is a udev rule, which the
permission error's message spells out for this printer's ids.
"""

from __future__ import annotations

import contextlib
import errno
from types import SimpleNamespace
from typing import Any

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

STATUS_WAIT = 0.3
CHUNK = 4096


def udev_rule(vendor: int, product: int) -> str:
    """The udev rule that lets the ``lp`` group (and so the shop's user) open this printer."""
    return (
        f'SUBSYSTEM=="usb", ATTRS{{idVendor}}=="{vendor:04x}", ATTRS{{idProduct}}=="{product:04x}", '
        'MODE="0664", GROUP="lp"'
    )


def permission_error(vendor: int, product: int, detail: str) -> PrinterPermission:
    """The permission error with the udev hint for this printer's ids."""
    rule = udev_rule(vendor, product)
    return PrinterPermission(
        detail,
        text=N_(
            "This user is not allowed to use the printer. Put this line in "
            "/etc/udev/rules.d/99-mykey-printer.rules, run sudo udevadm control --reload && "
            "sudo udevadm trigger, and plug the printer in again: {rule}"
        ),
        rule=rule,
    )


class UsbPrinter(Printer):
    """A printer at ``usb://04b8:0202`` (vendor:product in hex)."""

    def __init__(
        self,
        vendor: int,
        product: int,
        *,
        interface: int = 0,
        timeout: float = DEFAULT_TIMEOUT,
        status_wait: float = STATUS_WAIT,
        backend: Any = None,
    ) -> None:
        self.vendor, self.product, self.interface = vendor, product, interface
        self.timeout, self.status_wait = timeout, status_wait
        self.url = f"usb://{vendor:04x}:{product:04x}"
        #: pyusb's ``usb.core`` and ``usb.util`` in one namespace (replaceable to test the error mapping).
        self._core = backend

    def _usb(self) -> Any:
        if self._core is None:
            try:
                import usb.core  # type: ignore[import-untyped]
                import usb.util  # type: ignore[import-untyped]
            except ImportError:
                raise PrinterUnsupported("pyusb is not installed") from None
            self._core = SimpleNamespace(
                find=usb.core.find,
                USBError=usb.core.USBError,
                USBTimeoutError=usb.core.USBTimeoutError,
                NoBackendError=usb.core.NoBackendError,
                dispose_resources=usb.util.dispose_resources,
            )
        return self._core

    def send(self, data: bytes) -> None:
        """Deliver one job (see :meth:`Printer.send`)."""
        core = self._usb()
        deadline = Deadline(self.timeout)
        try:
            device = core.find(idVendor=self.vendor, idProduct=self.product)
        except core.NoBackendError:
            raise PrinterUnsupported("libusb is not installed (apt-get install libusb-1.0-0)") from None
        if device is None:
            raise PrinterNotFound(f"{self.url}: no such USB device")
        try:
            if device.is_kernel_driver_active(self.interface):
                device.detach_kernel_driver(self.interface)
            device.set_configuration()
            setting = device.get_active_configuration()[(self.interface, 0)]
            out = _endpoint(setting, direction_in=False)
            into = _endpoint(setting, direction_in=True)
            if into is not None and self.status_wait > 0:
                out.write(status.REQUEST, timeout=_ms(deadline.left()))
                try:
                    answer = bytes(
                        into.read(status.ANSWER_SIZE, timeout=_ms(deadline.left(self.status_wait)))
                    )
                except core.USBTimeoutError:
                    answer = b""
                status.check(answer)
            for start in range(0, len(data), CHUNK):
                if deadline.expired:
                    raise PrinterTimeout(f"{self.url}: no progress within {self.timeout:g} s")
                out.write(data[start : start + CHUNK], timeout=_ms(deadline.left()))
        except core.USBTimeoutError:
            raise PrinterTimeout(f"{self.url}: no progress within {self.timeout:g} s") from None
        except core.USBError as exc:
            raise self._translate(exc) from None
        finally:
            with contextlib.suppress(Exception):  # best effort: the job's own outcome is what matters
                core.dispose_resources(device)

    def _translate(self, exc: Any) -> PrinterError:
        detail = f"{self.url}: {exc}"
        code = getattr(exc, "errno", None) or getattr(exc, "backend_error_code", None)
        if code in (errno.EACCES, errno.EPERM, -3):  # -3 is LIBUSB_ERROR_ACCESS
            return permission_error(self.vendor, self.product, detail)
        if code in (errno.EBUSY, -6):  # -6 is LIBUSB_ERROR_BUSY
            return PrinterBusy(detail)
        if code in (errno.ENODEV, -4):  # -4 is LIBUSB_ERROR_NO_DEVICE: unplugged mid-job
            return PrinterDisconnected(detail)
        return PrinterDisconnected(detail)


def _ms(seconds: float) -> int:
    return max(1, int(seconds * 1000))


def _endpoint(setting: Any, *, direction_in: bool) -> Any:
    for endpoint in setting:
        is_in = bool(endpoint.bEndpointAddress & 0x80)
        if is_in == direction_in and endpoint.bmAttributes & 0x3 == 0x2:  # bulk
            return endpoint
    if direction_in:
        return None
    raise PrinterNotFound("the USB device has no bulk OUT endpoint: is it a printer?")
