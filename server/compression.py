"""Serve the app's text files compressed: brotli or gzip, each made once per file version.

The app has no build step, so nothing is precompressed on disk; the first request for
a file version compresses it (brotli at its highest quality) and later ones reuse the
bytes. A changed file has a new size or mtime, hence a new cache key.
"""

from __future__ import annotations

import gzip
import hashlib
from functools import lru_cache

import brotli
from flask import Request, Response

TEXT_TYPES = {"text/html", "text/css", "text/javascript", "application/manifest+json", "image/svg+xml"}
MIN_BYTES = 512  # smaller bodies gain nothing from compressing


@lru_cache(maxsize=256)
def _compress(body: bytes, encoding: str) -> bytes:
    if encoding == "br":
        return brotli.compress(body, quality=11)
    return gzip.compress(body, compresslevel=9, mtime=0)


def best_encoding(request: Request) -> str | None:
    """The best encoding the client accepts: br, then gzip, else None."""
    accepted = request.accept_encodings
    for encoding in ("br", "gzip"):
        if accepted[encoding]:
            return encoding
    return None


def compressed(body: bytes, mimetype: str, request: Request) -> Response:
    """A response with body compressed for this client, an ETag and Vary: Accept-Encoding."""
    encoding = best_encoding(request) if mimetype in TEXT_TYPES and len(body) >= MIN_BYTES else None
    payload = _compress(body, encoding) if encoding else body
    response = Response(payload, mimetype=mimetype)
    if encoding:
        response.headers["Content-Encoding"] = encoding
    response.headers["Vary"] = "Accept-Encoding"
    digest = hashlib.sha256(body).hexdigest()[:20]
    response.set_etag(f"{digest}-{encoding or 'identity'}")
    return response.make_conditional(request)
