"""server/pwa.py: the shell, its files and the rendered service worker (no browser needed)."""

import base64
import hashlib
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from flask import Flask

from server import pwa


@pytest.fixture
def client():
    app = Flask(__name__)
    app.register_blueprint(pwa.bp)
    return app.test_client()


def lists_of(client) -> tuple[list, list, str]:
    """The service worker's shell and on-demand addresses, and its cache version."""
    source = client.get("/app/sw.js").get_data(as_text=True)
    shell = json.loads(re.search(r"const PRECACHE\s*=\s*(\[.*?\]);", source).group(1))
    later = json.loads(re.search(r"const LATER\s*=\s*(\[.*?\]);", source).group(1))
    version = re.search(r"const VERSION\s*=\s*'([0-9a-f]+)';", source).group(1)
    return shell, later, version


def precache_of(client) -> tuple[list, str]:
    shell, _, version = lists_of(client)
    return shell, version


def file_of(url: str) -> str:
    return "index.html" if url == "/app/" else url.removeprefix("/app/").split("?")[0]


def test_index_and_manifest(client):
    index = client.get("/app/")
    assert index.status_code == 200 and b'<main id="main"' in index.data
    assert index.headers["Cache-Control"] == "no-cache"
    assert client.get("/app").status_code == 301
    manifest = client.get("/app/manifest.webmanifest")
    assert manifest.mimetype == "application/manifest+json"
    assert manifest.get_json()["scope"] == "/app/"


def test_service_worker_caches_the_shell_at_install_and_the_rest_later(client):
    response = client.get("/app/sw.js")
    assert response.mimetype == "text/javascript"
    shell, later, version = lists_of(client)
    on_disk = {
        p.relative_to(pwa.PWA_DIR).as_posix()
        for p in pwa.PWA_DIR.rglob("*")
        if p.is_file() and p.suffix in pwa.SHELL_SUFFIXES and p.name != "sw.js"
    }
    # Every file is in exactly one list, but the stylesheet, which the HTML carries inline.
    assert sorted(file_of(u) for u in shell + later) == sorted(on_disk - {pwa.INLINE_STYLESHEET})
    shell_files = {file_of(u) for u in shell}
    # What starts the app and the checklist offline is cached at install...
    assert {
        "index.html",
        "js/app.js",
        "js/storage.js",
        "js/sync.js",
        "js/i18n/en.js",
        "js/screens/checklist.js",
        "manifest.webmanifest",
    } <= shell_files
    # ...screens opened rarely, other languages and the big icons wait.
    assert {"js/screens/settings.js", "js/screens/mydata.js", "js/i18n/ur.js", "icons/icon-512.png"} <= {
        file_of(u) for u in later
    }
    for url in shell + later:
        rel = file_of(url)
        if rel != "index.html" and not rel.endswith(".webmanifest"):
            digest = hashlib.sha256((pwa.PWA_DIR / rel).read_bytes()).hexdigest()[: pwa.HASH_CHARS]
            assert url.endswith(f"?v={digest}"), url
        assert client.get(url).status_code == 200
    assert len(version) == 16


def test_hashed_addresses_are_kept_for_a_year_others_revalidated(client):
    shell, _, _ = lists_of(client)
    hashed = next(u for u in shell if u.startswith("/app/js/app.js?v="))
    assert client.get(hashed).headers["Cache-Control"] == "public, max-age=31536000, immutable"
    for url in ("/app/js/app.js", "/app/js/app.js?v=0000", "/app/", "/app/sw.js"):
        assert client.get(url).headers["Cache-Control"] == "no-cache", url


def test_the_shell_names_hashed_modules_and_carries_its_style_as_its_policy_allows(client):
    response = client.get("/app/")
    html = response.get_data(as_text=True)
    found = re.search(r'<script type="importmap">(.*?)</script>', html)
    imports = json.loads(found.group(1))["imports"]
    assert imports["/app/js/screens/settings.js"].startswith("/app/js/screens/settings.js?v=")
    digest = base64.b64encode(hashlib.sha256(found.group(1).encode()).digest()).decode()
    assert f"'sha256-{digest}'" in response.headers["Content-Security-Policy"]
    # The import map comes before anything that loads a module, else browsers ignore it.
    assert html.index("importmap") < html.index("modulepreload") < html.index('type="module"')
    assert re.search(r'<script type="module" src="/app/js/app.js\?v=[0-9a-f]+">', html)
    assert 'rel="modulepreload" href="/app/js/storage.js?v=' in html
    # The stylesheet is inline (no round trip before the first paint), allowed by its hash.
    style = re.search(r"<style>(.*?)</style>", html, re.S).group(1)
    assert ".bottom{" in style and "stylesheet" not in html
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    assert f"style-src 'self' 'sha256-{digest}'" in response.headers["Content-Security-Policy"]


NODE_TOOLS = Path(__file__).resolve().parents[1] / "node"


def test_scripts_are_served_minified_token_for_token_the_same(client, tmp_path):
    """Every module as served is smaller than its source and the same JavaScript: the
    minifier may drop only spaces and comments (it once ate the space in a nested template)."""
    node = shutil.which("node")
    assert node and (NODE_TOOLS / "node_modules" / "acorn").is_dir(), "run npm ci in tests/node"
    pairs = []
    for path in sorted(pwa.PWA_DIR.rglob("*.js")):
        rel = path.relative_to(pwa.PWA_DIR).as_posix()
        served = client.get(f"/app/{rel}", headers={"Accept-Encoding": "identity"}).get_data()
        assert len(served) < len(path.read_bytes()), rel
        if rel == "sw.js":
            # Served rendered (its lists filled in): compare the template, minified.
            served = pwa.minified(rel, path.read_bytes())
        copy = tmp_path / (rel.replace("/", "_") + ".mjs")
        copy.write_bytes(served)
        pairs += [str(path), str(copy)]
    same = subprocess.run([node, "same_tokens.mjs", *pairs], cwd=NODE_TOOLS, capture_output=True, text=True)
    assert same.returncode == 0, same.stdout + same.stderr


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


@pytest.mark.parametrize("path", ["/app/icons/make_icons.py", "/app/../server/pwa.py", "/app/nothing.js"])
def test_only_shell_files_are_served(client, path):
    assert client.get(path).status_code == 404
