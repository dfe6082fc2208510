"""VAPID keys: made once, kept in the instance folder or the environment, rotated on demand."""

from __future__ import annotations

import json
import os
import stat
import threading

import pytest
from flask import Flask

from server.push.cli import push_keys_command
from server.push.vapid import VapidConfigError, generate_pair, get_keys, key_path, load_keys


@pytest.fixture
def bare_app(tmp_path, monkeypatch):
    for name in ("VAPID_PRIVATE_KEY", "VAPID_PUBLIC_KEY", "VAPID_SUBJECT"):
        monkeypatch.delenv(name, raising=False)
    return Flask("vapid_test", instance_path=str(tmp_path / "instance"))


def test_made_on_first_run_and_kept(bare_app):
    first = load_keys(bare_app)
    assert first.source == "generated"
    path = key_path(bare_app)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    again = load_keys(bare_app)
    assert again.source == "file" and again.public_key == first.public_key
    assert json.load(open(path))["public_key"] == first.public_key


def test_processes_starting_together_agree_on_one_pair(bare_app):
    keys, start = [], threading.Barrier(8)

    def load():
        start.wait()
        keys.append(load_keys(bare_app).public_key)

    threads = [threading.Thread(target=load) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(keys)) == 1
    assert os.listdir(os.path.dirname(key_path(bare_app))) == ["vapid.json"]


def test_environment_wins(bare_app, monkeypatch):
    pair = generate_pair()
    monkeypatch.setenv("VAPID_PRIVATE_KEY", pair["private_key"])
    monkeypatch.setenv("VAPID_PUBLIC_KEY", pair["public_key"])
    monkeypatch.setenv("VAPID_SUBJECT", "mailto:team@example.org")
    keys = load_keys(bare_app)
    assert (keys.source, keys.public_key, keys.subject) == (
        "config",
        pair["public_key"],
        "mailto:team@example.org",
    )
    assert not os.path.exists(key_path(bare_app))


def test_mismatched_or_bad_keys_are_refused(bare_app, monkeypatch):
    monkeypatch.setenv("VAPID_PRIVATE_KEY", generate_pair()["private_key"])
    monkeypatch.setenv("VAPID_PUBLIC_KEY", generate_pair()["public_key"])
    with pytest.raises(VapidConfigError, match="does not match"):
        load_keys(bare_app)
    monkeypatch.setenv("VAPID_PRIVATE_KEY", "not-a-key")
    monkeypatch.delenv("VAPID_PUBLIC_KEY")
    with pytest.raises(VapidConfigError, match="could not be read"):
        load_keys(bare_app)
    monkeypatch.setenv("VAPID_PRIVATE_KEY", generate_pair()["private_key"])
    monkeypatch.setenv("VAPID_SUBJECT", "team@example.org")
    with pytest.raises(VapidConfigError, match="mailto"):
        load_keys(bare_app)


def test_pem_private_key_is_accepted(bare_app, monkeypatch):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    monkeypatch.setenv("VAPID_PRIVATE_KEY", pem)
    assert load_keys(bare_app).source == "config"


def test_push_keys_command_makes_and_rotates(bare_app):
    bare_app.cli.add_command(push_keys_command)
    runner = bare_app.test_cli_runner()
    result = runner.invoke(push_keys_command)
    assert result.exit_code == 0, result.output
    first = json.load(open(key_path(bare_app)))["public_key"]
    assert first in result.output
    with bare_app.app_context():
        assert get_keys().public_key == first

    result = runner.invoke(push_keys_command)  # kept without --force
    assert "Keys exist" in result.output
    assert json.load(open(key_path(bare_app)))["public_key"] == first

    result = runner.invoke(push_keys_command, ["--force"])
    rotated = json.load(open(key_path(bare_app)))["public_key"]
    assert result.exit_code == 0 and rotated != first and rotated in result.output
    with bare_app.app_context():
        assert get_keys().public_key == rotated  # the cached key was dropped
