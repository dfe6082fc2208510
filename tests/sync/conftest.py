"""Fixtures for the merge engine: an engine with the sync tables on each backend."""

import pytest

from tests.sync.helpers import make_engine


@pytest.fixture
def engine(db_url):
    """An engine on an empty database with the sync tables, once per backend."""
    eng = make_engine(db_url)
    yield eng
    eng.dispose()
