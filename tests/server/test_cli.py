"""``mykey-server`` verbs: init, token, check, expire, admin verbs, and the one tree every part adds to."""

from __future__ import annotations

import argparse
import json
import pathlib

import pytest

from server import admin, auth, cli, db, keys, ledger
from server.settlement import cli as settlement_cli
from tests.server.conftest import Demo

PROGRAM_TOML = """
[[program]]
id = "tsu-silver"
name_ja = "津市シルバーポイント"
name_en = "Tsu Silver Points"
city = "tsu"
funding = { kind = "city", id = "tsu" }
eligibility_tag = "age65"
"""


def test_init_is_idempotent_and_keeps_the_ticket_key(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "fresh.db"
    assert cli.main(["init", "--db", str(path)]) == 0
    key = admin.ticket_signer(db.connect(path)).key_id
    assert cli.main(["init", "--db", str(path)]) == 0
    assert admin.ticket_signer(db.connect(path)).key_id == key


def test_the_ticket_key_is_sealed_and_rewrapped_with_a_new_key_file(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    path = tmp_path / "sealed.db"
    assert cli.main(["init", "--db", str(path)]) == 0
    assert keys.default_key_file(path).exists()
    key = admin.ticket_signer(db.connect(path)).key_id
    new_file = tmp_path / "elsewhere" / "kek"
    new_file.parent.mkdir()
    assert cli.main(["key", "rewrap", "--db", str(path), "--to", str(new_file)]) == 0
    assert "MYKEY_KEY_FILE" in capsys.readouterr().out
    with pytest.raises(keys.KeyUnavailable, match="sealed with"):
        admin.ticket_signer(db.connect(path))  # the old key file no longer opens it
    monkeypatch.setenv("MYKEY_KEY_FILE", str(new_file))
    assert admin.ticket_signer(db.connect(path)).key_id == key  # the same signing key


def test_admin_verbs_set_up_a_city_from_nothing(tmp_path: pathlib.Path, capsys) -> None:
    path = str(tmp_path / "tsu.db")
    toml = tmp_path / "programs.toml"
    toml.write_text(PROGRAM_TOML, encoding="utf-8")
    assert cli.main(["init", "--db", path]) == 0
    assert cli.main(["city", "add", "--db", path, "tsu", "津市"]) == 0
    assert cli.main(["chamber", "add", "--db", path, "tsu-cci", "津商工会議所", "--city", "tsu"]) == 0
    assert cli.main(["program", "put", "--db", path, str(toml)]) == 0
    assert cli.main([
        "merchant", "add", "--db", path, "tsu-shop", "津の店", "--invoice-number", "T9876543210987",
        "--chamber", "tsu-cci", "--bank-code", "0162", "--branch-code", "180", "--account-number", "1111111",
        "--holder-kana", "ﾂﾉﾐｾ",
    ]) == 0  # fmt: skip
    capsys.readouterr()
    assert cli.main(["token", "create", "--db", path, "--role", "terminal", "--id", "tsu-t1",
                     "--merchant", "tsu-shop", "--mode", "shop"]) == 0  # fmt: skip
    token = capsys.readouterr().out.strip()
    principal = auth.lookup(db.connect(path), token)
    assert principal is not None
    assert (principal.role, principal.merchant_id, principal.mode, principal.city_id) == (
        "terminal",
        "tsu-shop",
        "shop",
        "tsu",
    )
    conn = db.connect(path)
    row = conn.execute("SELECT bank_code, branch_code, account_holder_kana FROM merchants").fetchone()
    assert tuple(row) == ("0162", "180", "ﾂﾉﾐｾ")
    assert conn.execute("SELECT token_hash FROM tokens").fetchone()[0] == auth.hash_token(token)
    assert cli.main(["token", "revoke", "--db", path, "--id", "tsu-t1"]) == 0
    assert auth.lookup(db.connect(path), token) is None


def test_check_exits_non_zero_on_a_tampered_ledger(demo: Demo, capsys) -> None:
    assert cli.main(["check", "--db", str(demo.db_path)]) == 0
    conn = db.connect(demo.db_path)
    conn.execute("UPDATE accounts SET balance = balance + 1 WHERE kind = 'merchant' OR id = 1")
    assert cli.main(["check", "--db", str(demo.db_path)]) == 1
    assert "ledger inconsistent" in capsys.readouterr().out


def test_expire_returns_expired_points_to_their_funders(demo: Demo, capsys) -> None:
    assert cli.main(["expire", "--db", str(demo.db_path), "--today", "2099-01-01"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (
        report["points"]
        == sum({"tenri-megumi": 5000, "toshima-points": 1200, "oguni-kitasato": 3000}.values()) * 4
        + 2500
        + 20_000 * 4  # every card's Miyakonojo points (the special site's)
    )
    conn = db.connect(demo.db_path)
    assert conn.execute("SELECT SUM(balance) FROM accounts WHERE kind = 'resident'").fetchone()[0] == 0
    assert ledger.check(conn) == []


def test_demo_data_refuses_to_overwrite(demo: Demo) -> None:
    with pytest.raises(FileExistsError):
        if isinstance(demo.db_path, str):  # PostgreSQL: a database that holds data is not overwritten
            cli.main(["demo-data", "--dir", str(demo.directory / "again"), "--db", demo.db_path])
        else:
            cli.main(["demo-data", "--dir", str(demo.directory)])


def test_help_lists_every_verb_of_every_part(capsys) -> None:
    with pytest.raises(SystemExit) as done:
        cli.main(["--help"])
    assert done.value.code == 0
    listed = capsys.readouterr().out
    server_verbs = ["init", "serve", "demo-data", "token", "check", "expire", "city", "partner", "chamber",
                    "merchant", "program", "terminal"]  # fmt: skip
    settlement_verbs = ["period", "rank", "payer", "payout"]
    for verb in server_verbs + settlement_verbs:
        assert f"\n    {verb} " in listed or f"\n    {verb}\n" in listed, verb


def test_a_part_registers_its_verbs_with_their_handlers() -> None:
    parser = argparse.ArgumentParser()
    settlement_cli.register(parser.add_subparsers(dest="verb"))
    args = parser.parse_args(["period", "close", "--chamber", "tenri-cci", "2026-11"])
    assert (args.verb, args.action, args.chamber, args.period) == ("period", "close", "tenri-cci", "2026-11")
    assert callable(args.run)
