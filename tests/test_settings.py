"""Production settings: every process refuses to start without them, in one line; every
setting can come from the environment; demo data is refused in production."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from server.push.vapid import generate_pair

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
PAIR = generate_pair()
COMPLETE = {
    "SECRET_KEY": "a-long-random-secret-for-the-tests",
    "VAPID_PRIVATE_KEY": PAIR["private_key"],
    "VAPID_PUBLIC_KEY": PAIR["public_key"],
    "VAPID_SUBJECT": "mailto:team@example.org",
    "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0",
}
# Each process as the Procfile and a deployer start it (web: gunicorn loads the same factory).
PROCESSES = {
    "web": [sys.executable, "-c", "from server import create_app; create_app()"],
    "worker": [str(VENV_BIN / "flask"), "--app", "server", "push-worker", "--once"],
    "cli": [str(VENV_BIN / "flask"), "--app", "server", "db", "upgrade"],
}
# What is left out -> the one line the process prints, written out by hand.
MISSING = [
    (
        (
            "DATABASE_URL",
            "SECRET_KEY",
            "VAPID_PRIVATE_KEY",
            "VAPID_PUBLIC_KEY",
            "VAPID_SUBJECT",
            "RATELIMIT_STORAGE_URI",
        ),
        "WithUs cannot start: set DATABASE_URL, SECRET_KEY, VAPID_PRIVATE_KEY, VAPID_PUBLIC_KEY, "
        "VAPID_SUBJECT, RATELIMIT_STORAGE_URI (WITHUS_ENV is production; see docs/operations.md).",
    ),
    (("DATABASE_URL",), "WithUs cannot start: set DATABASE_URL (WITHUS_ENV is production; see docs/operations.md)."),
    (("SECRET_KEY",), "WithUs cannot start: set SECRET_KEY (WITHUS_ENV is production; see docs/operations.md)."),
    (
        ("VAPID_PRIVATE_KEY", "VAPID_PUBLIC_KEY"),
        "WithUs cannot start: set VAPID_PRIVATE_KEY, VAPID_PUBLIC_KEY "
        "(WITHUS_ENV is production; see docs/operations.md).",
    ),
    (
        ("RATELIMIT_STORAGE_URI",),
        "WithUs cannot start: set RATELIMIT_STORAGE_URI (WITHUS_ENV is production; see docs/operations.md).",
    ),
]


def _run(command, env, timeout=60):
    return subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def _production_env(tmp_path, database_url, leave_out=()):
    env = {
        "PATH": os.environ["PATH"],
        "WITHUS_ENV": "production",
        "WITHUS_INSTANCE_PATH": str(tmp_path / "instance"),
        "DATABASE_URL": database_url,
        **COMPLETE,
    }
    for name in leave_out:
        env.pop(name)
    return env


@pytest.mark.parametrize("process", sorted(PROCESSES))
def test_production_process_refuses_to_start_without_its_settings(tmp_path, process):
    leave_out, line = MISSING[0]
    env = _production_env(tmp_path, f"sqlite:///{tmp_path / 'prod.sqlite'}", leave_out)

    done = _run(PROCESSES[process], env)

    assert done.returncode != 0
    assert done.stderr.strip().splitlines() == [line]
    assert done.stdout == ""
    # Nothing made on the side: no database file, no instance folder, no VAPID keys.
    assert not (tmp_path / "instance").exists()
    assert not (tmp_path / "prod.sqlite").exists()


@pytest.mark.parametrize(("leave_out", "line"), MISSING)
def test_the_line_names_exactly_what_is_missing(monkeypatch, tmp_path, leave_out, line):
    from server import create_app
    from server.config import SettingsError

    for name, value in _production_env(tmp_path, f"sqlite:///{tmp_path / 'prod.sqlite'}", leave_out).items():
        monkeypatch.setenv(name, value)
    for name in leave_out:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)

    with pytest.raises(SettingsError) as stopped:
        create_app()
    assert str(stopped.value) == line
    assert not (tmp_path / "instance").exists()


def test_one_web_process_may_count_limits_in_memory(tmp_path):
    env = _production_env(tmp_path, f"sqlite:///{tmp_path / 'prod.sqlite'}", ["RATELIMIT_STORAGE_URI"])
    env["WEB_CONCURRENCY"] = "1"

    assert _run(PROCESSES["web"], env).returncode == 0


def test_production_process_starts_with_every_setting(tmp_path, db_url):
    env = _production_env(tmp_path, db_url.replace("postgresql+psycopg://", "postgres://"))

    done = _run(PROCESSES["cli"], env, timeout=180)

    assert done.returncode == 0, done.stderr[-2000:]
    done = _run(PROCESSES["worker"], env)
    assert done.returncode == 0, done.stderr[-2000:]
    # The keys came from the environment: none were made in the instance folder.
    assert not (tmp_path / "instance" / "vapid.json").exists()
    assert not (tmp_path / "instance" / "secret_key").exists()


def test_seed_demo_is_refused_in_production(app):
    from sqlalchemy import func, select

    from server.auth.models import User
    from server.domain.models import JoinCode
    from server.extensions import db

    app.config["WITHUS_ENV"] = "production"

    result = app.test_cli_runner().invoke(args=["seed-demo"])

    assert result.exit_code != 0
    assert "refused in production" in result.output
    assert db.session.execute(select(func.count()).select_from(User)).scalar() == 0
    assert db.session.execute(select(func.count()).select_from(JoinCode)).scalar() == 0


# Environment variable, as typed -> the setting the app holds.
FROM_ENVIRONMENT = [
    ("PUSH_ALLOW_TEST_SERVICE", "1", True),
    ("PUSH_ALLOW_TEST_SERVICE", "false", False),
    ("PUSH_TIMEOUT_SECONDS", "2.5", 2.5),
    ("PUSH_BATCH_SIZE", "25", 25),
    ("SYNC_MAX_RECORDS", "50", 50),
    ("SYNC_TOMBSTONE_HORIZON_DAYS", "90", 90),
    ("SYNC_RATE_LIMIT", "100 per minute", "100 per minute"),
    ("TRUSTED_PROXIES", "2", 2),
    ("RATELIMIT_KEY_PREFIX", "withus-blue", "withus-blue"),
    ("VAPID_SUBJECT", "mailto:team@example.org", "mailto:team@example.org"),
]


@pytest.mark.parametrize(("name", "raw", "value"), FROM_ENVIRONMENT)
def test_settings_come_from_the_environment(monkeypatch, tmp_path, name, raw, value):
    from server import create_app

    monkeypatch.setenv(name, raw)
    monkeypatch.setenv("WITHUS_INSTANCE_PATH", str(tmp_path))

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.sqlite'}"})

    assert app.config[name] == value


@pytest.mark.parametrize(
    ("name", "raw", "message"),
    [
        ("SYNC_MAX_RECORDS", "lots", "WithUs cannot start: SYNC_MAX_RECORDS must be a number, not 'lots'."),
        (
            "PUSH_ALLOW_TEST_SERVICE",
            "maybe",
            "WithUs cannot start: PUSH_ALLOW_TEST_SERVICE must be true or false, not 'maybe'.",
        ),
        ("TRUSTED_PROXIES", "-1", "WithUs cannot start: TRUSTED_PROXIES must not be negative."),
    ],
)
def test_a_setting_that_does_not_fit_stops_the_process(monkeypatch, tmp_path, name, raw, message):
    from server import create_app
    from server.config import SettingsError

    monkeypatch.setenv(name, raw)
    monkeypatch.setenv("WITHUS_INSTANCE_PATH", str(tmp_path))

    with pytest.raises(SettingsError) as stopped:
        create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.sqlite'}"})
    assert str(stopped.value) == message
