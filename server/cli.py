"""``mykey-server``: the settlement server's command line (filled in by the server issue)."""

from __future__ import annotations

import argparse


def main(argv: list[str] | None = None) -> int:
    """Parse the command line; the server's verbs arrive with the server issue."""
    parser = argparse.ArgumentParser(prog="mykey-server", description="mykey-pos settlement server")
    parser.parse_args(argv)
    parser.print_help()
    return 0
