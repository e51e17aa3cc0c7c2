"""Settlement's admin verbs of ``mykey-server``: :func:`register` adds them to its command tree.

- ``mykey-server period close --chamber ID PERIOD`` / ``period reopen --chamber ID --reason TEXT PERIOD``
  / ``period list``
- ``mykey-server rank --program ID --round R --threshold N --top K [--dry-run]`` (Bungotakada)
- ``mykey-server payer set --owner city:ID --code N10 --name KANA --bank 0000 --branch 000
  --type 1 --number N7`` — the 依頼人 account a city or chamber pays from
- ``mykey-server payout zengin --payer city:ID --period P --date YYYY-MM-DD --out FILE``
- ``mykey-server payout precheck --payer city:ID --period P`` — names the file could not hold as they
  are; ``payout accept --payer ... --period P --payee ID [--field holder|requester]`` accepts the
  proposed form (logged); ``payout holder --kind merchant --payee ID --name KANA`` fixes a record

Every verb works on the database directly (``--db``, default ``$MYKEY_DB`` or ``mykey.db``) and
logs as the ``admin`` of the command line.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import json
import os
import pathlib
import sqlite3
import sys
from collections.abc import Callable
from typing import Any

from points.programs import Program
from server import admin, db, ledger
from server.errors import ApiError
from server.settlement import namecheck, payouts, periods, ranking, store, zengin

ACTOR = "admin:cli"


Handler = Callable[[argparse.Namespace], int]


def _friendly(verb: Handler) -> Handler:
    # Refusals (a bad period, an unknown payer, a name the banks refuse) are printed in words, exit 1.
    @functools.wraps(verb)
    def run(args: argparse.Namespace) -> int:
        try:
            return verb(args)
        except (ApiError, zengin.ZenginError) as error:
            print(getattr(error, "message", str(error)), file=sys.stderr)
            return 1

    return run


def _db(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db",
        default=os.environ.get("MYKEY_DB", "mykey.db"),
        help="the database: a SQLite file or a postgresql:// URL",
    )


def register(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``period``, ``rank``, ``payer`` and ``payout`` to ``mykey-server``'s verbs."""
    _register_period(verbs)
    _register_rank(verbs)
    _register_payer(verbs)
    _register_payout(verbs)


