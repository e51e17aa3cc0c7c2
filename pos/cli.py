"""``mykey-pos``: the counter terminal's command line, one tree of verbs.

With no verb it starts the counter app (:mod:`pos.app`) with the options below. Each verb is
registered by the part it belongs to: ``card`` by :func:`pos.card.probe.register`, ``print-test``
by :func:`pos.print_test.register`; each verb's parser carries its handler, so ``--help`` lists
every verb and dispatch needs no table. The counter app (and Textual) is imported only to run it.
"""

from __future__ import annotations

import argparse
import pathlib
import sys

from pos._startup import imports_without_gc


def build_parser() -> argparse.ArgumentParser:
    """``mykey-pos``: the counter app's options, and every verb of every part."""
    # The verbs' modules (printers, cryptography) load only when the tree is built, never for
    # the counter app's own start (:func:`counter_parser`).
    from pos import cardhelper, print_test
    from pos.card import probe

    parser = argparse.ArgumentParser(
        prog="mykey-pos", description="The counter app (レジ); a verb runs one of its tools instead."
    )
    add_counter_options(parser)
    verbs = parser.add_subparsers(dest="verb", metavar="VERB")
    cardhelper.register(probe.register(verbs))
    print_test.register(verbs)
    return parser


def counter_parser() -> argparse.ArgumentParser:
    """The counter app's options alone (what ``mykey-pos`` with no verb reads)."""
    parser = argparse.ArgumentParser(prog="mykey-pos", description="The counter app (レジ).")
    add_counter_options(parser)
    return parser


def add_counter_options(parser: argparse.ArgumentParser) -> None:
    """The counter app's options: each overrides its setting for this run."""
    from points.wire import TerminalMode
    from pos import settings as settings_module

    parser.add_argument("--config", type=pathlib.Path, help="settings TOML file")
    parser.add_argument(
        "--mode", choices=[m.value for m in TerminalMode], help="override the terminal's mode"
    )
    parser.add_argument("--server", help="server URL for this run")
    parser.add_argument(
        "--library",
        help="library desk: the library's SIP2 system, sip2://user:password@host:port/INSTITUTION "
        "(default $MYKEY_POS_LIBRARY, which keeps the password out of the process list)",
    )
    parser.add_argument(
        "--printer", help="printer URL for this run (tcp://, usb://, serial://, file://, none)"
    )
    parser.add_argument("--reader", help="card reader: 'pcsc', 'sim', or a reader name")
    parser.add_argument("--token", help="terminal token for this run (else the token file)")
    parser.add_argument("--journal", help="journal file for this run")
    parser.add_argument("--language", choices=settings_module.LANGUAGES, help="ja or en")
    parser.add_argument(
        "--training",
        action="store_true",
        default=None,
        help="training mode (練習モード): receipts marked, nothing sent, its own journal",
    )


def main(argv: list[str] | None = None) -> int:
    """Run the verb given, or the counter app; returns the exit status."""
    args_list = sys.argv[1:] if argv is None else argv
    # Up to the app's start, the modules load with the cycle collector paused (pos/_startup.py).
    with imports_without_gc():
        args = build_parser().parse_args(args_list)
        if args.verb is None:
            from pos import app
    if args.verb is None:
        return app.main(args_list)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
