"""``mykey-settle``: the settlement console's launcher, for chamber and city clerks, over HTTP.

``mykey-settle --url http://127.0.0.1:8000 [--token-file TOKEN] [--period 2026-11] [--out DIR]
[--language en]`` runs the console in the terminal (in Japanese; in English with ``--language en``);
without a token it asks for one on its sign-in screen. The token comes
from ``--token-file``, ``$MYKEY_SETTLE_TOKEN`` or ``--token`` (in that order of preference: a token
on the command line is visible to other users of the machine).

``mykey-settle serve --port 8001 ...`` serves the console to browsers (textual-serve). It takes no
token: ``--token``/``--token-file`` are refused and ``$MYKEY_SETTLE_TOKEN`` is dropped, so each
browser session (the internal ``session`` verb, one process per tab) signs in for itself. It listens
on 127.0.0.1 unless told otherwise, and beyond loopback only with ``--tls-cert``/``--tls-key``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import pathlib
import sys

from server.console import words
from server.console.client import SettleClient
from server.console.words import _

DEFAULT_IDLE_MINUTES = 15.0
#: The server as the README starts it (``mykey-server serve --port 8000``, its default port).
DEFAULT_URL = "http://127.0.0.1:8000"


def _language(argv: list[str] | None) -> str:
    """The ``--language`` asked for, read before the parser is built so its help is in that language."""
    early = argparse.ArgumentParser(add_help=False)
    early.add_argument("--language", choices=words.LANGUAGES, default=words.DEFAULT_LANGUAGE)
    return str(early.parse_known_args(argv)[0].language)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mykey-settle", description=_("Settlement console"))
    parser.add_argument(
        "command",
        nargs="?",
        choices=["run", "serve", "session"],
        default="run",
        help=_(
            "run (the default): the console in this terminal; serve: the console for browsers;"
            " session: one browser's console (started by serve)"
        ),
    )
    parser.add_argument("--url", default=os.environ.get("MYKEY_SERVER", DEFAULT_URL))
    parser.add_argument("--token-file", type=pathlib.Path, help=_("run: a file holding the clerk's token"))
    parser.add_argument(
        "--token", help=_("run: the clerk's token (prefer --token-file or $MYKEY_SETTLE_TOKEN)")
    )
    parser.add_argument("--period", help=_("the period to open (default: last month)"))
    parser.add_argument("--out", type=pathlib.Path, default=pathlib.Path("."), help=_("where downloads go"))
    parser.add_argument("--date", type=dt.date.fromisoformat, help=_("transfer date of Zengin files"))
    parser.add_argument(
        "--language", choices=words.LANGUAGES, default=words.DEFAULT_LANGUAGE, help=_("ja (default) or en")
    )
    parser.add_argument("--host", default="127.0.0.1", help=_("serve: the address to listen on"))
    parser.add_argument("--port", type=int, default=8001, help=_("serve: the port (0: any free port)"))
    parser.add_argument("--tls-cert", type=pathlib.Path, help=_("serve: TLS certificate (PEM)"))
    parser.add_argument("--tls-key", type=pathlib.Path, help=_("serve: TLS private key (PEM)"))
    parser.add_argument(
        "--idle-minutes",
        type=float,
        help=_(
            "sign out after this many minutes without a key or click (serve: default {minutes})",
            minutes=f"{DEFAULT_IDLE_MINUTES:g}",
        ),
    )
    return parser


def _token(args: argparse.Namespace) -> str | None:
    if args.token_file is not None:
        return str(args.token_file.read_text(encoding="utf-8")).strip()
    token: str | None = os.environ.get("MYKEY_SETTLE_TOKEN") or args.token
    return token


def _idle(args: argparse.Namespace, default: float | None) -> dt.timedelta | None:
    minutes = args.idle_minutes if args.idle_minutes is not None else default
    return None if minutes is None or minutes <= 0 else dt.timedelta(minutes=minutes)


def main(argv: list[str] | None = None) -> int:
    """Run the console, serve it to browsers, or run one browser's session."""
    words.set_language(_language(argv))
    args = _parser().parse_args(argv)
    if args.command == "serve":
        return _serve(args)
    from points import calendar
    from server.console.app import SettleApp

    # The month before today's Japan-time date, whatever zone the clerk's machine is set to.
    period = args.period or calendar.previous_month(calendar.today()).id
    if args.command == "session":
        # Started by `serve` for one browser: never reads a token, only the browser's address.
        from server.console.serve import REMOTE_ENV, end_with_parent

        end_with_parent()
        client = SettleClient(args.url)
        remote = os.environ.get(REMOTE_ENV, "-")
        idle = _idle(args, DEFAULT_IDLE_MINUTES)
        app = SettleApp(
            client, period, args.out, args.date, who=args.url, remote=remote, idle=idle,
            language=args.language,
        )  # fmt: skip
    else:
        client = SettleClient(args.url, _token(args))
        app = SettleApp(
            client, period, args.out, args.date, who=args.url, idle=_idle(args, None), language=args.language
        )
    app.run()
    return 0


def _refuse(message: str) -> int:
    print(message, file=sys.stderr)
    return 2


def _serve(args: argparse.Namespace) -> int:
    from server.console.serve import ConsoleServer, is_loopback, tls_context

    if args.token is not None or args.token_file is not None:
        return _refuse(_("serve takes no token: each browser signs in for itself"))
    if os.environ.pop("MYKEY_SETTLE_TOKEN", None):
        print(_("$MYKEY_SETTLE_TOKEN is ignored: each browser signs in for itself"), file=sys.stderr)
    if (args.tls_cert is None) != (args.tls_key is None):
        return _refuse(_("Give both --tls-cert and --tls-key"))
    tls = tls_context(args.tls_cert, args.tls_key) if args.tls_cert is not None else None
    if tls is None and not is_loopback(args.host):
        return _refuse(
            _(
                "Listening on {host} needs TLS (--tls-cert, --tls-key); without it only loopback",
                host=args.host,
            )
        )
    minutes = args.idle_minutes if args.idle_minutes is not None else DEFAULT_IDLE_MINUTES
    command = [
        sys.executable, "-m", "server.console.cli", "session", "--url", args.url, "--out", str(args.out),
        "--idle-minutes", f"{minutes:g}", "--language", args.language,
    ]  # fmt: skip
    if args.period:
        command += ["--period", args.period]
    if args.date:
        command += ["--date", args.date.isoformat()]
    ConsoleServer(command, args.host, args.port, tls=tls, title=_("mykey settlement console")).serve()
    return 0


if __name__ == "__main__":
    sys.exit(main())
