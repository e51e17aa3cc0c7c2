"""Printer errors: one small family, each with a stable ``code`` and words for the shopkeeper.

Lower libraries (``socket``, pyusb, pyserial, the file system) are translated into these at
the connection boundary, so the counter app catches :class:`PrinterError` and shows
``message_ja`` (or ``message_en``) without knowing how the printer is attached.
"""

from __future__ import annotations


class PrinterError(Exception):
    """A print job that could not be delivered; ``code`` is stable, the messages are for people."""

    code = "printer_error"
    message_ja = "プリンターで問題が発生しました。"
    message_en = "The printer reported a problem."

    def __init__(self, detail: str = "", *, message_ja: str | None = None, message_en: str | None = None):
        if message_ja is not None:
            self.message_ja = message_ja
        if message_en is not None:
            self.message_en = message_en
        self.detail = detail
        super().__init__(f"{self.code}: {self.message_en}" + (f" ({detail})" if detail else ""))

    def message(self, language: str = "ja") -> str:
        """The message in ``language`` (``ja`` or ``en``)."""
        return self.message_ja if language == "ja" else self.message_en


# Addresses ----------------------------------------------------------------------------


class PrinterAddressError(PrinterError, ValueError):
    """The printer address (URL) in the settings or on the command line is not understood."""

    code = "printer_bad_address"
    message_ja = "プリンターの指定が正しくありません(例: tcp://192.168.1.50:9100)。"
    message_en = "The printer address is not valid (e.g. tcp://192.168.1.50:9100)."


# Reaching the printer -----------------------------------------------------------------


class PrinterNotFound(PrinterError):
    """No printer at that address (no USB device with that id, no such serial port or file)."""

    code = "printer_not_found"
    message_ja = "プリンターが見つかりません。接続と電源を確認してください。"
    message_en = "The printer was not found. Check its cable and power."


class PrinterRefused(PrinterError):
    """The network printer refused the connection (wrong address or port, or it is off)."""

    code = "printer_refused"
    message_ja = "プリンターに接続できません(接続を拒否されました)。アドレスと電源を確認してください。"
    message_en = "The printer refused the connection. Check its address and power."


class PrinterTimeout(PrinterError):
    """The printer did not answer or stopped taking data within the job's time limit."""

    code = "printer_timeout"
    message_ja = "プリンターが応答しません(時間切れ)。電源・用紙・カバーを確認してください。"
    message_en = "The printer did not respond in time. Check its power, paper and cover."


class PrinterDisconnected(PrinterError):
    """The connection was cut in the middle of a job: the receipt may be incomplete."""

    code = "printer_disconnected"
    message_ja = "印刷中に接続が切れました。レシートが途中までの可能性があります。再印刷してください。"
    message_en = "The connection was lost while printing; the receipt may be incomplete. Print it again."


class PrinterBusy(PrinterError):
    """The USB printer is held by another program or driver (e.g. the kernel's usblp)."""

    code = "printer_busy"
    message_ja = "プリンターが他のプログラムで使用中です。"
    message_en = "The printer is in use by another program."


class PrinterPermission(PrinterError):
    """The operating system does not let this user open the printer device."""

    code = "printer_permission"
    message_ja = "プリンターを使う権限がありません。"
    message_en = "This user is not allowed to use the printer."


class PrinterUnsupported(PrinterError):
    """The connection kind needs a library or system part that is not installed."""

    code = "printer_unsupported"
    message_ja = "この接続方法に必要なソフトウェアがインストールされていません。"
    message_en = "Software needed for this kind of printer connection is not installed."


# The printer's own state (DLE EOT status) ---------------------------------------------


class PrinterPaperOut(PrinterError):
    """The printer reports its paper roll is empty."""

    code = "printer_paper_out"
    message_ja = "用紙切れです。ロール紙を交換してから再印刷してください。"
    message_en = "The printer is out of paper. Load a new roll and print again."


class PrinterCoverOpen(PrinterError):
    """The printer reports its cover is open."""

    code = "printer_cover_open"
    message_ja = "プリンターのカバーが開いています。閉じてから再印刷してください。"
    message_en = "The printer cover is open. Close it and print again."


class PrinterFault(PrinterError):
    """The printer reports an error of its own (paper jam, cutter jam, overheated head)."""

    code = "printer_fault"
    message_ja = "プリンターがエラー状態です(紙詰まり・カッター等)。プリンターを確認して再印刷してください。"
    message_en = "The printer reports an error (paper or cutter jam). Check it and print again."


# Rendering ----------------------------------------------------------------------------


class FontMissing(PrinterError):
    """Raster mode needs a Japanese font and none was found."""

    code = "printer_font_missing"
    message_ja = (
        "画像印刷用の日本語フォントが見つかりません。fonts-ipafont-gothic をインストールするか、"
        "MYKEY_POS_FONT でフォントファイルを指定してください。"
    )
    message_en = (
        "No Japanese font for raster printing. Install fonts-ipafont-gothic or set MYKEY_POS_FONT "
        "to a font file."
    )
