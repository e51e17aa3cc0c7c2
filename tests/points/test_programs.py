"""Programs as data: loaded from TOML, their rules reachable, bad files refused."""

from __future__ import annotations

import datetime as dt
import tomllib

import pytest
from pydantic import ValidationError

from points.money import format_points, format_yen
from points.programs import EventAward, PercentAward, TenderKind, load_programs

PROGRAMS = """
[[program]]
id = "tenri-megumi"
name_ja = "天理めぐみめぐるポイント"
name_en = "Tenri Megumi Meguru Points"
city = "tenri"
funding = { kind = "city", id = "tenri" }
expiry = { days = 180 }
[program.award_rule]
kind = "percent"
rate_permille = 100
unit = 100
minimum_receipt = 1000
receipt_cap = 50000

[[program]]
id = "oguni-kitasato"
name_ja = "小国町北里柴三郎ポイント"
name_en = "Oguni Kitasato Shibasaburo Points"
city = "oguni"
funding = { kind = "partner", id = "sky-airline" }
tender_kind = "discount"
accepted_by = { categories = ["food"] }
eligibility_tag = "age65"
expiry = { fixed_date = 2027-03-31 }
fee_share_permille = 25

[[program]]
id = "toshima-event"
name_ja = "としまポイント"
name_en = "Toshima Points"
city = "toshima"
funding = { kind = "city", id = "toshima" }
award_rule = { kind = "event", table = { volunteer = 200, event = 100, walk_rally = 500 } }
"""


def test_programs_load_from_toml_with_their_rules() -> None:
    tenri, oguni, toshima = load_programs(PROGRAMS)
    assert isinstance(tenri.award_rule, PercentAward)
    assert tenri.award_rule.points_for(12_345) == 1_200
    assert tenri.expiry.expires_on(dt.date(2026, 1, 1)) == dt.date(2026, 6, 30)
    assert oguni.display_name() == "小国町北里柴三郎ポイント"
    assert oguni.display_name("en") == "Oguni Kitasato Shibasaburo Points"
    assert oguni.tender_kind is TenderKind.DISCOUNT
    assert oguni.expiry.expires_on(dt.date(2026, 1, 1)) == dt.date(2027, 3, 31)
    assert oguni.accepted_by.accepts("m1", "food") and not oguni.accepted_by.accepts("m1", "retail")
    assert tenri.accepted_by.accepts("anyone", "anything")
    assert oguni.offline_limit == 0  # offline card redemption is off unless a city allows it
    assert isinstance(toshima.award_rule, EventAward)
    assert toshima.award_rule.points_for("volunteer") == 200


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ("fee_share_permille = 25", "fee_share_permille = 1.5"),
        ("expiry = { days = 180 }", "expiry = { days = 180, fixed_date = 2027-01-01 }"),
        ('city = "tenri"', 'city = "tenri"\nsurprise = 1'),
        ('city = "tenri"', ""),
    ],
)
def test_bad_program_files_are_refused(change: str, error: str) -> None:
    text = PROGRAMS.replace(change, error, 1)
    assert text != PROGRAMS
    with pytest.raises(ValidationError):
        load_programs(text)


def test_non_toml_is_refused() -> None:
    with pytest.raises(tomllib.TOMLDecodeError):
        load_programs("[[program]\nid=")


def test_amounts_are_written_the_japanese_way() -> None:
    assert format_yen(1_234) == "¥1,234"
    assert format_yen(0) == "¥0"
    assert format_yen(-500) == "-¥500"
    assert format_points(1_234) == "1,234 pt"
