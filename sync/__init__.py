"""The merge engine: hybrid logical clocks, last-writer-wins field registers,
one-way tombstones and a change feed. Knows nothing of Flask, HTTP or the
co-production domain; the server registers record types and scopes."""

from sync.hlc import Clock, new_node_id
from sync.records import Record, Register, WireError, canonical_json, merge
from sync.store import (
    APPLIED,
    REJECTED,
    UNCHANGED,
    CursorExpired,
    Hooks,
    Outcome,
    Page,
    RecordRejected,
    Rejection,
    Scope,
    head,
    pull,
    purge_tombstones,
    push,
    push_and_head,
    sqlite_begin_immediate,
    write_local,
)

__all__ = [
    "APPLIED",
    "REJECTED",
    "UNCHANGED",
    "Clock",
    "CursorExpired",
    "Hooks",
    "Outcome",
    "Page",
    "Record",
    "RecordRejected",
    "Register",
    "Rejection",
    "Scope",
    "WireError",
    "canonical_json",
    "head",
    "merge",
    "new_node_id",
    "pull",
    "purge_tombstones",
    "push",
    "push_and_head",
    "sqlite_begin_immediate",
    "write_local",
]
