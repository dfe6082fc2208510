"""Per-backend database setup that the ORM does not do for us."""

import select
import sqlite3
import time

from sqlalchemy import event, exc
from sqlalchemy.engine import Engine

from server.extensions import db
from sync.store import sqlite_begin_immediate


def _sqlite_pragmas(dbapi_connection, _record):
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    cursor = dbapi_connection.cursor()
    # WAL and the busy timeout come with sqlite_begin_immediate below.
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # Freed content is overwritten with zeros, so erased text does not linger in free pages.
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


def _postgresql_session(app):
    """Bound how long a transaction may sit open (an open one holds back every pull's
    horizon), plan each prepared statement once, and never JIT-compile one."""
    idle_ms = int(app.config["SYNC_IDLE_IN_TRANSACTION_MS"])
    statement_ms = int(app.config["SYNC_STATEMENT_TIMEOUT_MS"])

    def _on_connect(dbapi_connection, _record):
        with dbapi_connection.cursor() as cursor:
            cursor.execute(f"SET idle_in_transaction_session_timeout = {idle_ms}")
            cursor.execute(f"SET statement_timeout = {statement_ms}")
            # Left to choose (auto), PostgreSQL kept re-planning some hot statements with
            # their values (a third of the stage counts' query ran a 2.4 ms custom plan for
            # 1 ms of work): their generic plans are as good, as they look rows up by id
            # (docs/architecture.md). Measured: the counts' query 1.6 -> 0.8 ms.
            cursor.execute("SET plan_cache_mode = force_generic_plan")
            # JIT compiles a statement whose estimated cost passes jit_above_cost: ours
            # run in a millisecond or less, and a recursive query's estimate (it cannot
            # know how few steps it takes) passed it, so each run spent 30 ms compiling.
            cursor.execute("SET jit = off")
        dbapi_connection.commit()
        # Prepare a statement the first time it runs, not the fifth: every web worker
        # has its own connections, each of which would otherwise plan each hot
        # statement five times over before reusing it.
        dbapi_connection.prepare_threshold = 1

    return _on_connect


# A connection idle this long is pinged before use (a round trip); a busier one is
# only looked at (no round trip): see _live_at_checkout.
PING_AFTER_IDLE_S = 10.0


def _live_at_checkout(engine: Engine) -> None:
    """Hand out only live connections, with a round trip only after a quiet spell.

    SQLAlchemy's pool_pre_ping sent an empty query before every request's first
    statement: 75 us of Python and a wake-up of PostgreSQL, twice a sync. But a
    connection the server closed (a restart, pg_terminate_backend, an idle timeout) has
    PostgreSQL's goodbye waiting in its socket, so a zero-wait poll finds it for free.
    What a poll cannot see (a database host that vanished without a word) a ping after
    PING_AFTER_IDLE_S catches; under load connections are never idle that long.
    Raising DisconnectionError makes the pool replace the connection and try again.
    """

    @event.listens_for(engine, "checkin")
    def _returned(_dbapi_connection, record):
        record.info["returned_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _check(dbapi_connection, record, _proxy):
        if dbapi_connection.closed:
            raise exc.DisconnectionError("The connection is closed.")
        poller = select.poll()
        poller.register(dbapi_connection.fileno(), select.POLLIN)
        if poller.poll(0):  # an idle connection has nothing to read unless the server left
            raise exc.DisconnectionError("The database closed this connection while it was idle.")
        returned = record.info.get("returned_at")
        if returned is not None and time.monotonic() - returned > PING_AFTER_IDLE_S:
            try:
                engine.dialect.do_ping(dbapi_connection)
            except Exception as err:
                raise exc.DisconnectionError("The database did not answer a ping.") from err


def register_models() -> None:
    """Import every ORM model, so migrations and create_app see all the tables."""
    from server.auth import links, models, two_step  # noqa: F401
    from server.auth.devices import Device  # noqa: F401
    from server.domain import models as domain_models  # noqa: F401
    from server.public import models as public_models  # noqa: F401
    from server.push import models as push_models  # noqa: F401
    from server.staff import models as staff_models  # noqa: F401
    from server.staff import retention  # noqa: F401


def init_app(app):
    """Register the models and install backend hooks once the engine exists."""
    register_models()
    with app.app_context():
        engine: Engine = db.engine
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _sqlite_pragmas)
            # Writers queue at BEGIN instead of failing on a lock upgrade.
            sqlite_begin_immediate(engine)
        elif engine.dialect.name == "postgresql":
            event.listen(engine, "connect", _postgresql_session(app))
            _live_at_checkout(engine)
            # "parallel" (the default) or "global": the change feed sync/feed.py describes.
            engine.update_execution_options(sync_feed=app.config["SYNC_FEED"])
            _cache_long_statements()


def _cache_long_statements() -> None:
    """Let psycopg keep its conversion of our longest statements too.

    psycopg splits a statement's text at its placeholders once and caches that, but only
    for statements up to 4,096 characters; two that run on every push and pull (a
    person's counts, a staff phone's left records) are a little longer, and were split
    again on every run: 2% of a request's Python. The limit is a module setting of
    psycopg's, read on every call; if a later psycopg drops it, nothing breaks.
    """
    from psycopg import _queries

    if getattr(_queries, "MAX_CACHED_STATEMENT_LENGTH", 0) < 16_384:
        _queries.MAX_CACHED_STATEMENT_LENGTH = 16_384
