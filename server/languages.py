"""The languages the app speaks besides English, and the texts staff translate.

Adding a language: add its code here, and its catalogue in pwa/js/i18n/ (see docs/app.md).
"""

from __future__ import annotations

import re

# Code -> the name staff see on the statement and project pages.
LANGUAGES: dict[str, str] = {"ur": "Urdu (اردو)"}

# The texts that carry a translation per language, with their longest length.
STATEMENT_TEXTS = {"text": 500, "easy_read": 200}
PROJECT_TEXTS = {"title": 200, "summary": 4000, "consent_text": 4000}

_CODE = re.compile(r"^[a-z]{2,3}$")


def check_translations(value: object, allowed: dict[str, int]) -> str | None:
    """Return what is wrong with a translations map {lang: {field: text}}, or None."""
    if not isinstance(value, dict):
        return "Must be an object of languages."
    for code, texts in value.items():
        if not isinstance(code, str) or not _CODE.match(code):
            return f"Unknown language code {code!r}."
        if not isinstance(texts, dict):
            return f"The {code} texts must be an object."
        for name, text in texts.items():
            if name not in allowed:
                return f"{name!r} cannot be translated."
            if not isinstance(text, str) or len(text) > allowed[name]:
                return f"The {code} {name} must be text of {allowed[name]} characters or fewer."
    return None
