"""The join link as a QR code: drawn on the server as SVG with segno, no network needed."""

from __future__ import annotations

import segno
from flask import request
from markupsafe import Markup


def join_url(code: str) -> str:
    """Return the full link a family opens to join with this code."""
    return f"{request.host_url}app/#/join/{code}"


def qr_svg(url: str, *, scale: int = 6, label: str = "") -> Markup:
    """Return an inline SVG QR code of the link, labelled for screen readers."""
    # Error correction "M" survives a crease or a smudge on a printed poster.
    qr = segno.make(url, error="m", micro=False)
    svg = qr.svg_inline(scale=scale, border=4, title=label or None, svgclass="qr", lineclass=None)
    # role="img" with a label: a screen reader says what it is, not "group".
    svg = svg.replace("<svg ", f'<svg role="img" aria-label="{Markup.escape(label)}" ', 1)
    return Markup(svg)
