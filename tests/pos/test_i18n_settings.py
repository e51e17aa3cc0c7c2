"""Catalogs cover every string on screen; settings round-trip and keep the token private."""

from __future__ import annotations

import ast
import pathlib
import stat

import pytest

from pos import i18n, settings

POS = pathlib.Path(i18n.__file__).parent


def message_ids() -> set[str]:
    """Every ``_("...")`` and refusal message in the app (not the card or printer parts)."""
    found: set[str] = set()
    for path in POS.rglob("*.py"):
        if "card" in path.parts or path.name == "print_test.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
                name = getattr(node.func, "id", getattr(node.func, "attr", ""))
                if name in ("_", "N_"):
                    found.add(node.args[0].value)
                if name == "TenderRefused" and len(node.args) > 1 and isinstance(node.args[1], ast.Constant):
                    found.add(node.args[1].value)
    return found


def test_every_message_has_a_japanese_translation() -> None:
    catalog = i18n.translations("ja").catalog
    missing = sorted(m for m in message_ids() if m not in catalog)
    assert missing == []
    assert len(catalog) > 100


def test_language_switches_and_english_keeps_the_ids() -> None:
    try:
        i18n.set_language("en")
        assert i18n._("Please touch your card") == "Please touch your card"
        i18n.set_language("ja")
        assert i18n._("Please touch your card") == "カードをタッチしてください"
    finally:
        i18n.set_language("ja")


def test_po_parser_reads_continued_strings_and_skips_the_header() -> None:
    text = 'msgid ""\nmsgstr "Language: ja\\n"\n\n# c\nmsgid "a"\n"b"\nmsgstr "あ"\n"い"\n'
    assert i18n.parse_po(text) == {"ab": "あい"}


def test_settings_round_trip_and_the_token_file_is_owner_only(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "config.toml"
    saved = settings.Settings(
        server_url="http://127.0.0.1:9", printer="tcp://127.0.0.1:9100", token="s3cret", path=path
    )
    settings.save(saved)
    assert "s3cret" not in path.read_text()
    assert stat.S_IMODE((tmp_path / "token").stat().st_mode) == 0o600
    loaded = settings.load(path)
    assert loaded.server_url == "http://127.0.0.1:9" and loaded.token == "s3cret"
    assert settings.with_overrides(loaded, printer=None, reader="sim").reader == "sim"


def test_broken_or_unknown_settings_are_refused(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('language = "fr"\n')
    with pytest.raises(settings.SettingsError):
        settings.load(path)
    path.write_text("colour = 1\n")
    with pytest.raises(settings.SettingsError):
        settings.load(path)
