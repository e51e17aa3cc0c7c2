"""``mykey-pos``: the counter terminal's command line (filled in by the card, printer and app issues)."""

from __future__ import annotations

import argparse


def main(argv: list[str] | None = None) -> int:
    """Parse the command line; the counter app arrives with its issue."""
    parser = argparse.ArgumentParser(prog="mykey-pos", description="mykey-pos counter terminal")
    parser.parse_args(argv)
    parser.print_help()
    return 0
