"""The offline block list travels as deltas: a terminal sends the version it holds, gets what changed.

Issue 14's leftover: 100,000 blocked keys are 7 MB in every configuration. Runs on both databases
through the ``api`` fixture (the real app).
"""

from __future__ import annotations

from typing import Any

import pytest

from server import db, residents
from tests.server.conftest import Demo
from tests.server.helpers import SHOP

DESK = "tenri-enroll-1"


async def config(api, since: str | None = None) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    params = {"block_list_since": since} if since is not None else {}
    answer = await api(SHOP).get("/v1/terminal/config", params=params)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def test_a_terminal_gets_only_the_keys_blocked_and_unblocked_since_its_version(api, demo: Demo) -> None:
    sato, suzuki = demo.card("sato"), demo.card("suzuki")
    numbers = {}
    for name in ("sato", "suzuki"):
        lookup = await api(SHOP).post("/v1/cards/lookup", json={"card_key": demo.card(name)})
        numbers[name] = lookup.json()["account_number"]
    first = await config(api)
    assert first["blocked_keys"] == [] and first["block_list_since"] == ""
    await api(DESK).post("/v1/desk/block", json={"account_number": numbers["sato"], "reason": "lost"})
    one = await config(api, first["block_list_version"])
    assert (one["block_list_since"], one["blocked_keys"], one["unblocked_keys"]) == (
        first["block_list_version"], [sato], []
    )  # fmt: skip
    assert one["block_list_version"] != first["block_list_version"]
    await api(DESK).post("/v1/desk/block", json={"account_number": numbers["suzuki"], "reason": "lost"})
    two = await config(api, one["block_list_version"])
    assert (two["block_list_since"], two["blocked_keys"], two["unblocked_keys"]) == (
        one["block_list_version"], [suzuki], []
    )  # fmt: skip
    await api(DESK).post("/v1/desk/unblock", json={"account_number": numbers["sato"], "reason": "found"})
    lifted = await config(api, two["block_list_version"])
    assert (lifted["block_list_since"], lifted["blocked_keys"], lifted["unblocked_keys"]) == (
        two["block_list_version"], [], [sato]
    )  # fmt: skip
    two = lifted
    same = await config(api, two["block_list_version"])
    assert same["block_list_since"] == two["block_list_version"] and same["blocked_keys"] == []
    whole = await config(api)
    assert whole["blocked_keys"] == [suzuki] and whole["block_list_version"] == two["block_list_version"]


async def test_a_version_not_of_this_servers_history_or_too_old_gets_the_whole_list(
    api, demo: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    lookup = await api(SHOP).post("/v1/cards/lookup", json={"card_key": demo.card("sato")})
    number = lookup.json()["account_number"]
    start = (await config(api))["block_list_version"]
    await api(DESK).post("/v1/desk/block", json={"account_number": number, "reason": "lost"})
    current = (await config(api))["block_list_version"]
    seq, _, at = current.partition(":")
    for since in (
        "garbage",
        f"{seq}:2000-01-01T00:00:00+00:00",
        f"{int(seq) + 5}:{at}",
        "0:x",
        "-1:",
        "9" * 40 + ":x",
    ):
        answer = await config(api, since)
        assert answer["block_list_since"] == "" and answer["blocked_keys"] == [demo.card("sato")], since
    await api(DESK).post("/v1/desk/unblock", json={"account_number": number, "reason": "found"})
    await api(DESK).post("/v1/desk/block", json={"account_number": number, "reason": "lost again"})
    # Three changes since `start` for a list of one key: the whole list is smaller than the delta
    # (once past the floor below which a delta is always sent).
    assert (await config(api, start))["block_list_since"] == start
    monkeypatch.setattr(residents, "DELTA_FLOOR", 2)
    answer = await config(api, start)
    assert answer["block_list_since"] == "" and answer["blocked_keys"] == [demo.card("sato")]


async def test_the_migration_numbers_the_blocks_a_database_already_had(api, demo: Demo) -> None:
    lookup = await api(SHOP).post("/v1/cards/lookup", json={"card_key": demo.card("sato")})
    await api(DESK).post(
        "/v1/desk/block", json={"account_number": lookup.json()["account_number"], "reason": "x"}
    )
    conn = db.connect(demo.db_path)
    try:
        changes = conn.execute("SELECT card_key, blocked FROM block_list_changes ORDER BY seq").fetchall()
        assert [tuple(row) for row in changes] == [(demo.card("sato"), 1)]
        assert residents.block_list_delta(conn, residents.block_list_version(conn)) == ([], [])
        assert residents.problems(conn) == []
        # A block lifted behind the list's back (no change numbered) is what `mykey-server check` finds.
        with db.atomic(conn):
            conn.execute("UPDATE card_keys SET blocked_at = NULL WHERE card_key = ?", (demo.card("sato"),))
        assert residents.problems(conn) == [
            f"card key {demo.card('sato')[:12]} is not blocked, but the block list's last change says a block"
        ]
    finally:
        conn.close()
