"""Records of last-writer-wins field registers with a one-way tombstone, and their merge."""

from __future__ import annotations

import json
import math
import re
from datetime import date, datetime
from typing import Any, NamedTuple

import orjson

from sync.hlc import PATTERN as HLC_PATTERN
from sync.hlc import is_hlc

MAX_TYPE_LENGTH = 40  # sync_records.type is String(40)
MAX_FIELD_NAME_LENGTH = 64
MAX_VALUE_DEPTH = 32

# Canonical lowercase form only, so one record can never exist under two spellings.
UUID_PATTERN = re.compile(r"\A[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")
_WIRE_KEYS = frozenset({"type", "id", "fields", "deleted"})
_SCALARS = (str, int, bool, type(None))
_PLAIN = (int, bool, type(None))

# A prebuilt encoder: json.dumps(**kwargs) would build a new one on every call.
_encode = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode


def canonical_json(value: Any) -> str:
    """Encode a value one way only: sorted keys, no spaces, UTF-8 text, no NaN."""
    return _encode(value)


def json_text(value: Any) -> str:
    """Encode a value fast, in no particular key order: orjson (ten times json's speed), and
    json for what orjson refuses (a whole number beyond 64 bits, text holding half of a
    UTF-16 pair). Times go as ISO 8601, which PostgreSQL reads into timestamp columns."""
    try:
        return orjson.dumps(value).decode()
    except orjson.JSONEncodeError:
        return json.dumps(value, separators=(",", ":"), default=_moment)


def _moment(value):
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"Cannot encode {type(value).__name__} as JSON.")


class WireError(ValueError):
    """A record on the wire has the wrong shape; ``field`` names where (None: the whole record)."""

    def __init__(self, field: str | None, message: str) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.message = message


class Register(NamedTuple):
    """One field: its value and the stamp of its last write."""

    v: Any
    t: str


class Record:
    """The state of one record: field registers, or only a tombstone once deleted.

    Treat it as immutable. A record read from the store keeps its fields as the
    stored canonical JSON and decodes them only when ``fields`` is first read,
    so a pull can hand rows to the wire (``to_wire_json``) without a decode.
    """

    __slots__ = ("type", "id", "_fields", "_json", "_values", "deleted")

    def __init__(self, type: str, id: str, fields: dict[str, Register], deleted: str | None = None) -> None:
        self.type = type
        self.id = id
        self._fields = fields
        self._json = None
        self._values = None
        self.deleted = deleted

    @classmethod
    def stored(cls, type: str, id: str, fields_json: str, deleted: str | None) -> Record:
        """Build a record from a stored row without decoding its fields yet."""
        record = _new_record(cls)
        record.type = type
        record.id = id
        record._fields = None
        record._json = fields_json
        record._values = None
        record.deleted = deleted
        return record

    @property
    def fields(self) -> dict[str, Register]:
        """The field registers (empty once deleted)."""
        fields = self._fields
        if fields is None:
            fields = self._fields = fields_from_json(self._json)
        return fields

    def fields_json(self) -> str:
        """The registers as canonical JSON, the stored form (computed once)."""
        text = self._json
        if text is None:
            text = self._json = fields_to_json(self._fields)
        return text

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Record):
            return NotImplemented
        return (self.type, self.id, self.deleted, self.fields) == (
            other.type,
            other.id,
            other.deleted,
            other.fields,
        )

    __hash__ = None  # mutable fields dict: not hashable

    def __repr__(self) -> str:
        return f"Record(type={self.type!r}, id={self.id!r}, fields={self.fields!r}, deleted={self.deleted!r})"

    @classmethod
    def from_wire(cls, data: Any) -> Record:
        """Check the shape of a record from JSON and build it; WireError when it is wrong."""
        if not isinstance(data, dict):
            raise WireError(None, "A record must be a JSON object.")
        for key in data:
            if key not in _WIRE_KEYS:
                raise WireError(str(key), "Unknown key in a record.")
        rtype = data.get("type")
        if not isinstance(rtype, str) or not 0 < len(rtype) <= MAX_TYPE_LENGTH or not _text_ok(rtype):
            raise WireError("type", f"Must be a string of 1 to {MAX_TYPE_LENGTH} characters.")
        rid = data.get("id")
        if not isinstance(rid, str) or not UUID_PATTERN.match(rid):
            raise WireError("id", "Must be a UUID in lowercase canonical form.")
        deleted = data.get("deleted")
        if deleted is not None and not is_hlc(deleted):
            raise WireError("deleted", "Must be null or a clock stamp.")
        fields = _registers_from_wire(data.get("fields", {}))
        if not fields and deleted is None:
            raise WireError("fields", "A record needs at least one field or a tombstone.")
        return cls(rtype, rid, fields, deleted)

    def to_wire(self) -> dict[str, Any]:
        """Return the JSON-ready form the protocol sends."""
        if self._fields is None:
            # The stored JSON already has the wire's shape: no registers needed.
            fields = json.loads(self._json)
        else:
            fields = {name: {"v": r.v, "t": r.t} for name, r in self._fields.items()}
        return {"type": self.type, "id": self.id, "fields": fields, "deleted": self.deleted}

    def to_wire_json(self) -> str:
        """The wire form as JSON text, spliced from the stored JSON without decoding it."""
        return records_to_wire_json([self])[1:-1]

    def values(self) -> dict[str, Any]:
        """Return the plain field values, without stamps (computed once: a push reads
        them about seven times a record). Read it; do not change it."""
        values = self._values
        if values is None:
            values = self._values = {name: r.v for name, r in self.fields.items()}
        return values


