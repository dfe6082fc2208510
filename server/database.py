"""Per-backend database setup that the ORM does not do for us."""

import sqlite3

from sqlalchemy import event
from sqlalchemy.engine import Engine

from server.extensions import db


def _sqlite_pragmas(dbapi_connection, _record):
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    cursor = dbapi_connection.cursor()
    # WAL lets readers carry on while one writer writes; the timeout waits for
    # the writer instead of failing at once with "database is locked".
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def init_app(app):
    """Install backend hooks once the engine exists."""
    with app.app_context():
        engine: Engine = db.engine
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _sqlite_pragmas)
            try:
                from sync.store import sqlite_begin_immediate
            except ImportError:  # the engine lands separately; pragmas still apply
                return
            sqlite_begin_immediate(engine)
