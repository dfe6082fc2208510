"""The pull cursor: a position in the change feed, opaque to the app, which echoes it back.

Two feeds share this shape (``sync.store`` picks one per connection):

- **global** (SQLite always; PostgreSQL when asked): one writer at a time takes change
  numbers from a counter, so numbers become visible in order and the position is the
  change number alone. On the wire it is that number, as it always was.
- **parallel** (PostgreSQL): writers commit in parallel. Each row carries the id of
  the transaction that wrote it (``txid``) and a number from a sequence; a pull reads
  only rows of transactions that ended before any still running began (below
  ``pg_snapshot_xmin``), in (txid, number) order, so a transaction that commits late
  can never land behind a cursor already handed out. On the wire: ``"txid.number.ack"``.

``ack`` numbers the response itself: the device acknowledges a response by sending
its cursor back, which the server's record of what each device holds relies on
(``server.domain.pulls``). In the global feed it is the change number.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_BIGINT = 2**63 - 1


class BadCursor(ValueError):
    """The text is not a cursor this server hands out."""


@dataclass(frozen=True, slots=True, eq=False)
class Cursor:
    """(txid, change_no) orders the feed; ``ack`` says which response the device holds."""

    txid: int = 0
    change_no: int = 0
    ack: int = 0

    @property
    def position(self) -> tuple[int, int]:
        return (self.txid, self.change_no)

    # Cursors compare by feed position only; a plain number is a global-feed position.
    @staticmethod
    def _position_of(other) -> tuple[int, int] | None:
        if isinstance(other, Cursor):
            return other.position
        if isinstance(other, int) and not isinstance(other, bool):
            return (0, other)
        return None

    def __eq__(self, other) -> bool:
        theirs = self._position_of(other)
        return NotImplemented if theirs is None else self.position == theirs

    def __hash__(self) -> int:
        return hash(self.position)

    def __lt__(self, other) -> bool:
        theirs = self._position_of(other)
        return NotImplemented if theirs is None else self.position < theirs

    def __le__(self, other) -> bool:
        theirs = self._position_of(other)
        return NotImplemented if theirs is None else self.position <= theirs

    def __gt__(self, other) -> bool:
        theirs = self._position_of(other)
        return NotImplemented if theirs is None else self.position > theirs

    def __ge__(self, other) -> bool:
        theirs = self._position_of(other)
        return NotImplemented if theirs is None else self.position >= theirs

    @property
    def is_start(self) -> bool:
        """True for the cursor of a device that holds nothing."""
        return self.txid == 0 and self.change_no == 0

    def to_wire(self) -> int | str:
        if self.txid == 0:
            return self.change_no
        return f"{self.txid}.{self.change_no}.{self.ack}"

    @classmethod
    def parse(cls, text: str) -> Cursor:
        """Read a cursor from the query string; raise BadCursor if it is not one."""
        parts = text.split(".")
        if len(parts) not in (1, 3) or not all(p.isascii() and p.isdigit() and len(p) <= 19 for p in parts):
            raise BadCursor(text)
        numbers = [int(p) for p in parts]
        if any(n > MAX_BIGINT for n in numbers):
            raise BadCursor(text)
        if len(numbers) == 1:
            return cls(0, numbers[0], numbers[0])
        if numbers[0] == 0:
            raise BadCursor(text)
        return cls(*numbers)

    @classmethod
    def of_number(cls, change_no: int) -> Cursor:
        """A global-feed cursor (also what an old app's integer cursor means)."""
        return cls(0, change_no, change_no)