def _registers_from_wire(raw: Any) -> dict[str, Register]:
    """Check and build the ``fields`` object of a wire record; WireError names the field."""
    if not isinstance(raw, dict):
        raise WireError("fields", "Must be a JSON object.")
    fields = {}
    # The checks inlined (this runs for every field of every pushed record), and each
    # field name checked once per process (a few dozen names come over and over).
    for name, reg in raw.items():
        if name not in _good_names:
            _check_name(name)
        if type(reg) is not dict or len(reg) != 2 or "v" not in reg or "t" not in reg:
            raise WireError(name, 'A field must be {"v": value, "t": stamp}.')
        t = reg["t"]
        if type(t) is not str or _stamp(t) is None:
            raise WireError(name, "The stamp is not a clock stamp.")
        v = reg["v"]
        kind = type(v)
        if kind is str:
            if not v.isascii() and not _text_ok(v):
                raise WireError(name, "The value is not plain JSON.")
        elif kind not in _PLAIN and not _json_safe(v, 0):
            raise WireError(name, "The value is not plain JSON.")
        fields[name] = Register(v, t)
    return fields


_good_names: set[str] = set()
_stamp = HLC_PATTERN.match


def _check_name(name: Any) -> None:
    if not isinstance(name, str) or not 0 < len(name) <= MAX_FIELD_NAME_LENGTH or not _text_ok(name):
        raise WireError(str(name), f"A field name has 1 to {MAX_FIELD_NAME_LENGTH} characters.")
    if len(_good_names) < 10_000:  # bounded: names are whatever a client sends
        _good_names.add(name)


def _text_ok(text: str) -> bool:
    """Tell whether text encodes as UTF-8: JSON may smuggle in lone surrogates."""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


_new_record = object.__new__
_type_json: dict[str, str] = {}


