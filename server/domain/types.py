"""The registry of record types: field schemas, required fields, writers, natural ids, projectors.

A device sends only the fields it changed, so each schema validates the fields
present (``partial``); the required fields are checked on the merged state in
``server.domain.hooks.DomainHooks.check``.
"""

from __future__ import annotations

import json
import os
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cache
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from server.domain import models
from server.domain.checklist import PRINCIPLES, STAGES
from server.domain.words import (
    ACTION_STATUSES,
    AGE_BANDS,
    EASY_READ_MAX,
    GIVEN_BY,
    MODES,
    NOTE_MAX,
    ORDER_MAX,
    PROJECT_STATUSES,
    REFLECTION_MAX,
    ROLES,
    STATEMENT_MAX,
    SUMMARY_MAX,
    SYMBOL_MAX,
    TITLE_MAX,
    VALUES,
    YOU_SAID_MAX,
)
from server.errors import first_error
from server.languages import PROJECT_TEXTS, STATEMENT_TEXTS, check_translations

NS = uuid.UUID("5b0c1f7e-3d6a-4f1b-9c2e-7a4d8e6f1b20")


_UUID = re.compile(r"\A[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")


# ---------------------------------------------------------------- ids


def natural_id(key: str) -> str:
    """Return the UUIDv5 of a natural key string (see contracts: NS)."""
    return str(uuid.uuid5(NS, key))


def checklist_answer_id(participant_id: str, project_id: str, stage: str, statement_id: str) -> str:
    return natural_id(f"checklist_answer:{participant_id}:{project_id}:{stage}:{statement_id}")


def ladder_rating_id(participant_id: str, project_id: str, stage: str) -> str:
    return natural_id(f"ladder_rating:{participant_id}:{project_id}:{stage}")


def consent_id(participant_id: str, project_id: str) -> str:
    return natural_id(f"consent:{participant_id}:{project_id}")


def equality_id(participant_id: str, project_id: str) -> str:
    return natural_id(f"equality:{participant_id}:{project_id}")


def uuid7() -> str:
    """Return a new UUIDv7 (time-ordered), as devices make for created records."""
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= ((rand >> 62) & 0xFFF) << 64
    value |= 0b10 << 62
    value |= rand & ((1 << 62) - 1)
    return str(uuid.UUID(int=value))


def is_uuid(text: object) -> bool:
    return isinstance(text, str) and _UUID.match(text) is not None


# ---------------------------------------------------------------- strict fields


class Id(fields.String):
    """A UUID in lowercase canonical form."""

    default_error_messages = {"invalid_uuid": "Must be a UUID in lowercase canonical form."}

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if not _UUID.match(text):
            raise self.make_error("invalid_uuid")
        return text


