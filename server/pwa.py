"""Serve the installable app at /app/: the shell, its files and a rendered service worker."""

import hashlib
import json
import mimetypes
import os
from pathlib import Path

from flask import Blueprint, Response, abort, redirect, request
from werkzeug.security import safe_join

from server.compression import compressed

# WITHUS_PWA_DIR serves another copy of the app (a test serves a changed one to see it update).
PWA_DIR = Path(os.environ.get("WITHUS_PWA_DIR") or Path(__file__).resolve().parent.parent / "pwa")
# What the browser needs to start offline; the rest of pwa/ (the icon script) stays out.
SHELL_SUFFIXES = {".html", ".css", ".js", ".webmanifest", ".svg", ".png"}
NOT_SHELL = {"sw.js"}

bp = Blueprint("pwa", __name__, url_prefix="/app")

_cache: dict = {"key": None, "value": None}


def shell_files() -> list[Path]:
    """Return every app-shell file, sorted so the list (and its hash) is stable."""
    return sorted(
        p
        for p in PWA_DIR.rglob("*")
        if p.is_file()
        and p.suffix in SHELL_SUFFIXES
        and p.relative_to(PWA_DIR).as_posix() not in NOT_SHELL
    )


def precache() -> tuple[list[list[str]], str]:
    """Return [[url, content hash], ...] and a version derived from all of them."""
    files = shell_files()
    key = tuple((p, p.stat().st_mtime_ns, p.stat().st_size) for p in files)
    if _cache["key"] != key:
        entries = []
        for p in files:
            rel = p.relative_to(PWA_DIR).as_posix()
            url = "/app/" if rel == "index.html" else f"/app/{rel}"
            entries.append([url, hashlib.sha256(p.read_bytes()).hexdigest()[:16]])
        version = hashlib.sha256(json.dumps(entries).encode()).hexdigest()[:16]
        _cache.update(key=key, value=(entries, version))
    return _cache["value"]


@bp.after_request
def headers(response: Response) -> Response:
    """Make browsers revalidate: the service worker does the caching (CSP is app-wide)."""
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("")
def bare():
    """Redirect /app to /app/ so relative scope matches."""
    return redirect("/app/", code=301)


def _serve(filename: str, mimetype: str | None = None) -> Response:
    """Serve one file of pwa/, compressed when it is text and the browser accepts it."""
    path = safe_join(str(PWA_DIR), filename)
    if path is None or not Path(path).is_file():
        abort(404)
    mimetype = mimetype or mimetypes.guess_type(path)[0] or "application/octet-stream"
    return compressed(Path(path).read_bytes(), mimetype, request)


@bp.get("/")
def index():
    """Serve the app shell."""
    return _serve("index.html", "text/html")


@bp.get("/sw.js")
def service_worker():
    """Serve the service worker with its precache list and cache version filled in."""
    entries, version = precache()
    source = (PWA_DIR / "sw.js").read_text(encoding="utf-8")
    source = source.replace("__VERSION__", version).replace(
        "/*__PRECACHE__*/[]", json.dumps(entries)
    )
    return compressed(source.encode("utf-8"), "text/javascript", request)


@bp.get("/manifest.webmanifest")
def manifest():
    """Serve the web app manifest with its registered media type."""
    return _serve("manifest.webmanifest", "application/manifest+json")


@bp.get("/<path:filename>")
def static_file(filename: str):
    """Serve one app-shell file (never anything outside pwa/ or not part of the shell)."""
    if Path(filename).suffix not in SHELL_SUFFIXES:
        abort(404)
    return _serve(filename, "text/javascript" if filename.endswith(".js") else None)
