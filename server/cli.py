"""``mykey-server``: the settlement server's command line, one tree of verbs.

The server's own verbs are registered here (:func:`register`): ``init``, ``serve``, ``demo-data``,
``token create|revoke``, ``check``, ``expire``, ``city add``, ``chamber add``, ``partner add``,
``merchant add|list``, ``program put|list``, ``terminal add``. Settlement registers its own
(``period``, ``rank``, ``payer``, ``payout``) in :func:`server.settlement.cli.register`. Each verb's
parser carries its handler (``set_defaults(run=...)``), so ``--help`` lists every verb and
dispatch needs no table.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import pathlib
import socket
import sqlite3
import sys
from collections.abc import Callable
from typing import Any

from points.programs import load_programs
from points.wire import EventInfo, Merchant, TerminalMode
from server import admin, approvals, auth, backup, crl, db, dbcopy, dburl, ledger, residents, schema
from server.settlement import cli as settlement_cli

DEFAULT_DB = os.environ.get("MYKEY_DB", "mykey.db")


def build_parser() -> argparse.ArgumentParser:
    """``mykey-server`` and every verb of every part."""
    parser = argparse.ArgumentParser(
        prog="mykey-server", description="mykey-pos settlement server (精算サーバー)"
    )
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    register(verbs)
    settlement_cli.register(verbs)
    backup.register(verbs)
    dbcopy.register(verbs)
    return parser


def register(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the server's own verbs (database, serving, principals, merchants, programs)."""

    def with_db(sub: argparse.ArgumentParser) -> argparse.ArgumentParser:
        sub.add_argument(
            "--db",
            default=DEFAULT_DB,
            help="the database: a SQLite file or sqlite:///path, or a postgresql:// URL"
            " (default $MYKEY_DB or mykey.db)",
        )
        return sub

    init = with_db(verbs.add_parser("init", help="create the database and its ticket issuing key"))
    init.set_defaults(run=_init)
    migrate = with_db(
        verbs.add_parser("migrate", help="bring the schema up to this release (refuses a newer one)")
    )
    migrate.set_defaults(run=_migrate)

    serve = with_db(verbs.add_parser("serve", help="serve the API over HTTP(S)"))
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000, help="0 picks a free port (printed on start)")
    serve.add_argument("--tls-cert", type=pathlib.Path)
    serve.add_argument("--tls-key", type=pathlib.Path)
    serve.add_argument(
        "--trust-ca",
        type=pathlib.Path,
        action="append",
        default=[],
        help="a CA certificate (PEM) card certificates may chain to; repeatable",
    )
    serve.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        help="worker processes sharing the port (each commits in its own groups)",
    )
    serve.set_defaults(run=_serve)

    demo = verbs.add_parser("demo-data", help="a demo database with tokens and cards in --dir")
    demo.add_argument(
        "--db",
        help="put the demo data in this (empty) postgresql:// database instead of DIR/mykey.db",
    )
    demo.add_argument(
        "--dir",
        type=pathlib.Path,
        default=pathlib.Path("."),
        help="where mykey.db, tokens.json and cards.json go (default: here, so `serve` finds it)",
    )
    demo.add_argument("--card-key", action="append", default=[], help="also give this card key demo balances")
    demo.add_argument(
        "--trust-ca",
        type=pathlib.Path,
        action="append",
        default=[],
        help="a CA certificate (PEM) the database trusts for card certificates",
    )
    demo.set_defaults(run=_demo)

    token_verb = verbs.add_parser("token", help="tokens of principals: create, revoke")
    token_verb.set_defaults(run=_token)
    token = token_verb.add_subparsers(dest="action", required=True)
    create = with_db(token.add_parser("create", help="a new token (printed once; only its hash is kept)"))
    create.add_argument("--role", required=True, choices=auth.ROLES)
    create.add_argument("--id", required=True, help="the principal's name (a terminal's is its terminal id)")
    for option in ("merchant", "chamber", "city", "partner"):
        create.add_argument(f"--{option}")
    create.add_argument("--shop", help="an online_shop's shop id (`shop create`)")
    create.add_argument("--mode", choices=[m.value for m in TerminalMode], help="a new terminal's mode")
    create.add_argument("--event", help="an award station's event as JSON (EventInfo)")
    revoke = with_db(token.add_parser("revoke", help="revoke every token of a principal"))
    revoke.add_argument("--id", required=True)

    key_verb = verbs.add_parser("key", help="the ticket-signing key's key-encryption key: rewrap")
    key_verb.set_defaults(run=_key)
    key = key_verb.add_subparsers(dest="action", required=True)
    rewrap = with_db(
        key.add_parser("rewrap", help="seal the ticket-signing key with a new key-encryption key (rotation)")
    )
    rewrap.add_argument(
        "--to", type=pathlib.Path, required=True, help="the new key file (made if it does not exist)"
    )

    check = with_db(
        verbs.add_parser("check", help="recompute balances from transfers; exit 1 on any difference")
    )
    check.set_defaults(run=_check)
    crl_verb = verbs.add_parser("crl", help="certificate revocation lists of the JPKI CA: import")
    crl_verb.set_defaults(run=_crl)
    crl_actions = crl_verb.add_subparsers(dest="action", required=True)
    crl_import = with_db(
        crl_actions.add_parser(
            "import", help="load a DER CRL checked against the trusted CA; block revoked certificates' keys"
        )
    )
    crl_import.add_argument("file", type=pathlib.Path, help="the CRL (DER)")
    crl_import.add_argument(
        "--trust-ca",
        type=pathlib.Path,
        action="append",
        default=[],
        help="a CA certificate (PEM) to check it against, beside those the database trusts",
    )
    expire = with_db(verbs.add_parser("expire", help="return expired lots and tickets to their funders"))
    expire.add_argument("--today", type=dt.date.fromisoformat, help="the business date (default: today, JST)")
    expire.set_defaults(run=_expire)

    site = verbs.add_parser("site", help="serve the city's special site (a client of the API)")
    site.add_argument("--api", required=True, help="the server's URL, e.g. http://127.0.0.1:8000")
    site.add_argument("--shop-token-file", required=True, type=pathlib.Path, help="the online_shop token")
    site.add_argument("--host", default="127.0.0.1")
    site.add_argument("--port", type=int, default=8100)
    site.add_argument("--name", default="特設サイト", help="the site's name in its pages' header")
    site.add_argument("--tls-cert", type=pathlib.Path)
    site.add_argument("--tls-key", type=pathlib.Path)
    site.add_argument("--api-ca", type=pathlib.Path, help="a CA file to verify the API's certificate with")
    site.set_defaults(run=_site)

    shop = _group(verbs, "shop", "online shops (a city's special site): create", _shop)
    shop_create = with_db(shop.add_parser("create", help="create or change an online shop"))
    shop_create.add_argument("--id", required=True)
    shop_create.add_argument("--name", required=True)
    shop_create.add_argument("--merchant", required=True, help="the merchant that runs the site")
    shop_create.add_argument("--city", required=True)
    shop_create.add_argument("--origin", required=True, help="the site's origin, https://host[:port]")
    shop_create.add_argument(
        "--program", action="append", default=[], help="a program the site accepts (repeat for more)"
    )

    city = _group(verbs, "city", "cities: add", _simple_add)
    city_add = with_db(city.add_parser("add"))
    city_add.add_argument("id")
    city_add.add_argument("name")
    partner = _group(verbs, "partner", "partners funding conversions: add", _simple_add)
    partner_add = with_db(partner.add_parser("add"))
    partner_add.add_argument("id")
    partner_add.add_argument("name")
    chamber = _group(verbs, "chamber", "chambers of commerce: add", _simple_add)
    chamber_add = with_db(chamber.add_parser("add"))
    chamber_add.add_argument("id")
    chamber_add.add_argument("name")
    chamber_add.add_argument("--city", required=True)
    _bank_options(chamber_add)

    merchant = _group(verbs, "merchant", "merchants: add, list", _merchant)
    merchant_add = with_db(merchant.add_parser("add"))
    merchant_add.add_argument("id")
    merchant_add.add_argument("name")
    merchant_add.add_argument("--invoice-number")
    merchant_add.add_argument("--category", default="general")
    merchant_add.add_argument("--chamber")
    merchant_add.add_argument("--address", default="")
    merchant_add.add_argument("--phone", default="")
    _bank_options(merchant_add)
    with_db(merchant.add_parser("list"))

    program = _group(verbs, "program", "programs: put from TOML, list", _program)
    program_put = with_db(program.add_parser("put", help="create or replace programs from a TOML file"))
    program_put.add_argument("file", type=pathlib.Path)
    with_db(program.add_parser("list"))

    terminal = _group(verbs, "terminal", "terminals: add", _terminal)
    terminal_add = with_db(terminal.add_parser("add"))
    terminal_add.add_argument("id")
    terminal_add.add_argument("--mode", required=True, choices=[m.value for m in TerminalMode])
    terminal_add.add_argument("--merchant")
    terminal_add.add_argument("--city")
    terminal_add.add_argument("--event", help="EventInfo as JSON (award stations)")