class StrictInt(fields.Integer):
    """A whole JSON number: no strings, no booleans, no fractions."""

    def __init__(self, **kwargs):
        super().__init__(strict=True, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class StrictBool(fields.Boolean):
    """true or false only."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


class _ParsedString(fields.String):
    """A string that must parse (with ``parse``), kept as the string sent."""

    parse = staticmethod(str)
    default_error_messages = {"unparsable": "Not in the expected format."}

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            type(self).parse(text)
        except ValueError as err:
            raise self.make_error("unparsable") from err
        return text


class IsoDateTime(_ParsedString):
    """An ISO 8601 date and time."""

    parse = staticmethod(lambda text: parse_datetime(text))
    default_error_messages = {"unparsable": "Must be an ISO 8601 date and time."}


class IsoDate(_ParsedString):
    """An ISO 8601 date (YYYY-MM-DD)."""

    parse = staticmethod(date.fromisoformat)
    default_error_messages = {"unparsable": "Must be an ISO 8601 date (YYYY-MM-DD)."}


def parse_datetime(text: str) -> datetime:
    """Parse ISO 8601 into naive UTC (a time without offset is taken as UTC)."""
    if not isinstance(text, str) or len(text) < 10 or len(text) > 40:
        raise ValueError("not an ISO 8601 date and time")
    value = datetime.fromisoformat(text)
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


def _text(max_length: int) -> fields.String:
    """Optional text: null or a string of at most ``max_length`` characters."""
    return fields.String(allow_none=True, validate=validate.Length(max=max_length))


def _choice(choices, *, allow_none: bool = False) -> fields.String:
    return fields.String(allow_none=allow_none, validate=validate.OneOf(choices))


def _recorded_by() -> fields.String:
    return fields.String(
        allow_none=True,
        validate=validate.Regexp(r"\A[0-9]{1,18}\Z", error="Must be a staff user id or null."),
    )


# ---------------------------------------------------------------- schemas


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class ParticipantSchema(_Strict):
    project_id = Id()
    display_name = _text(80)
    role = _choice(ROLES)
    age_band = _choice(AGE_BANDS)


class ConsentSchema(_Strict):
    participant_id = Id()
    project_id = Id()
    notice_version = fields.String(validate=validate.Length(min=1, max=40))
    given_by = _choice(GIVEN_BY)
    given_at = IsoDateTime()
    withdrawn_at = IsoDateTime(allow_none=True)


class _StageEntry(_Strict):
    """The fields a participant's entry in a stage starts with (models.ParticipantEntry);
    each entry's own fields follow, then its mode and recorded_by, in that order."""

    participant_id = Id()
    project_id = Id()
    stage = _choice(STAGES)


class ChecklistAnswerSchema(_StageEntry):
    statement_id = Id()
    value = _choice(VALUES)
    comment = _text(1000)
    mode = _choice(MODES)
    recorded_by = _recorded_by()


class LadderRatingSchema(_StageEntry):
    rung = StrictInt(validate=validate.Range(min=0, max=4))
    comment = _text(1000)
    mode = _choice(MODES)
    recorded_by = _recorded_by()


class FeedbackSchema(_StageEntry):
    text = fields.String(validate=validate.Length(min=1, max=NOTE_MAX))
    principle = _choice(PRINCIPLES, allow_none=True)
    mode = _choice(MODES)
    recorded_by = _recorded_by()


class EqualitySchema(_Strict):
    participant_id = Id()
    project_id = Id()
    gender = _text(80)
    ethnicity = _text(80)
    disability = _text(80)
    first_language = _text(80)


class Translations(fields.Dict):
    """{lang: {field: text}}: the fields a record carries in other languages."""

    def __init__(self, allowed: dict[str, int], **kwargs):
        super().__init__(**kwargs)
        self.allowed = allowed

    def _deserialize(self, value, attr, data, **kwargs):
        problem = check_translations(value, self.allowed)
        if problem:
            raise ValidationError(problem)
        return value


def _empty_or_url(value: str) -> None:
    """A privacy notice link: empty, or a web address of at most 500 characters."""
    if value == "":
        return
    validate.Length(max=500)(value)
    validate.URL(schemes={"https", "http"})(value)


class ProjectSchema(_Strict):
    title = fields.String(validate=validate.Length(min=1, max=TITLE_MAX))
    summary = fields.String(validate=validate.Length(max=SUMMARY_MAX))
    current_stage = _choice(STAGES)
    target_rung = StrictInt(validate=validate.Range(min=0, max=4))
    status = _choice(PROJECT_STATUSES)
    # Shown on the app's consent screen (empty: the app's own words).
    organisation = fields.String(validate=validate.Length(max=TITLE_MAX))
    contact = fields.String(validate=validate.Length(max=TITLE_MAX))
    privacy_url = fields.String(validate=_empty_or_url)
    consent_text = fields.String(validate=validate.Length(max=SUMMARY_MAX))
    translations = Translations(PROJECT_TEXTS)


class StatementSchema(_Strict):
    project_id = Id()
    text = fields.String(validate=validate.Length(min=1, max=STATEMENT_MAX))
    easy_read = fields.String(validate=validate.Length(max=EASY_READ_MAX))
    symbol = fields.String(validate=validate.Length(max=SYMBOL_MAX))
    principle = _choice(PRINCIPLES)
    order = StrictInt(validate=validate.Range(min=0, max=ORDER_MAX))
    version = StrictInt(validate=validate.Range(min=1, max=100_000))
    active = StrictBool()
    replaces = Id(allow_none=True)
    translations = Translations(STATEMENT_TEXTS)


class TimelineEntrySchema(_Strict):
    at = IsoDateTime(required=True)
    status = _choice(ACTION_STATUSES)
    note = fields.String(validate=validate.Length(max=NOTE_MAX))


class ActionSchema(_Strict):
    project_id = Id()
    stage = _choice(STAGES)
    heard = fields.String(validate=validate.Length(max=YOU_SAID_MAX))
    done = fields.String(validate=validate.Length(max=YOU_SAID_MAX))
    status = _choice(ACTION_STATUSES)
    reason = _text(NOTE_MAX)
    feedback_ids = fields.List(Id(), validate=validate.Length(max=1000))
    timeline = fields.List(fields.Nested(TimelineEntrySchema), validate=validate.Length(max=500))


class ReviewSchema(_Strict):
    project_id = Id()
    stage = _choice(STAGES)
    date = IsoDate()
    set_out = fields.String(validate=validate.Length(max=REFLECTION_MAX))
    happened = fields.String(validate=validate.Length(max=REFLECTION_MAX))
    together = fields.String(validate=validate.Length(max=REFLECTION_MAX))
    worked = fields.String(validate=validate.Length(max=REFLECTION_MAX))
    barriers = fields.String(validate=validate.Length(max=REFLECTION_MAX))
    learned = fields.String(validate=validate.Length(max=REFLECTION_MAX))
    next_steps = fields.String(validate=validate.Length(max=REFLECTION_MAX))
    roles = fields.Dict(keys=_choice(ROLES), values=StrictInt(validate=validate.Range(min=0)))
    snapshot = fields.Dict(keys=fields.String())


# ---------------------------------------------------------------- projectors


def _json(value: Any, default: Any) -> str:
    return json.dumps(
        default if value is None else value,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )


def _dt(value: str | None) -> datetime | None:
    return parse_datetime(value) if value else None


def _project_row(rid: str, v: dict) -> dict:
    return {
        "id": rid,
        "title": v["title"],
        "summary": v.get("summary") or "",
        "current_stage": v["current_stage"],
        "target_rung": v["target_rung"],
        "status": v["status"],
    }


def _consent_row(rid: str, v: dict) -> dict:
    return {
        "id": rid,
        "participant_id": v["participant_id"],
        "project_id": v["project_id"],
        "notice_version": v["notice_version"],
        "given_by": v["given_by"],
        "given_at": _dt(v["given_at"]),
        "withdrawn_at": _dt(v.get("withdrawn_at")),
    }


def _plain_row(required: tuple[str, ...], optional: tuple[str, ...] = (), texts: tuple[str, ...] = ()):
    """Build a projector row function: values copied as they are, optional ones may be absent
    (None), and ``texts`` are free text stored as "" when absent or null."""

    # Plain loops, not update() from generators: about three times faster on the rows of a push.
    def row(rid: str, v: dict) -> dict:
        out = {"id": rid}
        for name in required:
            out[name] = v[name]
        for name in optional:
            out[name] = v.get(name)
        for name in texts:
            out[name] = v.get(name) or ""
        return out

    return row


_BY_PARTICIPANT = ("participant_id", "project_id")
_participant_row = _plain_row(("project_id",), ("display_name", "role", "age_band"))
_answer_row = _plain_row((*_BY_PARTICIPANT, "stage", "statement_id", "value", "mode"), ("comment", "recorded_by"))
_ladder_row = _plain_row((*_BY_PARTICIPANT, "stage", "rung", "mode"), ("comment", "recorded_by"))
_feedback_row = _plain_row((*_BY_PARTICIPANT, "stage", "text", "mode"), ("principle", "recorded_by"))
_equality_row = _plain_row(_BY_PARTICIPANT, ("gender", "ethnicity", "disability", "first_language"))
_statement_row = _plain_row(
    ("project_id", "text", "principle", "order", "version", "active"), ("replaces",), texts=("easy_read", "symbol")
)
_action_fields = _plain_row(("project_id", "stage", "status"), ("reason",), texts=("heard", "done"))


def _action_row(rid: str, v: dict) -> dict:
    row = _action_fields(rid, v)
    row["timeline"] = _json(v.get("timeline"), [])
    return row


def _review_row(rid: str, v: dict) -> dict:
    row = {
        "id": rid,
        "project_id": v["project_id"],
        "stage": v["stage"],
        "date": date.fromisoformat(v["date"]),
        "roles": _json(v.get("roles"), {}),
        "snapshot": _json(v.get("snapshot"), {}),
    }
    for name in ("set_out", "happened", "together", "worked", "barriers", "learned", "next_steps"):
        row[name] = v.get(name) or ""
    return row


# ---------------------------------------------------------------- registry


@dataclass(frozen=True)
class RecordType:
    """What the server knows of one record type."""

    name: str
    schema: Schema
    required: frozenset[str]
    model: type
    project: Callable[[str, dict], dict]  # (id, merged values) -> projection row
    # Who may write it: "device" (participant and staff devices, and staff on the server)
    # or "server" (staff through the server's pages, and the server itself).
    writers: str = "device"
    # Fields naming whose record it is (participant-owned types carry participant_id).
    owned: bool = True
    has_mode: bool = False
    # The natural key string built from the merged values, for UUIDv5 ids.
    natural_key: Callable[[dict], str] | None = None
    # Columns written on first projection only (never updated by later merges).
    insert_only: tuple[str, ...] = ()
    # Fields that may not change once set.
    fixed: tuple[str, ...] = field(default=("participant_id", "project_id"))

    @property
    def server_only(self) -> bool:
        return self.writers == "server"

    def validate(self, values: dict) -> tuple[str | None, str] | None:
        """Validate the present fields; return (field, message) of the first error, or None."""
        for name, value in values.items():
            if ("\x00" in value) if type(value) is str else _has_nul(value):
                # PostgreSQL text cannot hold NUL (SQLite can): refuse it on every backend.
                return name, "Must not contain a NUL character."
        if surely_valid(self.schema, values):
            return None
        try:
            self.schema.load(values, partial=True)
        except ValidationError as err:
            return first_error(err.messages)
        return None

    def missing(self, values: dict) -> str | None:
        """Return the first required field absent (or null) in merged values, or None."""
        for name in _in_order(self.required):
            if values.get(name) is None:
                return name
        return None


@cache
def _in_order(names: frozenset[str]) -> tuple[str, ...]:
    """A set's names in sorted order, sorted once (``missing`` runs for every merged record)."""
    return tuple(sorted(names))


# ---------------------------------------------------------------- the fast path

# Validating every field of every pushed record through marshmallow was the largest
# single cost of a push. For the plain shapes most fields have (ids, choices, bounded
# text and numbers) a check compiled from the schema's own declarations says "surely
# valid" first; anything it cannot vouch for (a date, a list, a custom rule, any
# doubt) goes through marshmallow as before, which also words every error. So the
# fast path can only accept what marshmallow accepts, never refuse.
_FAST: dict[type, dict[str, Callable[[Any], bool]]] = {}


def surely_valid(schema: Schema, values: dict) -> bool:
    """True when every value passes a check that marshmallow would certainly pass too."""
    checks = _FAST.get(type(schema))
    if checks is None:
        checks = _FAST[type(schema)] = _compile(schema)
    for name, value in values.items():
        check = checks.get(name)
        if check is None or not check(value):
            return False
    return True


def _compile(schema: Schema) -> dict[str, Callable[[Any], bool]]:
    out = {}
    for name, declared in schema.fields.items():
        check = _field_check(declared)
        if check is not None:
            allow_none = declared.allow_none
            out[name] = lambda v, c=check, n=allow_none: (v is None and n) or (v is not None and c(v))
    return out


def _field_check(declared) -> Callable[[Any], bool] | None:
    """A check for one field, or None when only marshmallow can tell."""
    kind = type(declared)
    if kind is Id:
        base = lambda v: isinstance(v, str) and _UUID.match(v) is not None  # noqa: E731
    elif kind is fields.String:
        base = lambda v: isinstance(v, str)  # noqa: E731
    elif kind is StrictInt:
        base = lambda v: isinstance(v, int) and not isinstance(v, bool)  # noqa: E731
    elif kind is StrictBool:
        base = lambda v: isinstance(v, bool)  # noqa: E731
    else:
        return None
    rules = [base]
    for rule in declared.validators:
        if type(rule) is validate.Length and rule.equal is None:
            low, high = rule.min, rule.max
            rules.append(lambda v, lo=low, hi=high: (lo is None or len(v) >= lo) and (hi is None or len(v) <= hi))
        elif type(rule) is validate.OneOf:
            choices = frozenset(rule.choices)
            rules.append(lambda v, c=choices: v in c)
        elif type(rule) is validate.Range and rule.min_inclusive and rule.max_inclusive:
            low, high = rule.min, rule.max
            rules.append(lambda v, lo=low, hi=high: (lo is None or v >= lo) and (hi is None or v <= hi))
        elif type(rule) is validate.Regexp:
            rules.append(lambda v, r=rule.regex: r.match(v) is not None)
        else:
            return None
    if len(rules) == 1:
        return base
    if len(rules) == 2:
        first, second = rules
        return lambda v: first(v) and second(v)
    return lambda v: all(rule(v) for rule in rules)


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list):
        return any(_has_nul(item) for item in value)
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    return False


