"""``mykey-settle``: the settlement console for chamber and city clerks (the settlement issue)."""

from __future__ import annotations

import argparse


def main(argv: list[str] | None = None) -> int:
    """Parse the command line; the console arrives with the settlement issue."""
    parser = argparse.ArgumentParser(prog="mykey-settle", description="mykey-pos settlement console")
    parser.parse_args(argv)
    parser.print_help()
    return 0
