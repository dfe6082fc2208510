"""Paging through a long list on a staff page: which page is shown, of how many."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Paging:
    """Page ``page`` of ``pages``, ``size`` rows a page, ``total`` rows in all."""

    page: int
    pages: int
    total: int
    size: int

    @classmethod
    def of(cls, total: int, size: int, asked: int) -> Paging:
        """The page asked for, kept within 1..pages: a page past the end shows the last one."""
        pages = max(1, -(-total // size))
        # Clamped before it reaches OFFSET: 99999999999999999999 overflows the database's integers.
        return cls(page=min(max(1, asked), pages), pages=pages, total=total, size=size)

    @property
    def offset(self) -> int:
        """How many rows come before this page."""
        return (self.page - 1) * self.size
