"""The project's languages on what the public sees: the poster and the "You said, we did" page.

A project speaks English and every language a coordinator has translated its
title into (``translations`` on the project record, server.languages). The
fixed lines below come in each language the app speaks; the app's own words
for the same things are in pwa/js/i18n/ (add a language to both).
"""

from __future__ import annotations

from dataclasses import dataclass

from server.domain.projects import read_record
from server.languages import LANGUAGES

RIGHT_TO_LEFT = frozenset({"ur"})
# Lines with {code} or {title} filled in; English first, as printed.
LINES: dict[str, dict[str, str]] = {
    "en": {
        "join": "Scan the QR code with your phone’s camera to join, or open the app and type the code {code}.",
        "page": "What people told us about {title}, and what we did about it.",
    },
    "ur": {
        "join": "شامل ہونے کے لیے اپنے فون کے کیمرے سے QR کوڈ اسکین کریں، یا ایپ کھول کر یہ کوڈ لکھیں: {code}",
        "page": "{title} کے بارے میں لوگوں نے ہمیں کیا بتایا، اور ہم نے اس پر کیا کیا۔",
    },
}
NAMES = {"en": "English", **LANGUAGES}


@dataclass(frozen=True, slots=True)
class Language:
    code: str
    name: str
    title: str  # the project's title in this language
    summary: str
    right_to_left: bool

    def line(self, key: str, **values: str) -> str:
        """One fixed line in this language, filled in."""
        return LINES[self.code][key].format(title=self.title, **values)


def project_languages(project_id: str, title: str, summary: str = "") -> list[Language]:
    """English, then each language the project has a translated title in and we have lines for."""
    record = read_record(project_id)
    translations = (record.values().get("translations") if record is not None else None) or {}
    found = [Language("en", NAMES["en"], title, summary, False)]
    for code in sorted(translations):
        texts = translations.get(code) or {}
        if code in LINES and (texts.get("title") or "").strip():
            found.append(
                Language(
                    code,
                    NAMES.get(code, code),
                    texts["title"].strip(),
                    (texts.get("summary") or "").strip(),
                    code in RIGHT_TO_LEFT,
                )
            )
    return found
