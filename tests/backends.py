"""Database backends the suite runs on: SQLite files and a fresh PostgreSQL database.

PostgreSQL is a real server (127.0.0.1:5432, trust, database ``test``). A missing
server fails the run, it never skips: CI must prove both backends.
"""

import os
import uuid

import sqlalchemy as sa

ADMIN_URL = os.environ.get("WITHUS_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
BACKENDS = ("sqlite", "postgresql")


def create_pg_database() -> str:
    """Create an empty, uniquely named database and return its URL."""
    name = f"withus_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as err:
        raise RuntimeError(
            f"PostgreSQL is not reachable at {ADMIN_URL}: the suite needs it "
            "(start it, or set WITHUS_TEST_PG_ADMIN_URL)."
        ) from err
    finally:
        admin.dispose()
    return ADMIN_URL.rsplit("/", 1)[0] + "/" + name


def drop_pg_database(url: str) -> None:
    """Drop a database made by create_pg_database, ending any connection left open."""
    name = url.rsplit("/", 1)[1]
    admin = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(
            sa.text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = :name AND pid <> pg_backend_pid()"
            ),
            {"name": name},
        )
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()
