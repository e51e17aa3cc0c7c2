"""``mykey-pos card probe [--json] [--watch]``: the tool a shop uses to check its reader.

Lists the readers, waits for a card, and prints its kind, ATR, card key, the certificate's
subject, issuer and validity (the user-authentication certificate holds no personal data) and
how long each step took. ``--watch`` keeps going, one card after another, until Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from typing import Any, TextIO

from pos.card import errors, events
from pos.card.base import CardReader, make_reader

EXIT_OK, EXIT_CARD_ERROR, EXIT_NO_SERVICE, EXIT_TIMEOUT = 0, 1, 2, 3


def register(
    verbs: argparse._SubParsersAction[argparse.ArgumentParser],
) -> argparse._SubParsersAction[argparse.ArgumentParser]:
    """Add ``card`` (``card probe``) to ``mykey-pos``'s verbs; returns its actions (others add theirs)."""
    card = verbs.add_parser("card", help="card reader tools: probe, helper", description="Card reader tools")
    actions = _add_actions(card)
    card.set_defaults(run=probe)
    return actions


def _add_actions(parser: argparse.ArgumentParser) -> argparse._SubParsersAction[argparse.ArgumentParser]:
    actions = parser.add_subparsers(dest="action", required=True)
    sub = actions.add_parser("probe", help="list readers, read the next card, print what it is")
    sub.add_argument("--json", action="store_true", help="one JSON object per line")
    sub.add_argument("--watch", action="store_true", help="keep reading cards until Ctrl-C")
    sub.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for a card (default 30)")
    sub.add_argument("--count", type=int, default=0, help="with --watch: stop after this many cards")
    sub.add_argument("--reader", help="only this reader")
    sub.add_argument("--lang", choices=("ja", "en"), default="ja", help="language of error messages")
    return actions


def read_card(reader: CardReader, name: str) -> dict[str, Any]:
    """Connect to the card on ``name`` and describe it (a dict ready for JSON)."""
    t0 = time.perf_counter()
    with reader.connect(name) as card:
        t1 = time.perf_counter()
        identity = card.read_identity()
        t2 = time.perf_counter()
        report: dict[str, Any] = {
            "reader": name,
            "kind": identity.kind.value,
            "atr": identity.atr.hex(" ").upper(),
            "card_key": identity.card_key,
            "apdus": identity.apdus,
            "connect_ms": round((t1 - t0) * 1000, 3),
            "read_ms": round((t2 - t1) * 1000, 3),
        }
        summary = identity.certificate_summary()
        if summary is not None:
            report["certificate"] = summary
            report["pin_tries_left"] = card.pin_tries_left()
    return report


def _print(report: dict[str, Any], as_json: bool, out: TextIO) -> None:
    if as_json:
        out.write(json.dumps(report, ensure_ascii=False) + "\n")
    elif report.get("event") == "error":
        out.write(f"error [{report['code']}]: {report['message']}  ({report['detail']})\n")
    elif "event" in report:
        out.write(f"{report['event']}: {report.get('reader', '')} {report.get('detail', '')}".rstrip() + "\n")
    else:
        width = max(len(k) for k in report)
        for key, value in report.items():
            if isinstance(value, dict):
                out.write(f"{key}:\n")
                for sub, subvalue in value.items():
                    out.write(f"  {sub:<{width}}  {subvalue}\n")
            else:
                out.write(f"{key:<{width}}  {value}\n")
    out.flush()


def _error(exc: errors.CardError, lang: str) -> dict[str, Any]:
    return {"event": "error", "code": exc.code, "message": exc.message(lang), "detail": exc.detail}


def main(
    argv: Sequence[str] | None = None, out: TextIO | None = None, reader: CardReader | None = None
) -> int:
    """``card`` on its own (``main(["probe", "--json"])``): what ``mykey-pos card`` runs, for tests.

    ``out`` and ``reader`` let tests (and the app's diagnostics) capture the output and choose
    the back-end; by default it prints to stdout and uses pcscd.
    """
    parser = argparse.ArgumentParser(prog="mykey-pos card", description="Card reader tools")
    _add_actions(parser)
    return probe(parser.parse_args(sys.argv[1:] if argv is None else argv), out, reader)


def probe(args: argparse.Namespace, out: TextIO | None = None, reader: CardReader | None = None) -> int:
    """Run ``card probe``: 0 read, 1 card error, 2 no pcscd / no reader, 3 no card in time."""
    out = out or sys.stdout
    reader = reader or make_reader("pcsc")
    try:
        names = reader.readers()
    except errors.CardError as exc:
        _print(_error(exc, args.lang), args.json, out)
        return EXIT_NO_SERVICE
    _print({"event": "readers", "readers": names, "detail": ", ".join(names) or "(none)"}, args.json, out)
    if not names and not args.watch:
        _print(_error(errors.NoReader(), args.lang), args.json, out)
        return EXIT_NO_SERVICE
    reader.start()
    status = EXIT_TIMEOUT
    cards_read = 0
    try:
        deadline = time.monotonic() + args.timeout
        while True:
            left = None if args.watch else deadline - time.monotonic()
            if left is not None and left <= 0:
                if status == EXIT_TIMEOUT:
                    _print({"event": "timeout", "detail": f"no card in {args.timeout:g} s"}, args.json, out)
                return status
            event = reader.events.get(left)
            if event is None or (args.reader and event.reader != args.reader):
                continue
            if not isinstance(event, events.CardPresent):
                kind = type(event).__name__
                detail = getattr(event, "reason", "")
                _print({"event": kind, "reader": event.reader, "detail": detail}, args.json, out)
                continue
            try:
                _print(read_card(reader, event.reader), args.json, out)
                status = EXIT_OK
            except errors.CardError as exc:
                _print(_error(exc, args.lang), args.json, out)
                status = EXIT_CARD_ERROR
            cards_read += 1
            if not args.watch or cards_read == args.count:
                return status
    except KeyboardInterrupt:
        return status if status != EXIT_TIMEOUT else EXIT_OK
    finally:
        reader.stop()
