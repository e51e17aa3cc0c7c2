"""Settlement's ``mykey-server`` verbs: the first as the console script an administrator types, the
rest through the same ``server.cli.main`` in process (each subprocess costs a second of imports)."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys
from dataclasses import dataclass

import pytest

from server import demo
from server.cli import main

SERVER = [sys.executable, "-c", "import sys; from server.cli import main; sys.exit(main())"]


def as_script(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*SERVER, *args], capture_output=True, text=True, timeout=60)


@dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str


def run_in_process(capsys: pytest.CaptureFixture[str], *args: str) -> Ran:
    capsys.readouterr()
    code = main(list(args))
    out = capsys.readouterr()
    return Ran(code, out.out, out.err)


def test_period_payer_payout_and_rank_verbs(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    demo.build(tmp_path, [], [])
    database = str(tmp_path / "mykey.db")
    closed = as_script("period", "close", "--db", database, "--chamber", "tenri-cci", "2026-11")
    assert closed.returncode == 0, closed.stderr
    assert json.loads(closed.stdout)["already_closed"] is False

    def run(*args: str) -> Ran:
        return run_in_process(capsys, *args)

    bad = run("period", "close", "--db", database, "--chamber", "tenri-cci", "2026-13")
    assert bad.returncode == 1 and "bad_period" not in bad.stderr and "2026-13" in bad.stderr
    reopened = run(
        "period", "reopen", "--db", database, "--chamber", "tenri-cci", "--reason", "試験", "2026-11"
    )
    assert reopened.returncode == 0, reopened.stderr
    payer = run(
        "payer", "set", "--db", database, "--owner", "city:tenri", "--code", "1234567890",
        "--name", "テンリシ", "--bank", "0162", "--branch", "180", "--number", "1111111",
    )  # fmt: skip
    assert payer.returncode == 0 and json.loads(payer.stdout)["requester_code"] == "1234567890"
    unknown_branch = run(
        "payer", "set", "--db", database, "--owner", "city:tenri", "--code", "1", "--name", "ﾃﾝﾘ",
        "--bank", "0162", "--branch", "999", "--number", "1",
    )  # fmt: skip
    assert unknown_branch.returncode == 1 and "999" in unknown_branch.stderr
    out = tmp_path / "zengin.txt"
    written = run(
        "payout", "zengin", "--db", database, "--payer", "city:tenri", "--period", "2026-11",
        "--date", "2026-12-10", "--out", str(out),
    )  # fmt: skip
    # The reopened month has nothing approved for payment: no empty file for the bank.
    assert written.returncode == 1 and "支払承認済みの請求がない" in written.stderr and not out.exists()
    ranked = run("rank", "--db", database, "--program", "tenri-megumi", "--round", "x", "--threshold", "1",
                 "--top", "2", "--dry-run")  # fmt: skip
    assert [line["rank"] for line in json.loads(ranked.stdout)] == [1, 2]