def _register_period(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = verbs.add_parser(
        "period", help="claim periods: close, reopen, list (精算期間)", description="claim periods (精算期間)"
    )
    actions = parser.add_subparsers(dest="action", required=True)
    close = actions.add_parser("close", help="close a period for a chamber (idempotent)")
    close.add_argument("period", help="2026-11, 2026-11a/b or 2026-W48")
    close.add_argument("--chamber", required=True)
    reopen = actions.add_parser("reopen", help="reopen a closed period (logged with the reason)")
    reopen.add_argument("period")
    reopen.add_argument("--chamber", required=True)
    reopen.add_argument("--reason", required=True)
    listing = actions.add_parser("list", help="periods and their totals")
    listing.add_argument("--chamber")
    for sub in (close, reopen, listing):
        _db(sub)
    parser.set_defaults(run=_period)


def _print(value: Any) -> None:
    print(json.dumps(value, ensure_ascii=False, indent=2, default=str))


@_friendly
def _period(args: argparse.Namespace) -> int:
    """``mykey-server period close|reopen|list``."""
    conn = store.ensure(db.connect(args.db))
    try:
        if args.action == "list":
            _print(periods.list_periods(conn, args.chamber))
        elif args.action == "close":
            result = periods.close(conn, args.chamber, periods.parse_period(args.period), ACTOR)
            _print(result.model_dump())
        else:
            periods.reopen(conn, args.chamber, periods.parse_period(args.period), ACTOR, args.reason)
            print(f"reopened {args.chamber} {args.period}")
    finally:
        conn.close()
    return 0


def _register_rank(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = verbs.add_parser(
        "rank",
        help="the ranking batch: vouchers for the top holders (Bungotakada)",
        description="ranking batch (Bungotakada)",
    )
    parser.add_argument("--program", required=True)
    parser.add_argument("--round", required=True, help="a name for the round, e.g. 2026")
    parser.add_argument("--threshold", type=int, required=True)
    parser.add_argument("--top", type=int, required=True)
    parser.add_argument("--dry-run", action="store_true", help="only list who would get vouchers")
    _db(parser)
    parser.set_defaults(run=_rank)


@_friendly
def _rank(args: argparse.Namespace) -> int:
    """``mykey-server rank``: preview (``--dry-run``) or run a ranking round."""
    conn = store.ensure(db.connect(args.db))
    try:
        if args.dry_run:
            _print(ranking.ranking(conn, args.program, args.threshold, args.top))
            return 0
        row = conn.execute("SELECT definition FROM programs WHERE id = ?", (args.program,)).fetchone()
        if row is None:
            print(f"unknown program {args.program}", file=sys.stderr)
            return 2
        program = Program.model_validate_json(row[0])
        result = ranking.run(
            conn,
            program,
            args.round,
            args.threshold,
            args.top,
            admin.ticket_signer(conn),
            ledger.utc_now(),
            ACTOR,
        )
        _print({key: value for key, value in result.items() if key != "awarded"})
    finally:
        conn.close()
    return 0


def _register_payer(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = verbs.add_parser(
        "payer", help="the account a city or chamber pays from (振込元)", description="振込元（依頼人）口座"
    )
    actions = parser.add_subparsers(dest="action", required=True)
    setter = actions.add_parser("set")
    setter.add_argument("--owner", required=True, help="city:<id> or chamber:<id>")
    setter.add_argument("--code", required=True, help="依頼人コード (10 digits, from the bank)")
    setter.add_argument("--name", required=True, help="依頼人名 in katakana")
    setter.add_argument("--bank", required=True)
    setter.add_argument("--branch", required=True)
    setter.add_argument("--type", type=int, default=1, choices=sorted(zengin.ACCOUNT_TYPES))
    setter.add_argument("--number", required=True)
    show = actions.add_parser("show")
    show.add_argument("--owner", required=True)
    for sub in (setter, show):
        _db(sub)
    parser.set_defaults(run=_payer)


@_friendly
def _payer(args: argparse.Namespace) -> int:
    """``mykey-server payer set|show``: the account a city or chamber pays from."""
    conn = store.ensure(db.connect(args.db))
    try:
        if args.action == "set":
            account = zengin.BankAccount(args.bank, args.branch, args.type, args.number, args.name)
            payouts.set_payer(conn, payouts.Payer(args.owner, args.code, args.name, account))
            store.log(conn, ACTOR, "payer", f"payer:{args.owner}", bank=args.bank, branch=args.branch)
        payer = payouts.get_payer(conn, args.owner)
        _print({"owner": payer.owner, "requester_code": payer.requester_code, "name": payer.name_kana,
                "bank": payer.account.bank_code, "branch": payer.account.branch_code,
                "type": payer.account.account_type, "number": payer.account.number})  # fmt: skip
    finally:
        conn.close()
    return 0


def _register_payout(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = verbs.add_parser(
        "payout", help="what a payer pays for a period, and its Zengin file", description="支払と全銀ファイル"
    )
    actions = parser.add_subparsers(dest="action", required=True)
    plan = actions.add_parser("plan")
    file = actions.add_parser("zengin")
    file.add_argument("--date", type=dt.date.fromisoformat, required=True, help="振込日 YYYY-MM-DD")
    file.add_argument("--out", type=pathlib.Path, required=True)
    check = actions.add_parser("precheck", help="names the file could not hold as they are (振込前の確認)")
    accept = actions.add_parser("accept", help="accept the proposed form of one name (logged)")
    accept.add_argument("--payee", required=True, help="the payee id (the payer's own for the requester)")
    accept.add_argument("--field", choices=["holder", "requester"], default="holder")
    for sub in (plan, file, check, accept):
        sub.add_argument("--payer", required=True, help="city:<id> or chamber:<id>")
        sub.add_argument("--period", required=True)
        _db(sub)
    holder = actions.add_parser("holder", help="fix a payee's account holder name (口座名義, logged)")
    holder.add_argument("--kind", choices=["merchant", "chamber"], default="merchant")
    holder.add_argument("--payee", required=True)
    holder.add_argument("--name", required=True, help="the holder name as the bank has it, in katakana")
    _db(holder)
    parser.set_defaults(run=_payout)


@_friendly
def _payout(args: argparse.Namespace) -> int:
    """``mykey-server payout plan|zengin|precheck|accept|holder``: payouts, the names pre-check, the file."""
    conn = store.ensure(db.connect(args.db))
    try:
        if args.action == "holder":
            namecheck.set_holder(conn, args.kind, args.payee, args.name, ACTOR)
            print(f"{args.kind} {args.payee}: 口座名義 holder name 「{args.name}」")
            return 0
        periods.parse_period(args.period)
        if args.action in ("precheck", "accept"):
            return _names(conn, args)
        if args.action == "plan":
            result = payouts.plan(conn, args.period, args.payer)
            lines = [{k: v for k, v in p.items() if k != "account"} for p in result.payments]
            _print({"total": result.total, "payments": lines, "held": result.held})
        else:
            data = payouts.zengin_file(conn, args.period, args.payer, args.date)
            args.out.write_bytes(data)
            store.log(conn, ACTOR, "zengin", f"payout:{args.payer}:{args.period}", bytes=len(data))
            print(f"wrote {args.out} ({len(data)} bytes, {zengin.read(data).total:,} yen)")
    finally:
        conn.close()
    return 0


def _names(conn: sqlite3.Connection, args: argparse.Namespace) -> int:
    # The pre-check's listing (exit 1 while anything is unresolved), or one acceptance.
    if args.action == "accept":
        found = payouts.precheck(conn, args.period, args.payer).findings
        match = next((f for f in found if f.payee_id == args.payee and f.field == args.field), None)
        proposed = match.proposed if match is not None and match.proposed is not None else ""
        accepted = payouts.accept_name(conn, args.period, args.payer, args.payee, args.field, proposed, ACTOR)
        print("\n".join(namecheck.describe([accepted])))
        return 0
    check = payouts.precheck(conn, args.period, args.payer)
    print("\n".join(namecheck.describe(check.findings)) or "名義の指摘なし / no names to resolve")
    left = len(check.unresolved)
    print(f"銀行 {check.bank_code} 文字セット charset {check.charset}: 要対応 {left} 件 to resolve")
    return 1 if check.unresolved else 0
