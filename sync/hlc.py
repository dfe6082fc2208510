"""Hybrid logical clock stamps: ``WWWWWWWWWWWWW-CCCC-NNNNNNNNNNNNNNNN``.

Wall-clock milliseconds (13 decimal digits), a counter (4 lowercase hex digits)
and the node id (16 lowercase hex digits). The fixed width makes plain string
comparison order stamps by (wall, counter, node) in Python, SQL and JavaScript.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable
from typing import NamedTuple

MAX_WALL = 10**13 - 1
MAX_COUNTER = 0xFFFF
PATTERN = re.compile(r"\A[0-9]{13}-[0-9a-f]{4}-[0-9a-f]{16}\Z")
_NODE = re.compile(r"\A[0-9a-f]{16}\Z")


class HLC(NamedTuple):
    """One parsed stamp; tuples order exactly like the formatted strings."""

    wall: int
    counter: int
    node: str


def is_hlc(text: object) -> bool:
    """Tell whether ``text`` is a well-formed stamp."""
    return isinstance(text, str) and PATTERN.match(text) is not None


def parse(text: str) -> HLC:
    """Split a stamp into its parts; ValueError when it is malformed."""
    if not is_hlc(text):
        raise ValueError(f"Not a hybrid logical clock stamp: {text!r}")
    return HLC(int(text[:13]), int(text[14:18], 16), text[19:])


def format(wall: int, counter: int, node: str) -> str:
    """Join the parts into a stamp; ValueError when one is out of range."""
    if isinstance(wall, bool) or not isinstance(wall, int) or not 0 <= wall <= MAX_WALL:
        raise ValueError(f"Wall clock out of range: {wall!r}")
    if isinstance(counter, bool) or not isinstance(counter, int) or not 0 <= counter <= MAX_COUNTER:
        raise ValueError(f"Counter out of range: {counter!r}")
    if not isinstance(node, str) or not _NODE.match(node):
        raise ValueError(f"Node id must be 16 lowercase hex digits: {node!r}")
    return f"{wall:013d}-{counter:04x}-{node}"


def wall_of(text: str) -> int:
    """Return the wall-clock milliseconds of a stamp already known to be valid."""
    return int(text[:13])


def new_node_id() -> str:
    """Return a random node id for a device install or a server."""
    return secrets.token_hex(8)


def now_ms() -> int:
    """Return the system wall clock in milliseconds."""
    return time.time_ns() // 1_000_000


class Clock:
    """A node's clock: every stamp it issues is above every stamp it issued or saw."""

    def __init__(
        self,
        node_id: str,
        now_ms: Callable[[], int] = now_ms,
        last: str | None = None,
    ) -> None:
        format(0, 0, node_id)  # validates the node id
        self.node_id = node_id
        self._now = now_ms
        self._wall, self._counter = -1, 0
        if last is not None:
            parsed = parse(last)
            self._wall, self._counter = parsed.wall, parsed.counter

    @property
    def last(self) -> str | None:
        """The greatest stamp this clock issued or saw, as a stamp of this node."""
        if self._wall < 0:
            return None
        return format(self._wall, self._counter, self.node_id)

    def tick(self) -> str:
        """Stamp a local write."""
        wall = max(self._wall, self._now())
        counter = self._counter + 1 if wall == self._wall else 0
        return self._set(wall, counter)

    def receive(self, remote: str) -> str:
        """Fold in a stamp seen from elsewhere; the result is above it and above ``last``."""
        r = parse(remote)
        wall = max(self._wall, r.wall, self._now())
        if wall == self._wall and wall == r.wall:
            counter = max(self._counter, r.counter) + 1
        elif wall == self._wall:
            counter = self._counter + 1
        elif wall == r.wall:
            counter = r.counter + 1
        else:
            counter = 0
        return self._set(wall, counter)

    def _set(self, wall: int, counter: int) -> str:
        if counter > MAX_COUNTER:
            # 65,536 stamps within one millisecond: borrow the next millisecond,
            # which is still above everything issued or seen so far.
            wall, counter = wall + 1, 0
        stamp = format(wall, counter, self.node_id)
        self._wall, self._counter = wall, counter
        return stamp
