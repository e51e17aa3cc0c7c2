"""Properties of the tender arithmetic (``sales.prepare``): what is paid, what is lost, what is given back."""

from __future__ import annotations

import datetime as dt
import pathlib
import tempfile
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from points.programs import PercentAward
from points.wire import SaleRequest
from server import auth, sales
from server.errors import ApiError
from server.store import Store
from tests.server.conftest import DATABASES, build_demo
from tests.server.helpers import SHOP, TENRI, sale
from tests.support.pgdb import KEK, Cluster


@pytest.fixture(scope="module", params=DATABASES)
def store(request: pytest.FixtureRequest) -> Iterator[tuple[Store, auth.Principal, str]]:
    with tempfile.TemporaryDirectory() as tmp, pytest.MonkeyPatch.context() as patch:
        if request.param == "sqlite":
            demo = build_demo(pathlib.Path(tmp) / "demo")
            location: str | pathlib.Path = demo.db_path
        else:
            demo = request.getfixturevalue("pg_demo_template")
            cluster: Cluster = request.getfixturevalue("pg_cluster")
            patch.setenv("MYKEY_KEY", KEK)
            location = cluster.create(template=cluster.name_of(str(demo.db_path)))
        shop = Store(location)
        principal = auth.lookup(shop.reader, demo.tokens[SHOP])
        assert principal is not None
        yield shop, principal, demo.card()
        shop.close()


@settings(max_examples=150, deadline=None)
@given(
    total=st.integers(0, 20_000),
    points=st.integers(0, 3000),
    tickets=st.lists(st.sampled_from([100, 500, 1000]), max_size=4),
    cash=st.integers(0, 25_000),
)
def test_tenders_add_up_and_change_comes_from_cash(store, total, points, tickets, cash) -> None:
    shop, principal, card = store
    expires = dt.date.today() + dt.timedelta(days=30)
    texts = [shop.signer.issue(900_000 + n, TENRI, value, expires) for n, value in enumerate(tickets)]
    body = SaleRequest.model_validate(
        sale(
            card,
            total=total,
            points={TENRI: points} if points else {},
            tickets=texts,
            cash=cash,
            awards=[TENRI],
        )
    )
    try:
        prepared = sales.prepare(shop, principal, body, "fingerprint")
    except ApiError as error:
        due_after_points = total - points
        if points > total:
            assert error.code == "points_exceed_total"
            return
        # Tickets pay in order (each at most what is left: Tenri's tickets give no change).
        left = due_after_points
        for value in tickets:
            if left <= 0:
                assert error.code == "ticket_not_needed"
                return
            left -= min(value, left)
        assert error.code == "underpaid" and cash < left
        return
    applied = [use.applied for use in prepared.tickets]
    assert all(0 < a <= use.ticket.value for a, use in zip(applied, prepared.tickets, strict=True))
    assert points + sum(applied) + cash - prepared.change == total
    assert 0 <= prepared.change <= cash
    rule = shop.programs()[TENRI].award_rule
    assert isinstance(rule, PercentAward)
    assert prepared.awards[0][1] == rule.points_for(total - points - sum(applied))