def records_to_wire_json(items: list[Record]) -> str:
    """Encode records as a JSON array of their wire form, splicing the stored JSON.

    Ids are canonical UUIDs and stamps are hex and digits, so they need no
    escaping; types are encoded once each.
    """
    parts = []
    for record in items:
        fields = record._json
        if fields is None:
            fields = record.fields_json()
        deleted = record.deleted
        rtype = _type_json.get(record.type)
        if rtype is None:
            rtype = _encode(record.type)
            if len(_type_json) < 1000:
                _type_json[record.type] = rtype
        parts.append(
            '{"deleted":'
            + ("null" if deleted is None else '"' + deleted + '"')
            + ',"fields":'
            + fields
            + ',"id":"'
            + record.id
            + '","type":'
            + rtype
            + "}"
        )
    return "[" + ",".join(parts) + "]"


def _json_safe(value: Any, depth: int) -> bool:
    """Tell whether a value is plain JSON that both databases can store."""
    if depth > MAX_VALUE_DEPTH:
        return False
    kind = type(value)
    if kind is str:
        return _text_ok(value)
    if kind in _PLAIN:
        return True
    if kind is float:
        return math.isfinite(value)
    if kind is list:
        return all(_json_safe(item, depth + 1) for item in value)
    if kind is dict:
        return all(type(key) is str and _text_ok(key) and _json_safe(item, depth + 1) for key, item in value.items())
    return False


def _same_value(a: Any, b: Any) -> bool:
    """Tell whether two values have the same canonical JSON, cheaply for plain scalars."""
    kind = type(a)
    if kind is type(b) and kind in _SCALARS:
        return a == b
    return canonical_json(a) == canonical_json(b)


def _wins(incoming: Register, current: Register) -> bool:
    """Tell whether ``incoming`` replaces ``current``: a greater stamp, or a tie won by value."""
    if incoming.t != current.t:
        return incoming.t > current.t
    if _same_value(incoming.v, current.v):
        return False
    # Only a broken client stamps two values alike; any total order makes it converge.
    return canonical_json(incoming.v) > canonical_json(current.v)


def merge_changed(current: Record | None, incoming: Record) -> tuple[Record, bool]:
    """Merge ``incoming`` into ``current``; also tell whether the state changed."""
    if current is None:
        if incoming.deleted is not None and incoming.fields:
            return Record(incoming.type, incoming.id, {}, incoming.deleted), True
        return incoming, True
    deleted = current.deleted
    if incoming.deleted is not None and (deleted is None or incoming.deleted > deleted):
        # A tombstone wins over any field write: the deleted record keeps no values.
        return Record(current.type, current.id, {}, incoming.deleted), True
    if deleted is not None:
        return current, False
    fields = None
    have = current.fields
    for name, reg in incoming.fields.items():
        old = have.get(name)
        if old is None or _wins(reg, old):
            if fields is None:
                fields = dict(have)
            fields[name] = reg
    if fields is None:
        return current, False
    return Record(current.type, current.id, fields, None), True


def merge(current: Record | None, incoming: Record) -> Record:
    """Merge two states of one record: per field the greatest stamp, tombstones win."""
    return merge_changed(current, incoming)[0]


def fields_to_json(fields: dict[str, Register]) -> str:
    """Encode registers for storage: canonical JSON, identical bytes on every backend.

    orjson writes the same bytes as ``canonical_json`` for text, whole numbers up to 64
    bits, booleans and null, ten times faster (a push encodes every record it changes).
    Floats it writes its own way (``0.00001``, not ``1e-05``), so a record holding a
    float, a list or an object is encoded by ``canonical_json`` as it always was.
    """
    registers = {name: {"t": r.t, "v": r.v} for name, r in fields.items()}
    if all(type(r.v) in _ORJSON_SAME for r in fields.values()):
        try:
            return orjson.dumps(registers, option=orjson.OPT_SORT_KEYS).decode()
        except orjson.JSONEncodeError:  # a whole number beyond 64 bits
            pass
    return _encode(registers)


_ORJSON_SAME = frozenset({str, int, bool, type(None)})


def fields_from_json(text: str) -> dict[str, Register]:
    """Decode registers stored by fields_to_json."""
    return {name: Register(reg["v"], reg["t"]) for name, reg in json.loads(text).items()}
