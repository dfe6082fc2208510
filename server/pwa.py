"""Serve the installable app at /app/: the shell, its files and a rendered service worker.

Every file has a content-hashed address (`/app/js/sync.js?v=<hash>`) that browsers keep for
a year without asking again. The HTML names those addresses (an import map turns the modules'
own relative imports into them) and, with the service worker, is revalidated every time.

Two sets of files:
- the shell, which the service worker caches when it installs: index.html, what it links,
  every module app.js imports statically (what draws the first screen; the HTML preloads
  them) and the screens a family meets first, with theirs (what starts the checklist offline);
- the rest (screens opened rarely, other languages' strings, the PNG icons), which modules
  load with import() when needed; the service worker caches them once the app has started.

No build step: each file version is minified and compressed once, at its first request.
"""

import base64
import hashlib
import json
import mimetypes
import os
import re
from functools import lru_cache
from pathlib import Path

import rcssmin
import rjsmin
from flask import Blueprint, abort, redirect, request
from werkzeug.security import safe_join

from server.compression import Prepared, prepare, respond
from server.security import CONTENT_SECURITY_POLICY

# WITHUS_PWA_DIR serves another copy of the app (a test serves a changed one to see it update).
PWA_DIR = Path(os.environ.get("WITHUS_PWA_DIR") or Path(__file__).resolve().parent.parent / "pwa")
# WITHUS_PWA_MINIFY=0 serves the sources as written (to read them in the browser's tools).
MINIFY = os.environ.get("WITHUS_PWA_MINIFY", "1") != "0"
# What the browser may fetch from pwa/; the rest (the icon script) stays out.
SHELL_SUFFIXES = {".html", ".css", ".js", ".webmanifest", ".svg", ".png"}
NOT_SHELL = {"sw.js"}
HASH_CHARS = 12
FOREVER = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
MODULES_MARK = "<!--withus:modules-->"
# Static imports only (`import x from '<file>'`, `export {x} from ...`, `import '<file>'`):
# `import('<file>')` is on demand and stays out of the shell.
STATIC_IMPORT = re.compile(
    r"""^[ \t]*(?:import|export)\b[^'"();]*?\bfrom\s*['"]([^'"]+)['"]|^[ \t]*import\s*['"]([^'"]+)['"]""",
    re.M,
)
# The screens a family meets first, cached at install with app.js and what it imports, so
# the checklist starts offline; app.js loads them with import() (keep the two in step).
SHELL_SCREENS = ("join", "consent", "checklist", "ladder", "feedback")
# The stylesheet goes inside the HTML: a separate file would hold back the first paint by a
# round trip (what Lighthouse's first contentful paint counted most on a phone).
INLINE_STYLESHEET = "css/app.css"
STYLESHEET_LINK = f'<link rel="stylesheet" href="/app/{INLINE_STYLESHEET}">'
LINKED = re.compile(r"""\b(?:href|src)="/app/([^"?#]+)\"""")

bp = Blueprint("pwa", __name__, url_prefix="/app")

_cache: dict = {"key": None, "value": None}


def shell_files() -> list[Path]:
    """Every file of pwa/ a browser may fetch, sorted so the list (and its hash) is stable."""
    return sorted(
        p
        for p in PWA_DIR.rglob("*")
        if p.is_file() and p.suffix in SHELL_SUFFIXES and p.relative_to(PWA_DIR).as_posix() not in NOT_SHELL
    )


def url_of(rel: str, digest: str | None = None) -> str:
    """The address of a file of pwa/ (the shell's own is /app/); hashed when digest is given."""
    if rel == "index.html":
        return "/app/"
    return f"/app/{rel}" + (f"?v={digest}" if digest else "")


def static_imports(rel: str) -> set[str]:
    """The files a module imports statically, and what they import, as paths inside pwa/."""
    seen: set[str] = set()
    todo = [rel]
    while todo:
        current = todo.pop()
        if current in seen or not (PWA_DIR / current).is_file():
            continue
        seen.add(current)
        source = (PWA_DIR / current).read_text(encoding="utf-8")
        base = "/app/" + current
        for match in STATIC_IMPORT.finditer(source):
            target = match.group(1) or match.group(2)
            resolved = os.path.normpath(os.path.join(os.path.dirname(base), target))
            if resolved.startswith("/app/"):
                todo.append(resolved.removeprefix("/app/"))
    return seen


