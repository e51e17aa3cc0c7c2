"""Printer errors: one small family, each with a stable ``code`` and words for the shopkeeper.

Lower libraries (``socket``, pyusb, pyserial, the file system) are translated into these at
the connection boundary, so the counter app catches :class:`PrinterError` and shows its
message without knowing how the printer is attached. The words are an English message id in
``text`` (with ``params`` for its fields): the counter's catalog has their Japanese, and
:func:`pos.i18n.explain` puts them into the shopkeeper's language. This package only marks them.
"""

from __future__ import annotations


def N_(message: str) -> str:
    """Mark an English message id for the counter's catalog (translated where it is shown)."""
    return message


class PrinterError(Exception):
    """A print job that could not be delivered; ``code`` is stable, ``text`` is for people."""

    code = "printer_error"
    text = N_("The printer reported a problem.")

    def __init__(self, detail: str = "", *, text: str | None = None, **params: object) -> None:
        if text is not None:
            self.text = text
        self.params = params
        self.detail = detail
        super().__init__(f"{self.code}: {self.text.format(**params)}" + (f" ({detail})" if detail else ""))


# Addresses ----------------------------------------------------------------------------


class PrinterAddressError(PrinterError, ValueError):
    """The printer address (URL) in the settings or on the command line is not understood."""

    code = "printer_bad_address"
    text = N_("The printer address is not valid (e.g. tcp://192.168.1.50:9100).")


# Reaching the printer -----------------------------------------------------------------


class PrinterNotFound(PrinterError):
    """No printer at that address (no USB device with that id, no such serial port or file)."""

    code = "printer_not_found"
    text = N_("The printer was not found. Check its cable and power.")


class PrinterRefused(PrinterError):
    """The network printer refused the connection (wrong address or port, or it is off)."""

    code = "printer_refused"
    text = N_("The printer refused the connection. Check its address and power.")


class PrinterTimeout(PrinterError):
    """The printer did not answer or stopped taking data within the job's time limit."""

    code = "printer_timeout"
    text = N_("The printer did not respond in time. Check its power, paper and cover.")


class PrinterDisconnected(PrinterError):
    """The connection was cut in the middle of a job: the receipt may be incomplete."""

    code = "printer_disconnected"
    text = N_("The connection was lost while printing; the receipt may be incomplete. Print it again.")


class PrinterBusy(PrinterError):
    """The USB printer is held by another program or driver (e.g. the kernel's usblp)."""

    code = "printer_busy"
    text = N_("The printer is in use by another program.")


class PrinterPermission(PrinterError):
    """The operating system does not let this user open the printer device."""

    code = "printer_permission"
    text = N_("This user is not allowed to use the printer.")


class PrinterUnsupported(PrinterError):
    """The connection kind needs a library or system part that is not installed."""

    code = "printer_unsupported"
    text = N_("Software needed for this kind of printer connection is not installed.")


# The printer's own state (DLE EOT status) ---------------------------------------------


class PrinterPaperOut(PrinterError):
    """The printer reports its paper roll is empty."""

    code = "printer_paper_out"
    text = N_("The printer is out of paper. Load a new roll and print again.")


class PrinterCoverOpen(PrinterError):
    """The printer reports its cover is open."""

    code = "printer_cover_open"
    text = N_("The printer cover is open. Close it and print again.")


class PrinterFault(PrinterError):
    """The printer reports an error of its own (paper jam, cutter jam, overheated head)."""

    code = "printer_fault"
    text = N_("The printer reports an error (paper or cutter jam). Check it and print again.")


# Rendering ----------------------------------------------------------------------------


class FontMissing(PrinterError):
    """Raster mode needs a Japanese font and none was found."""

    code = "printer_font_missing"
    text = N_(
        "No Japanese font for raster printing. Install fonts-ipafont-gothic or set MYKEY_POS_FONT "
        "to a font file."
    )
