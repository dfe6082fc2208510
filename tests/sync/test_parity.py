"""Property 9: the same pushes give byte-identical rows on SQLite and PostgreSQL.

Byte-identical includes change numbers, so PostgreSQL runs the global feed here, as
SQLite does; the parallel feed numbers rows by transaction (tests/sync/test_parallel_feed.py).
"""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sync.store import pull
from tests.backends import create_pg_database, drop_pg_database
from tests.sync.helpers import (
    DB_SETTINGS,
    ScopeHooks,
    batches,
    full_rows,
    make_engine,
    push_batch,
    reset,
)


@pytest.fixture
def both(tmp_path):
    """An SQLite engine and a PostgreSQL engine, both with the sync tables."""
    lite = make_engine(f"sqlite:///{tmp_path / 'parity.sqlite'}")
    url = create_pg_database()
    try:
        pg = make_engine(url).execution_options(sync_feed="global")
        yield lite, pg
        pg.dispose()
    finally:
        lite.dispose()
        drop_pg_database(url)


def pages(engine, limit):
    out, cursor = [], 0
    while True:
        with engine.begin() as conn:
            page = pull(conn, cursor, limit)
        out.append(([r.to_wire() for r in page.records], page.cursor, page.more))
        cursor = page.cursor
        if not page.more:
            return out


@DB_SETTINGS
@given(history=st.lists(batches, max_size=5), limit=st.integers(1, 5))
def test_9_backend_parity(both, history, limit):
    lite, pg = both
    reset(lite)
    reset(pg)
    for batch in history:
        assert push_batch(lite, batch, ScopeHooks()) == push_batch(pg, batch, ScopeHooks())
    rows = full_rows(lite)
    assert rows == full_rows(pg)
    for row in rows:
        assert isinstance(row[2], str)  # fields stored as the same canonical JSON text
    assert pages(lite, limit) == pages(pg, limit)