def _key(fmt: str, *names: str) -> Callable[[dict], str]:
    def build(values: dict) -> str:
        return fmt.format(*(values[name] for name in names))

    return build


def _server_written(*args, **options) -> RecordType:
    """A type that staff write through the server's pages: no participant owns it, and the
    project it belongs to never changes (unless ``options`` say otherwise)."""
    return RecordType(*args, **{"writers": "server", "owned": False, "fixed": ("project_id",), **options})


TYPES: dict[str, RecordType] = {
    t.name: t
    for t in (
        RecordType(
            "participant",
            ParticipantSchema(),
            frozenset({"project_id", "role", "age_band"}),
            models.Participant,
            _participant_row,
            owned=False,
            fixed=("project_id",),
        ),
        RecordType(
            "consent",
            ConsentSchema(),
            frozenset({"participant_id", "project_id", "notice_version", "given_by", "given_at"}),
            models.Consent,
            _consent_row,
            natural_key=_key("consent:{}:{}", "participant_id", "project_id"),
        ),
        RecordType(
            "checklist_answer",
            ChecklistAnswerSchema(),
            frozenset({"participant_id", "project_id", "stage", "statement_id", "value", "mode"}),
            models.ChecklistAnswer,
            _answer_row,
            has_mode=True,
            natural_key=_key(
                "checklist_answer:{}:{}:{}:{}",
                "participant_id",
                "project_id",
                "stage",
                "statement_id",
            ),
            fixed=("participant_id", "project_id", "stage", "statement_id"),
        ),
        RecordType(
            "ladder_rating",
            LadderRatingSchema(),
            frozenset({"participant_id", "project_id", "stage", "rung", "mode"}),
            models.LadderRating,
            _ladder_row,
            has_mode=True,
            natural_key=_key("ladder_rating:{}:{}:{}", "participant_id", "project_id", "stage"),
            fixed=("participant_id", "project_id", "stage"),
        ),
        RecordType(
            "feedback",
            FeedbackSchema(),
            frozenset({"participant_id", "project_id", "stage", "text", "mode"}),
            models.Feedback,
            _feedback_row,
            has_mode=True,
            insert_only=("received_at",),
        ),
        RecordType(
            "equality",
            EqualitySchema(),
            frozenset({"participant_id", "project_id"}),
            models.EqualityAnswer,
            _equality_row,
            natural_key=_key("equality:{}:{}", "participant_id", "project_id"),
        ),
        _server_written(
            "project",
            ProjectSchema(),
            frozenset({"title", "current_stage", "target_rung", "status"}),
            models.Project,
            _project_row,
            fixed=(),
            insert_only=("created_at",),
        ),
        _server_written(
            "statement",
            StatementSchema(),
            frozenset({"project_id", "text", "principle", "order", "version", "active"}),
            models.Statement,
            _statement_row,
        ),
        _server_written(
            "action",
            ActionSchema(),
            frozenset({"project_id", "stage", "status"}),
            models.Action,
            _action_row,
            insert_only=("created_at",),
        ),
        _server_written(
            "review", ReviewSchema(), frozenset({"project_id", "stage", "date"}), models.Review, _review_row
        ),
    )
}

SERVER_TYPES = frozenset(name for name, t in TYPES.items() if t.server_only)
CONFIG_TYPES = frozenset({"project", "statement"})


def get(name: str) -> RecordType | None:
    return TYPES.get(name)


def project_of(rtype: str, rid: str, values: dict) -> str | None:
    """The project a record belongs to: a project record is its own project."""
    if rtype == "project":
        return rid
    return values.get("project_id")
