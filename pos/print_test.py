"""``mykey-pos print-test``: a sample receipt and a point ticket on the given or configured printer.

::

    mykey-pos print-test [--printer URL] [--width 48|32] [--raster] [--language ja|en]

The receipt has ten Japanese items at both tax rates, points and a ticket as tenders and an
award; the ticket's QR code is signed with a key made for the test. It says what it sent (bytes
and time per job) and exits 0, or says what went wrong with the printer and exits 1.
"""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

from pos.i18n import LANGUAGES, N_, explain, translate
from printers import PrinterError, open_printer, print_document
from printers.samples import sample_receipt, sample_ticket

RECEIPT = N_("Test receipt")
TICKET = N_("Test point ticket")
SENT = N_("{what}: sent {size:,} bytes to {url} in {ms:.0f} ms (rendering {render_ms:.1f} ms)")
SUBSTITUTED = N_("  characters the printer lacks were printed as 〓/?: {chars}")
FAILED = N_("Could not print the {what}: {message}")
UNREADABLE_SETTINGS = N_("Cannot read the settings ({error}). Name a printer with --printer.")


def _configured() -> tuple[str, int, bool, str]:
    """Printer URL, paper width, raster and language from the counter app's settings."""
    from pos import settings as pos_settings

    loaded = pos_settings.load()
    return loaded.printer, loaded.paper_width, loaded.raster, loaded.language


def register(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``print-test`` to ``mykey-pos``'s verbs."""
    parser = verbs.add_parser(
        "print-test", help="a test receipt and ticket on the printer", description=__doc__.splitlines()[0]
    )
    _add_options(parser)
    parser.set_defaults(run=run)


def _add_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--printer", help="tcp://host:9100, usb://04b8:0202, serial:///dev/ttyUSB0, file:///path, none"
    )
    parser.add_argument("--width", type=int, choices=(48, 42, 32), help="columns: 48 on 80 mm, 32 on 58 mm")
    parser.add_argument("--raster", action="store_true", default=None, help="print text as an image")
    # --language as the app takes it; --lang, the old spelling, still works but is not shown.
    parser.add_argument("--language", dest="lang", choices=("ja", "en"), help="language of these messages")
    parser.add_argument("--lang", dest="lang", choices=("ja", "en"), help=argparse.SUPPRESS)


def main(argv: list[str] | None = None, out: TextIO | None = None) -> int:
    """``print-test`` on its own, printing to ``out`` (what ``mykey-pos print-test`` runs, for tests)."""
    parser = argparse.ArgumentParser(prog="mykey-pos print-test", description=__doc__.splitlines()[0])
    _add_options(parser)
    return run(parser.parse_args(argv), out)


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Print the sample receipt and ticket; 0 when both reached the printer, 1 otherwise."""
    out = out or sys.stdout
    url, width, raster, language = "none", 48, False, "ja"
    try:
        url, width, raster, language = _configured()
    except Exception as exc:  # a broken settings file must not stop a printer test given --printer
        if args.printer is None:
            print(translate(UNREADABLE_SETTINGS, args.lang or "ja", error=exc), file=out)
            return 1
    url = args.printer or url
    width = args.width or width
    raster = bool(args.raster) if args.raster is not None else raster
    lang = args.lang or (language if language in LANGUAGES else "ja")
    receipt = translate(RECEIPT, lang)

    try:
        printer = open_printer(url)
    except PrinterError as exc:
        print(translate(FAILED, lang, what=receipt, message=explain(exc, lang)), file=out)
        return 1
    failed = False
    for what, document in ((receipt, sample_receipt()), (translate(TICKET, lang), sample_ticket())):
        try:
            report = print_document(printer, document, width=width, raster=raster)
        except PrinterError as exc:
            print(translate(FAILED, lang, what=what, message=explain(exc, lang)), file=out)
            failed = True
            continue
        print(
            translate(
                SENT,
                lang,
                what=what,
                size=report.bytes_sent,
                url=report.url,
                ms=report.seconds * 1000,
                render_ms=report.render_seconds * 1000,
            ),
            file=out,
        )
        if report.substituted:
            print(translate(SUBSTITUTED, lang, chars="".join(report.substituted)), file=out)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
