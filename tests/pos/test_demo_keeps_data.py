"""``make demo`` removes its folder only when nothing in it is unconfirmed."""

from __future__ import annotations

import pathlib

from pos import demo
from pos.journal import Journal
from tests.pos.test_journal import LINES, answer_for, make_sale


def test_a_clean_day_may_be_removed(tmp_path: pathlib.Path) -> None:
    journal = Journal(tmp_path / "journal.db")
    sale = make_sale()
    entry = journal.begin_sale(sale, LINES)
    journal.accept(entry.id, answer_for(sale))
    journal.mark_printed(entry.id)
    journal.close()
    assert demo.keep_reason(tmp_path, 0) is None


def test_an_unsent_offline_sale_keeps_the_folder(tmp_path: pathlib.Path) -> None:
    journal = Journal(tmp_path / "journal.db")
    journal.begin_sale(make_sale(), LINES, offline=True)
    journal.close()
    reason = demo.keep_reason(tmp_path, 0)
    assert reason is not None and "未送信 1" in reason


def test_a_pending_sale_a_logged_error_or_a_crash_keeps_the_folder(tmp_path: pathlib.Path) -> None:
    assert demo.keep_reason(tmp_path, 1) is not None  # the app ended badly
    (tmp_path / "errors.log").write_text("RuntimeError")
    assert demo.keep_reason(tmp_path, 0) is not None
    (tmp_path / "errors.log").unlink()
    journal = Journal(tmp_path / "journal.db")
    journal.begin_sale(make_sale(), LINES)
    journal.close()
    assert demo.keep_reason(tmp_path, 0) is not None
