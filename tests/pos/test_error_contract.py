"""The contract between the counter and the server's error catalog: same codes, same statuses, words for each.

The counter reads a refusal by its code (``pos.sync.REFUSALS``) and shows its own catalog text;
the server's codes and statuses are one table (``server.errors.catalog()``). A code renamed or a
status changed on one side only fails here, not at a shop counter.
"""

from __future__ import annotations

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

import server.app  # noqa: F401  (imports every subsystem, so each catalog is listed)
from pos.i18n import DOMAIN, LOCALE_DIR
from pos.sync import REFUSALS, refusal_text
from server.errors import catalog

SERVER = catalog()


def test_every_code_the_counter_handles_is_the_servers_with_the_same_status() -> None:
    wrong = {
        code: (status, SERVER[code][0] if code in SERVER else None)
        for code, (status, _msgid) in REFUSALS.items()
        if code not in SERVER or SERVER[code][0] != status
    }
    assert wrong == {}, "counter code → (counter's status, server's status)"


def test_every_code_the_server_can_send_has_words_on_the_counter() -> None:
    assert sorted(set(SERVER) - set(REFUSALS)) == []


def test_the_settlement_catalog_is_part_of_the_servers_table() -> None:
    assert {"bad_period", "period_not_closed", "claim_state"} <= set(SERVER)
    assert {"insufficient_points", "pin_required", "ticket_already_redeemed"} <= set(SERVER)


def test_every_refusal_message_is_in_both_catalogs_and_japanese_first() -> None:
    def catalog(language: str) -> Catalog:
        with (LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po").open("rb") as po:
            return read_po(po, locale=language)

    ja, en = catalog("ja"), catalog("en")
    untranslated = [msgid for _status, msgid in REFUSALS.values() if not (ja.get(msgid) and ja[msgid].string)]
    missing_en = [msgid for _status, msgid in REFUSALS.values() if en.get(msgid) is None]
    assert untranslated == [] and missing_en == []


@pytest.mark.parametrize(
    ("code", "japanese"),
    [
        ("insufficient_points", "ポイントが足りません"),
        ("pin_required", "暗証番号"),
        ("ticket_already_redeemed", "使用"),
        ("terminal_mode", "端末の用途"),
    ],
)
def test_a_refusal_is_shown_in_the_counters_own_words_with_its_code(code: str, japanese: str) -> None:
    text = refusal_text(code, "ja")
    assert japanese in text and f"({code})" in text
    assert SERVER[code][2] not in text  # not the server's English


def test_a_code_the_counter_does_not_know_still_says_refused_and_names_it() -> None:
    assert refusal_text("something_new", "ja") == "サーバーが取引を受け付けませんでした。 (something_new)"