class Build:
    """Every file's hash, the shell and the rest, and the HTML naming the hashed addresses."""

    def __init__(self, files: list[Path]):
        self.hashes = {
            p.relative_to(PWA_DIR).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()[:HASH_CHARS] for p in files
        }
        index = (PWA_DIR / "index.html").read_text(encoding="utf-8")
        linked = {m.group(1) for m in LINKED.finditer(index)}
        # What the first screen needs, fetched at once (preloaded); the rest with import().
        self.modules = sorted(static_imports("js/app.js"))
        screens = set().union(*(static_imports(f"js/screens/{name}.js") for name in SHELL_SCREENS))
        shell = {"index.html", *self.modules, *screens, *(rel for rel in linked if not rel.endswith(".png"))}
        inlined = {INLINE_STYLESHEET} if STYLESHEET_LINK in index else set()
        self.shell = [rel for rel in self.hashes if rel in shell - inlined]
        self.later = [rel for rel in self.hashes if rel not in shell | inlined]
        self.index, self.index_csp = self._render_index(index)
        # The HTML keeps its address (/app/), so its content goes into the version itself.
        self.version = hashlib.sha256(
            json.dumps([self.index, self.urls(self.shell), self.urls(self.later)]).encode()
        ).hexdigest()[:16]

    def url(self, rel: str) -> str:
        # The manifest keeps one address: browsers know an installed app by it.
        return url_of(rel, None if rel.endswith(".webmanifest") else self.hashes.get(rel))

    def urls(self, rels: list[str]) -> list[str]:
        return [self.url(rel) for rel in rels]

    def _render_index(self, index: str) -> tuple[str, str]:
        """Point the HTML at hashed addresses, with an import map and preloads for the shell."""
        import_map = json.dumps(
            {"imports": {url_of(rel): self.url(rel) for rel in self.hashes if rel.endswith(".js")}},
            separators=(",", ":"),
        )
        style = minified(INLINE_STYLESHEET, (PWA_DIR / INLINE_STYLESHEET).read_bytes()).decode("utf-8")
        # Import maps are scripts: the page's policy allows this one (and this style) by its
        # hash, and no other inline script or style.
        csp = CONTENT_SECURITY_POLICY.replace(
            "script-src 'self'", f"script-src 'self' '{_sha256(import_map)}'"
        ).replace("style-src 'self'", f"style-src 'self' '{_sha256(style)}'")
        index = index.replace(STYLESHEET_LINK, f"<style>{style}</style>")
        # Preloading every module at once spares the browser a round trip per level of imports.
        preloads = "".join(
            f'<link rel="modulepreload" href="{self.url(rel)}">\n' for rel in self.modules if rel != "js/app.js"
        )
        modules = f'<script type="importmap">{import_map}</script>\n{preloads}'
        index = LINKED.sub(lambda m: m.group(0).replace(f"/app/{m.group(1)}", self.url(m.group(1))), index)
        return index.replace(MODULES_MARK, modules.rstrip("\n")), csp


def _sha256(text: str) -> str:
    """A CSP source allowing one inline script or style by its content."""
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode()


def build() -> Build:
    """The current Build, made again only when a file of pwa/ changed."""
    files = shell_files()
    key = tuple((p, p.stat().st_mtime_ns, p.stat().st_size) for p in files)
    if _cache["key"] != key:
        _cache.update(key=key, value=Build(files))
    return _cache["value"]


def precache() -> tuple[list[str], str]:
    """The shell's addresses (cached when the service worker installs) and the cache version."""
    current = build()
    return current.urls(current.shell), current.version


def minified(rel: str, body: bytes) -> bytes:
    """Scripts and styles without comments and spaces (the hash stays the source's)."""
    if not MINIFY:
        return body
    if rel.endswith(".js"):
        return rjsmin.jsmin(body.decode("utf-8")).encode("utf-8")
    if rel.endswith(".css"):
        return rcssmin.cssmin(body.decode("utf-8")).encode("utf-8")
    return body


def mimetype_of(rel: str) -> str:
    if rel.endswith(".js"):
        return "text/javascript"
    if rel.endswith(".webmanifest"):
        return "application/manifest+json"
    return mimetypes.guess_type(rel)[0] or "application/octet-stream"


@lru_cache(maxsize=256)
def prepared_file(rel: str, digest: str) -> Prepared:
    """One version of a file as sent: minified and compressed once (digest keys the version)."""
    return prepare(minified(rel, (PWA_DIR / rel).read_bytes()), mimetype_of(rel))


@lru_cache(maxsize=8)
def prepared_worker(version: str, source: bytes, shell: str, later: str) -> Prepared:
    body = minified("sw.js", source).decode("utf-8")
    body = body.replace("__VERSION__", version).replace("__PRECACHE__", shell).replace("__LATER__", later)
    return prepare(body.encode("utf-8"), "text/javascript")


@bp.get("")
def bare():
    """Redirect /app to /app/ so relative scope matches."""
    return redirect("/app/", code=301)


@bp.get("/")
def index():
    """Serve the app shell (revalidated each time: it names every file's current address)."""
    current = build()
    page = prepared_html(current.version, current.index)
    response = respond(page, request, REVALIDATE)
    response.headers["Content-Security-Policy"] = current.index_csp
    return response


@lru_cache(maxsize=8)
def prepared_html(version: str, html: str) -> Prepared:
    return prepare(html.encode("utf-8"), "text/html")


@bp.get("/sw.js")
def service_worker():
    """Serve the service worker with its two file lists and cache version filled in."""
    current = build()
    source = (PWA_DIR / "sw.js").read_bytes()
    worker = prepared_worker(
        current.version, source, json.dumps(current.urls(current.shell)), json.dumps(current.urls(current.later))
    )
    return respond(worker, request, REVALIDATE)


@bp.get("/<path:filename>")
def static_file(filename: str):
    """Serve one app file (never anything outside pwa/ or not part of the app)."""
    current = build()
    path = safe_join(str(PWA_DIR), filename)
    digest = current.hashes.get(filename)
    if path is None or digest is None or not Path(path).is_file():
        abort(404)
    # Only the address naming this very content may be kept for good.
    cache = FOREVER if request.args.get("v") == digest else REVALIDATE
    return respond(prepared_file(filename, digest), request, cache)
