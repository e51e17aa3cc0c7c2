"""The servers survive a failover: two ``mykey-server serve`` on a multi-host URL, the primary killed.

The scenario is ``tests/e2e/failover.py`` (the bench's ``failover_*`` figures run the same one):
a primary and a synchronous standby, two server processes on
``postgresql://h1,h2/mykey?target_session_attrs=read-write``, terminals posting sales through
both (retried by id until answered, every other one redeeming points, each card used through
both servers at once), the primary SIGKILLed and the standby promoted. Afterwards every
accepted sale is on the new primary exactly once, each card's balance is its grant less the
points of its accepted sales, ``check`` passes, and nothing is left pending. Prints
``failover_lost_sales`` and ``failover_pause_s`` with the run's counts.
"""

from __future__ import annotations

import base64
import pathlib
import secrets

import pytest

from tests.e2e.failover import run_failover


@pytest.mark.slow
def test_two_servers_carry_on_through_a_failover_and_every_accepted_sale_is_on_the_new_primary_once(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MYKEY_KEY", base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())
    result = run_failover(tmp_path)
    print("\n" + result.summary())
    assert result.refused == []
    assert result.before_kill > 50, "too little load before the kill"
    assert len(result.accepted) > result.before_kill, "no load after the failover"
    assert result.lost == [] and result.twice == {}
    assert len(set(result.accepted)) == len(result.accepted)
    assert result.unexplained == set()  # nothing pending, nothing applied that no terminal holds
    assert result.check_returncode == 0, result.check_output
    assert result.redemptions > 20, "too few point redemptions to show anything"
    assert result.balances == result.expected  # every acknowledged redemption, and only those, moved points
