"""Catalogs cover every word the counter shows and compile; settings are checked, round-trip and
keep the token private."""

from __future__ import annotations

import gettext
import io
import os
import pathlib
import re
import stat
import tomllib
from types import SimpleNamespace

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_keywords
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from pos import i18n, settings
from printers.errors import PrinterPermission

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIELD = re.compile(r"\{(\w*)[^{}]*\}")


def used_message_ids() -> set[str]:
    """Every message id in pos/ and printers/, found as ``pybabel extract`` finds them."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["babel"]
    options = config["extract_messages"]
    keywords = {**i18n_default_keywords(), **parse_keywords(options["keywords"].split())}
    found: set[str] = set()
    for folder in options["input_paths"]:
        for _file, _line, message, _comments, _context in extract_from_dir(
            ROOT / folder, method_map=[("**.py", "python")], keywords=keywords
        ):
            found.add(message if isinstance(message, str) else message[0])
    return found


def i18n_default_keywords() -> dict[str, object]:
    from babel.messages.extract import DEFAULT_KEYWORDS

    return dict(DEFAULT_KEYWORDS)


def catalog(language: str):  # type: ignore[no-untyped-def]
    with i18n.catalog_path(language).open("rb") as source:
        return read_po(source, locale=language, domain=i18n.DOMAIN)


def test_every_message_id_in_the_code_is_in_both_catalogs_and_translated_into_japanese() -> None:
    used = used_message_ids()
    assert len(used) > 150 and "Please touch your card" in used
    assert "The printer is out of paper. Load a new roll and print again." in used  # printers/ too
    for language in i18n.LANGUAGES:
        ids = {message.id for message in catalog(language) if message.id}
        assert sorted(used - ids) == [], f"missing from {language}"
    japanese = {message.id: message.string for message in catalog("ja") if message.id}
    assert sorted(m for m in used if not japanese.get(m)) == []


@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_every_catalog_compiles_and_keeps_the_fields_of_its_ids(language: str) -> None:
    messages = catalog(language)
    out = io.BytesIO()
    write_mo(out, messages)
    compiled = gettext.GNUTranslations(io.BytesIO(out.getvalue()))
    for message in messages:
        if message.id and message.string:
            assert (
                FIELD.findall(message.string)
                and sorted(FIELD.findall(message.string)) == sorted(FIELD.findall(message.id))
            ) or not FIELD.findall(message.id), message.id
            assert compiled.gettext(message.id) == message.string


def test_language_switches_and_english_keeps_the_ids() -> None:
    try:
        i18n.set_language("en")
        assert i18n._("Please touch your card") == "Please touch your card"
        i18n.set_language("ja")
        assert i18n._("Please touch your card") == "カードをタッチしてください"
    finally:
        i18n.set_language("ja")


def test_errors_are_put_into_words_in_either_language() -> None:
    denied = PrinterPermission("file:///dev/usb/lp0: Permission denied")
    assert i18n.explain(denied, "ja") == "プリンターを使う権限がありません。"
    assert i18n.explain(denied, "en") == "This user is not allowed to use the printer."
    assert i18n.translate("Tries left: {n}", "ja", n=2) == "残り回数: 2"


def test_a_missing_or_older_mo_file_gives_way_to_its_po(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "ja" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    po = folder / f"{i18n.DOMAIN}.po"
    header = 'msgid ""\nmsgstr ""\n"Language: ja\\n"\n\n'
    po.write_text(header + 'msgid "Quit"\nmsgstr "やめる"\n', encoding="utf-8")
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)
    i18n.translations.cache_clear()
    try:
        assert i18n.translations("ja").gettext("Quit") == "やめる"  # no .mo at all
        mo = po.with_suffix(".mo")
        mo.write_bytes(i18n.compile_catalog(po, "ja"))
        po.write_text(po.read_text(encoding="utf-8").replace("やめる", "終わる"), encoding="utf-8")
        os.utime(mo, (1, 1))  # the .po was edited after the .mo was built
        i18n.translations.cache_clear()
        assert i18n.translations("ja").gettext("Quit") == "終わる"
        with pytest.raises(FileNotFoundError):
            i18n.translations("fr")
    finally:
        i18n.translations.cache_clear()


@pytest.mark.parametrize(("language", "done"), [("en", "Done"), ("ja", "完了")])
async def test_the_key_bar_speaks_the_language_set_after_the_screens_were_imported(
    language: str, done: str
) -> None:
    from textual.app import App

    from pos.printing import PrintOutcome
    from pos.screens.receipt import ReceiptScreen  # its bindings were made at import

    class Host(App[None]):
        def on_mount(self) -> None:
            counter = SimpleNamespace(config=None)  # a screen needs only the config for its title
            self.push_screen(ReceiptScreen(counter, PrintOutcome(data=b"", preview=[]), "t"))  # type: ignore[arg-type]

    i18n.set_language(language)
    try:
        async with Host().run_test() as pilot:
            await pilot.pause()
            shown = {active.binding.description for active in pilot.app.screen.active_bindings.values()}
            assert done in shown
    finally:
        i18n.set_language("ja")


# Settings -----------------------------------------------------------------------------


def test_settings_round_trip_and_the_token_file_is_owner_only(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "config.toml"
    saved = settings.Settings(
        server_url="http://127.0.0.1:9", printer="tcp://127.0.0.1:9100", token="s3cret", path=path
    )
    settings.save(saved)
    assert "s3cret" not in path.read_text() and "s3cret" not in repr(saved)
    assert stat.S_IMODE((tmp_path / "token").stat().st_mode) == 0o600
    loaded = settings.load(path)
    assert loaded.server_url == "http://127.0.0.1:9" and loaded.token == "s3cret"
    assert settings.with_overrides(loaded, printer=None, reader="sim").reader == "sim"
    assert settings.with_overrides(loaded, mode="award").mode == "award"


def test_a_missing_file_gives_the_defaults(tmp_path: pathlib.Path) -> None:
    loaded = settings.load(tmp_path / "config.toml")
    assert (loaded.language, loaded.paper_width, loaded.raster, loaded.printer) == ("ja", 48, False, "none")


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("colour = 1", "unknown setting 'colour'"),
        ('token = "s3cret"', "unknown setting 'token'"),  # the token has its own file
        ('language = "fr"', "language: Input should be 'ja' or 'en', not 'fr'"),
        ("paper_width = 33", "paper_width: Input should be 32, 42 or 48, not 33"),
        ('paper_width = "48"', "paper_width:"),
        ("paper_width = 48.0", "paper_width:"),
        ("raster = 1", "raster: Input should be a valid boolean, not 1"),
        ('server_url = "127.0.0.1:8000"', "server_url:"),
        ('printer = "lpt://1"', "printer: lpt://1: unknown printer kind 'lpt'"),
        ('reader = ""', "reader:"),
        ("journal = 5", "journal: Input should be a valid string"),
        ("server_url = [", "config.toml"),
    ],
)
def test_a_wrong_setting_is_refused_naming_its_key(tmp_path: pathlib.Path, line: str, says: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(line + "\n")
    with pytest.raises(settings.SettingsError) as refused:
        settings.load(path)
    assert says in str(refused.value)
    assert str(path) in str(refused.value)


def test_settings_made_in_code_are_checked_too() -> None:
    with pytest.raises(settings.SettingsError, match="unknown setting 'colour'"):
        settings.make(colour="blue")
    with pytest.raises(settings.SettingsError, match="paper_width"):
        settings.replace(settings.Settings(), paper_width=33)
    with pytest.raises(ValueError):
        settings.Settings().paper_width = 33  # type: ignore[assignment]
