"""``mykey-settle``: the settlement console's launcher, for chamber and city clerks, over HTTP.

``mykey-settle --url http://127.0.0.1:8080 --token-file TOKEN [--period 2026-11] [--out DIR]`` runs
the console in the terminal; ``mykey-settle serve --port 8001 ...`` serves the same console to a
browser on 127.0.0.1 (textual-serve) for clerks without a terminal habit. The token comes from
``--token-file``, ``$MYKEY_SETTLE_TOKEN`` or ``--token`` (in that order of preference: a token on
the command line is visible to other users of the machine).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import pathlib
import shlex
import sys

from server.console.client import SettleClient


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mykey-settle", description="精算コンソール / settlement console")
    parser.add_argument(
        "command",
        nargs="?",
        choices=["run", "serve"],
        default="run",
        help="run (the default): the console in this terminal; serve: the console for a browser",
    )
    parser.add_argument("--url", default=os.environ.get("MYKEY_SERVER", "http://127.0.0.1:8080"))
    parser.add_argument("--token-file", type=pathlib.Path, help="a file holding the clerk's token")
    parser.add_argument("--token", help="the clerk's token (prefer --token-file or $MYKEY_SETTLE_TOKEN)")
    parser.add_argument("--period", help="the period to open (default: last month)")
    parser.add_argument("--out", type=pathlib.Path, default=pathlib.Path("."), help="where downloads go")
    parser.add_argument("--date", type=dt.date.fromisoformat, help="振込日 transfer date for Zengin files")
    parser.add_argument("--host", default="127.0.0.1", help="serve: the address to listen on")
    parser.add_argument("--port", type=int, default=8001, help="serve: the port")
    return parser


def _token(args: argparse.Namespace) -> str | None:
    if args.token_file is not None:
        return str(args.token_file.read_text(encoding="utf-8")).strip()
    token: str | None = os.environ.get("MYKEY_SETTLE_TOKEN") or args.token
    return token


def main(argv: list[str] | None = None) -> int:
    """Run the console, or serve it to a browser."""
    args = _parser().parse_args(argv)
    token = _token(args)
    if not token:
        print(
            "トークンが必要です / A token is required (--token-file or $MYKEY_SETTLE_TOKEN)", file=sys.stderr
        )
        return 2
    if args.command == "serve":
        return _serve(args, token)
    from points import calendar
    from server.console.app import SettleApp

    # The month before today's Japan-time date, whatever zone the clerk's machine is set to.
    period = args.period or calendar.previous_month(calendar.today()).id
    app = SettleApp(SettleClient(args.url, token), period, args.out, args.date, who=args.url)
    app.run()
    return 0


def _serve(args: argparse.Namespace, token: str) -> int:
    from textual_serve.server import Server

    # Each browser session runs the console as a child process; the token travels in its
    # environment, never on a command line.
    os.environ["MYKEY_SETTLE_TOKEN"] = token
    command = [sys.executable, "-m", "server.console.cli", "--url", args.url, "--out", str(args.out)]
    if args.period:
        command += ["--period", args.period]
    if args.date:
        command += ["--date", args.date.isoformat()]
    Server(shlex.join(command), host=args.host, port=args.port, title="mykey 精算コンソール").serve()
    return 0


if __name__ == "__main__":
    sys.exit(main())
