"""server/pwa.py: the shell, its files and the rendered service worker (no browser needed)."""

import hashlib
import json
import re
import shutil

import pytest
from flask import Flask

from server import pwa


@pytest.fixture
def client():
    app = Flask(__name__)
    app.register_blueprint(pwa.bp)
    return app.test_client()


def precache_of(client) -> tuple[list, str]:
    source = client.get("/app/sw.js").get_data(as_text=True)
    entries = json.loads(re.search(r"const PRECACHE = (\[.*?\]);", source).group(1))
    version = re.search(r"const VERSION = '([0-9a-f]+)';", source).group(1)
    return entries, version


def test_index_and_manifest(client):
    index = client.get("/app/")
    assert index.status_code == 200 and b'<main id="main"' in index.data
    assert index.headers["Cache-Control"] == "no-cache"
    assert client.get("/app").status_code == 301
    manifest = client.get("/app/manifest.webmanifest")
    assert manifest.mimetype == "application/manifest+json"
    assert manifest.get_json()["scope"] == "/app/"


def test_service_worker_precaches_every_shell_file_with_its_hash(client):
    response = client.get("/app/sw.js")
    assert response.mimetype == "text/javascript"
    entries, version = precache_of(client)
    urls = {url for url, _ in entries}
    on_disk = {
        "/app/" if p.name == "index.html" else "/app/" + p.relative_to(pwa.PWA_DIR).as_posix()
        for p in pwa.PWA_DIR.rglob("*")
        if p.is_file() and p.suffix in pwa.SHELL_SUFFIXES and p.name != "sw.js"
    }
    assert urls == on_disk
    assert {"/app/", "/app/js/app.js", "/app/icons/icon-512.png"} <= urls
    for url, digest in entries:
        rel = "index.html" if url == "/app/" else url.removeprefix("/app/")
        assert digest == hashlib.sha256((pwa.PWA_DIR / rel).read_bytes()).hexdigest()[:16]
        assert client.get(url).status_code == 200
    assert len(version) == 16


def test_cache_version_follows_content(client, tmp_path, monkeypatch):
    copy = tmp_path / "pwa"
    shutil.copytree(pwa.PWA_DIR, copy)
    monkeypatch.setattr(pwa, "PWA_DIR", copy)
    _, before = precache_of(client)
    _, again = precache_of(client)
    assert before == again
    (copy / "css" / "app.css").write_text("body { color: black; }\n")
    _, after = precache_of(client)
    assert after != before


@pytest.mark.parametrize(
    "path", ["/app/icons/make_icons.py", "/app/../server/pwa.py", "/app/nothing.js"]
)
def test_only_shell_files_are_served(client, path):
    assert client.get(path).status_code == 404
