"""``mykey-pos --mode library --library sip2://…`` starts the counter app on the library desk."""

from __future__ import annotations

import pathlib

import pytest

from pos import app as app_module
from pos.library.sip2 import system_from_url
from pos.screens.library import LibraryScreen
from pos.screens.problem import ProblemScreen
from pos.settings import SettingsError

OMUTA = "sip2://desk-omuta:omuta-sip2@127.0.0.1:6001/OMUTA?name=%E5%A4%A7%E7%89%9F%E7%94%B0%E5%B8%82%E7%AB%8B%E5%9B%B3%E6%9B%B8%E9%A4%A8"


def args(tmp_path: pathlib.Path, *extra: str):  # type: ignore[no-untyped-def]
    return app_module.parse_args(
        [
            "--config",
            str(tmp_path / "config.toml"),
            "--journal",
            str(tmp_path / "j.db"),
            "--reader",
            "sim",
            *extra,
        ]
    )


def test_a_sip2_address_names_the_login_the_institution_and_the_library() -> None:
    system = system_from_url(OMUTA)
    assert (system.host, system.port, system.institution_id) == ("127.0.0.1", 6001, "OMUTA")
    assert (system.login_user, system.login_password, system.name) == (
        "desk-omuta",
        "omuta-sip2",
        "大牟田市立図書館",
    )
    assert "omuta-sip2" not in repr(system)
    for wrong in (
        "http://127.0.0.1:6001/OMUTA",
        "sip2://127.0.0.1:6001/OMUTA",
        "sip2://desk@127.0.0.1:6001/",
    ):
        with pytest.raises(ValueError, match="sip2://"):
            system_from_url(wrong)


def test_library_mode_opens_the_library_desk(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MYKEY_POS_LIBRARY", raising=False)
    built = app_module.build(args(tmp_path, "--mode", "library", "--library", OMUTA))
    assert built.library is not None and built.library.library_name == "大牟田市立図書館"
    assert isinstance(built.first_screen(), LibraryScreen)


def test_library_mode_without_a_library_system_says_how_to_start(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MYKEY_POS_LIBRARY", raising=False)
    assert isinstance(app_module.build(args(tmp_path, "--mode", "library")).first_screen(), ProblemScreen)
    monkeypatch.setenv("MYKEY_POS_LIBRARY", "sip2://nobody")
    with pytest.raises(SettingsError, match="--library"):
        app_module.build(args(tmp_path, "--mode", "library"))
