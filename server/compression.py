"""Serve the app's text files compressed: brotli and gzip, each made once per file version.

The app has no build step, so nothing is precompressed on disk. The first request for a
file version prepares it once (minified, then compressed both ways, brotli at its highest
quality); server/pwa.py keeps the prepared copy keyed by the file's content hash, so later
requests only pick the encoding and send bytes already made.
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass, field

import brotli
from flask import Request, Response

TEXT_TYPES = {"text/html", "text/css", "text/javascript", "application/manifest+json", "image/svg+xml"}
MIN_BYTES = 512  # smaller bodies gain nothing from compressing
ENCODINGS = ("br", "gzip")  # in order of preference


def _compress(body: bytes, encoding: str) -> bytes:
    if encoding == "br":
        return brotli.compress(body, quality=11)
    return gzip.compress(body, compresslevel=9, mtime=0)


@dataclass(frozen=True)
class Prepared:
    """One version of a file, ready to send: its bytes, their ETag and compressed copies."""

    body: bytes
    mimetype: str
    digest: str
    encoded: dict[str, bytes] = field(default_factory=dict)


def prepare(body: bytes, mimetype: str) -> Prepared:
    """Compress body every way a browser may ask for (text worth compressing only)."""
    encoded = {}
    if mimetype in TEXT_TYPES and len(body) >= MIN_BYTES:
        encoded = {encoding: _compress(body, encoding) for encoding in ENCODINGS}
    return Prepared(body, mimetype, hashlib.sha256(body).hexdigest()[:20], encoded)


def best_encoding(request: Request, offered) -> str | None:
    """The best of the offered encodings the client accepts: br, then gzip, else None."""
    accepted = request.accept_encodings
    for encoding in ENCODINGS:
        if encoding in offered and accepted[encoding]:
            return encoding
    return None


def respond(prepared: Prepared, request: Request, cache_control: str) -> Response:
    """A response in the client's best encoding, with an ETag and Vary: Accept-Encoding."""
    encoding = best_encoding(request, prepared.encoded)
    response = Response(prepared.encoded[encoding] if encoding else prepared.body, mimetype=prepared.mimetype)
    if encoding:
        response.headers["Content-Encoding"] = encoding
    response.headers["Vary"] = "Accept-Encoding"
    response.headers["Cache-Control"] = cache_control
    response.set_etag(f"{prepared.digest}-{encoding or 'identity'}")
    return response.make_conditional(request)
