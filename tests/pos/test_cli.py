"""``mykey-pos``: one command tree, every verb in ``--help``, no verb runs the counter app."""

from __future__ import annotations

import pytest

from pos import cli


def test_help_lists_every_verb_and_the_counter_options(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        cli.main(["--help"])
    assert done.value.code == 0
    listed = capsys.readouterr().out
    for verb in ("card", "print-test"):
        assert f"\n    {verb} " in listed, verb
    for option in ("--config", "--server", "--printer", "--reader", "--language"):
        assert option in listed


def test_no_verb_means_the_counter_app_with_its_options() -> None:
    args = cli.build_parser().parse_args(["--reader", "sim", "--language", "en"])
    assert (args.verb, args.reader, args.language) == (None, "sim", "en")


def test_each_verb_carries_its_handler() -> None:
    args = cli.build_parser().parse_args(["card", "probe", "--json", "--timeout", "1"])
    assert (args.verb, args.action, args.json, args.timeout) == ("card", "probe", True, 1.0)
    assert args.run.__module__ == "pos.card.probe"
    args = cli.build_parser().parse_args(["print-test", "--printer", "none"])
    assert args.run.__module__ == "pos.print_test" and args.printer == "none"
