"""The Content-Disposition header of a download whose name may hold any language."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

_NOT_NAME = re.compile(r"[^a-z0-9]+")
_MAX_STEM = 60


def _ascii_stem(text: str) -> str:
    # Accents fold to their letters ("café" -> "cafe"); other scripts have no ASCII form and drop.
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return _NOT_NAME.sub("-", folded.lower()).strip("-")[:_MAX_STEM].strip("-")


def _unicode_stem(text: str) -> str:
    # Letters and digits of any script stay; anything a file system might mind becomes "-".
    kept = "".join(c if c.isalnum() else "-" for c in unicodedata.normalize("NFC", text.lower()))
    return re.sub(r"-+", "-", kept).strip("-")[:_MAX_STEM].strip("-")


def attachment(parts: list[str], extension: str, fallback: str = "download") -> str:
    """Return an ``attachment`` header naming the file by ``parts`` joined with "-".

    Headers may carry only ASCII (latin-1 at most), so ``filename`` is an ASCII
    fallback for old clients and ``filename*`` (RFC 5987/6266) the full UTF-8 name
    that browsers prefer.
    """
    ascii_name = "-".join(p for p in (_ascii_stem(part) for part in parts) if p) or fallback
    unicode_name = "-".join(p for p in (_unicode_stem(part) for part in parts) if p) or fallback
    header = f'attachment; filename="{ascii_name}.{extension}"'
    if unicode_name != ascii_name:
        header += f"; filename*=UTF-8''{quote(unicode_name + '.' + extension, safe='')}"
    return header
