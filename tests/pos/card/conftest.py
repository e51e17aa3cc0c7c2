"""Card test fixtures: credentials made once per session (RSA key generation is the slow part)."""

from __future__ import annotations

import pytest

from pos.card.credentials import CardCredentials, make_credentials


@pytest.fixture(scope="session")
def credentials() -> CardCredentials:
    """A test CA and one card issued by it."""
    return make_credentials()


@pytest.fixture(scope="session")
def other_credentials(credentials: CardCredentials) -> CardCredentials:
    """A second card from the same CA."""
    return credentials.issue_card()