def _group(
    verbs: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    help_text: str,
    run: Callable[[argparse.Namespace], int],
) -> argparse._SubParsersAction[argparse.ArgumentParser]:
    """A verb with actions (``merchant add``, ``merchant list``), handled by ``run``."""
    group = verbs.add_parser(name, help=help_text)
    group.set_defaults(run=run)
    return group.add_subparsers(dest="action", required=True)


def _bank_options(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--bank-code")
    sub.add_argument("--branch-code")
    sub.add_argument("--account-type", default="ordinary", choices=["ordinary", "current", "savings"])
    sub.add_argument("--account-number")
    sub.add_argument("--holder-kana", help="the account holder in half-width katakana")


def _bank(args: argparse.Namespace) -> admin.BankAccount | None:
    if not args.bank_code:
        return None
    return admin.BankAccount(
        args.bank_code, args.branch_code, args.account_type, args.account_number, args.holder_kana
    )


def main(argv: list[str] | None = None) -> int:
    """Run one verb; returns the exit status."""
    args = build_parser().parse_args(argv)
    return int(args.run(args))


def _init(args: argparse.Namespace) -> int:
    admin.init(args.db)
    print(f"initialised {dburl.redact(str(args.db))}")
    return 0


def _migrate(args: argparse.Namespace) -> int:
    conn = db.connect(args.db)
    try:
        before = db.schema_version(conn)
        applied = schema.upgrade(conn)
    except db.SchemaTooNew as error:
        print(error, file=sys.stderr)
        return 2
    finally:
        conn.close()
    if not applied:
        print(f"{dburl.redact(str(args.db))} is at schema version {before}: nothing to do")
    for version in applied:
        print(f"applied {version}: {schema.MIGRATIONS[version - 1].why}")
    return 0


def listening_socket(host: str, port: int) -> socket.socket:
    """The server's bound TCP socket (port 0 picks a free one), ready for uvicorn.

    ``proto=IPPROTO_TCP`` matters: asyncio turns Nagle off (TCP_NODELAY) only on accepted sockets
    that say they are TCP; without it every answer waited ~40 ms for the client's delayed ACK.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock


def _serve(args: argparse.Namespace) -> int:
    import logging

    import uvicorn

    from server.app import create_app, tune_gc

    if not dburl.is_postgres_url(args.db) and not dburl.sqlite_path(args.db).exists():
        print(f"no database at {args.db}: run `mykey-server init --db {args.db}` first", file=sys.stderr)
        return 2
    logging.basicConfig(level=args.log_level.upper(), format="%(message)s", stream=sys.stderr)
    tls = args.tls_cert is not None and args.tls_key is not None
    # Bind the socket ourselves so that --port 0 can print the port it got.
    sock = listening_socket(args.host, args.port)
    port = sock.getsockname()[1]
    options: dict[str, Any] = {
        "log_level": "warning",
        "access_log": False,
        "ssl_certfile": str(args.tls_cert) if tls else None,
        "ssl_keyfile": str(args.tls_key) if tls else None,
        "timeout_keep_alive": 30,
    }
    print(f"mykey-server listening on {'https' if tls else 'http'}://{args.host}:{port}", flush=True)
    if args.workers > 1:
        from uvicorn.supervisors import Multiprocess

        # Worker processes import the app by name and read their settings from the environment.
        location = dburl.location(args.db)
        os.environ["MYKEY_SERVE_DB"] = location if isinstance(location, str) else str(location.resolve())
        os.environ["MYKEY_SERVE_TRUST"] = os.pathsep.join(str(p.resolve()) for p in args.trust_ca)
        config = uvicorn.Config("server.app:app_from_env", factory=True, workers=args.workers, **options)
        Multiprocess(config, sockets=[sock]).run()
        return 0
    app = create_app(args.db, trust_anchors=[path.read_bytes() for path in args.trust_ca])
    tune_gc()
    uvicorn.Server(uvicorn.Config(app, **options)).run(sockets=[sock])
    return 0


def _demo(args: argparse.Namespace) -> int:
    from server import demo

    tokens = demo.build(
        args.dir, args.card_key, [path.read_bytes() for path in args.trust_ca], db_url=args.db
    )
    where = dburl.redact(args.db) if args.db else "mykey.db"
    print(f"demo data in {args.dir}: {where}, tokens.json ({len(tokens)} principals), cards.json")
    return 0


def _key(args: argparse.Namespace) -> int:
    from server import keys

    new_kek = keys.kek_from_file(args.to) if args.to.exists() else keys.write_kek_file(args.to)
    conn = db.connect(args.db)
    try:
        kek_id = admin.rewrap_ticket_key(conn, new_kek)
    finally:
        conn.close()
    print(
        f"the ticket-signing key is now sealed with {kek_id} ({args.to}): set {keys.ENV_KEY_FILE}={args.to}"
        f" (or {keys.ENV_KEY}) for every server process, then destroy the old key"
    )
    return 0


def _token(args: argparse.Namespace) -> int:
    conn = db.connect(args.db)
    with db.atomic(conn):
        if args.action == "revoke":
            print(f"revoked {admin.revoke_tokens(conn, args.id)} token(s) of {args.id}")
            return 0
        exists = conn.execute("SELECT role FROM principals WHERE id = ?", (args.id,)).fetchone()
        if exists is not None and exists[0] != args.role:
            print(f"{args.id} is a {exists[0]}, not a {args.role}", file=sys.stderr)
            return 2
        if args.role == "online_shop" and (args.shop is None or approvals.shop_of(conn, args.shop) is None):
            print("an online_shop token needs --shop of a shop made by `shop create`", file=sys.stderr)
            return 2
        if exists is not None:
            token = auth.create_token(conn, args.id, admin.now_text())
        else:
            terminal_id = None
            if args.role == "terminal":
                terminal_id = args.id
                if conn.execute("SELECT 1 FROM terminals WHERE id = ?", (args.id,)).fetchone() is None:
                    event = None if args.event is None else EventInfo.model_validate_json(args.event)
                    mode = TerminalMode(args.mode or "shop")
                    admin.add_terminal(
                        conn, args.id, mode, merchant_id=args.merchant, city_id=args.city, event=event
                    )
            token = admin.add_principal(
                conn,
                args.id,
                args.role,
                terminal_id=terminal_id,
                merchant_id=None if args.role == "terminal" else args.merchant,
                chamber_id=args.chamber,
                city_id=None if args.role == "terminal" else args.city,
                partner_id=args.partner,
                # A library's or facility's principal is named after its issuer (server.memberships).
                issuer_id=args.id if args.role in ("library", "facility") else None,
                shop_id=args.shop if args.role == "online_shop" else None,
            )
        admin.log(conn, "cli", "token create", f"{args.role} {args.id}")
    print(token)
    return 0


def _crl(args: argparse.Namespace) -> int:
    from cryptography import x509

    from server.errors import ApiError

    conn = db.connect(args.db)
    try:
        schema.upgrade(conn)
        pems = [*admin.trust_anchors(conn), *(path.read_bytes() for path in args.trust_ca)]
        anchors = [x509.load_pem_x509_certificate(pem) for pem in pems]
        try:
            done = crl.import_crl(conn, args.file.read_bytes(), anchors, "cli", ledger.utc_now())
        except ApiError as error:
            print(error.message, file=sys.stderr)
            return 1
    finally:
        conn.close()
    until = "" if done.next_update is None else f", next update {done.next_update.isoformat()}"
    print(
        f"失効リストを取り込みました / CRL imported: {done.entries} entries ({done.new} new),"
        f" {done.blocked} card key(s) blocked{until}"
    )
    return 0


def _check(args: argparse.Namespace) -> int:
    conn = db.connect(args.db)
    problems = ledger.check(conn) + residents.problems(conn) + approvals.problems(conn)
    for problem in problems:
        print(problem)

    def rows(table: str) -> int:
        return int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])

    count = rows("transfers")
    sizes = ", ".join(f"{name} {rows(name)}" for name in ("accounts", "sales", "lots", "tickets"))
    print(f"{sizes}, refused offline sales {rows('refused_sales')}")
    if problems:
        print(
            f"台帳に不整合があります / ledger inconsistent: {len(problems)} problem(s) in {count} transfers"
        )
        return 1
    print(f"台帳は整合しています / ledger consistent: {count} transfers, balances sum to 0")
    return 0


def _expire(args: argparse.Namespace) -> int:
    conn = db.connect(args.db)
    now = ledger.utc_now()
    today = args.today or ledger.business_date(now)
    with db.atomic(conn):
        report = ledger.expire(conn, today, now)
        admin.log(conn, "cli", "expire", f"{today}: {report.points} points")
    print(
        json.dumps(
            {
                "today": today.isoformat(),
                "lots": report.lots,
                "tickets": report.tickets,
                "points": report.points,
                "by_program": report.by_program,
            },
            ensure_ascii=False,
        )
    )
    return 0


def _site(args: argparse.Namespace) -> int:
    from server.site.serve import serve  # the site's own dependencies, loaded only for it

    serve(
        args.api,
        args.shop_token_file,
        host=args.host,
        port=args.port,
        name=args.name,
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
        api_ca=args.api_ca,
    )
    return 0


def _shop(args: argparse.Namespace) -> int:
    conn = db.connect(args.db)
    try:
        with db.atomic(conn):
            shop = approvals.add_shop(
                conn,
                args.id,
                args.name,
                merchant_id=args.merchant,
                city_id=args.city,
                origin=args.origin,
                programs=args.program,
                now=ledger.utc_now(),
            )
            admin.log(conn, "cli", "shop create", args.id)
    except (ValueError, sqlite3.IntegrityError) as error:
        print(f"cannot create shop {args.id}: {error}", file=sys.stderr)
        return 2
    print(f"online shop {shop.id}: {shop.name} at {shop.origin}, programs {', '.join(shop.programs) or '-'}")
    return 0


def _simple_add(args: argparse.Namespace) -> int:
    conn = db.connect(args.db)
    with db.atomic(conn):
        if args.verb == "city":
            admin.add_city(conn, args.id, args.name)
        elif args.verb == "partner":
            admin.add_partner(conn, args.id, args.name)
        elif args.verb == "chamber":
            admin.add_chamber(conn, args.id, args.name, args.city, _bank(args))
        admin.log(conn, "cli", f"{args.verb} add", args.id)
    print(f"added {args.verb} {args.id}")
    return 0


def _merchant(args: argparse.Namespace) -> int:
    conn = db.connect(args.db)
    if args.action == "list":
        for row in conn.execute(
            "SELECT id, name, invoice_number, category, chamber_id FROM merchants ORDER BY id"
        ):
            print("\t".join(str(value) for value in tuple(row)))
        return 0
    merchant = Merchant(
        id=args.id,
        name=args.name,
        address=args.address,
        phone=args.phone,
        invoice_number=args.invoice_number,
        category=args.category,
        chamber_id=args.chamber,
    )
    with db.atomic(conn):
        admin.add_merchant(conn, merchant, _bank(args))
        admin.log(conn, "cli", "merchant add", args.id)
    print(f"added merchant {args.id}")
    return 0


def _program(args: argparse.Namespace) -> int:
    conn = db.connect(args.db)
    if args.action == "list":
        for row in conn.execute(
            "SELECT id, city_id, funding_kind, funding_id, payout FROM programs ORDER BY id"
        ):
            print("\t".join(str(value) for value in tuple(row)))
        return 0
    programs = load_programs(args.file.read_text(encoding="utf-8"))
    with db.atomic(conn):
        for program in programs:
            admin.put_program(conn, program)
            admin.log(conn, "cli", "program put", program.id)
    print(f"stored {len(programs)} program(s)")
    return 0


def _terminal(args: argparse.Namespace) -> int:
    conn = db.connect(args.db)
    event = None if args.event is None else EventInfo.model_validate_json(args.event)
    with db.atomic(conn):
        admin.add_terminal(
            conn, args.id, TerminalMode(args.mode), merchant_id=args.merchant, city_id=args.city, event=event
        )
        admin.log(conn, "cli", "terminal add", args.id)
    print(f"added terminal {args.id}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
