"""Paging through a long list (staff lists, the public page): which page is shown, of how many."""

from __future__ import annotations

import re
from dataclasses import dataclass

# The page numbers the app's own links write: plain 0-9. Not str.isdigit(), which also takes "²"
# (and int("²") fails), nor int() alone, which also takes "٣", " 2", "+2" and "1_0".
_DIGITS = re.compile(r"[0-9]+")


@dataclass(frozen=True)
class Paging:
    """Page ``page`` of ``pages``, ``size`` rows a page, ``total`` rows in all."""

    page: int
    pages: int
    total: int
    size: int

    @classmethod
    def of(cls, total: int, size: int, asked: str | None) -> Paging:
        """The page asked for in the address (``?page=``), kept within 1..pages.

        Every paged list reads ``?page=`` here, so an odd value lands on the same page on each:
        anything that is not a whole number from 1 up shows the first page, and a number past
        the end, however long, shows the last one. Neither is an error: the person still sees
        the list, and the "page N of M" line says where they are.
        """
        pages = max(1, -(-total // size))
        raw = asked or ""
        if not _DIGITS.fullmatch(raw):
            number = 1
        else:
            digits = raw.lstrip("0") or "0"
            # More digits than any list has pages (int() refuses past 4300 of them): the last page.
            number = int(digits) if len(digits) <= 18 else pages
        # Clamped before it reaches OFFSET: 99999999999999999999 overflows the database's integers.
        return cls(page=min(max(1, number), pages), pages=pages, total=total, size=size)

    @property
    def offset(self) -> int:
        """How many rows come before this page."""
        return (self.page - 1) * self.size
