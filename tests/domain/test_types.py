"""Record type schemas: each field value validated, naming the field; natural ids."""

import uuid

import pytest

from server.domain import types

P = "0193a1c2-7d4e-7b3a-9f10-2c4d5e6f7a8b"
Q = "0193a1c2-7d4e-7b3a-9f10-2c4d5e6f7a8c"
S = "0193a1c2-7d4e-7b3a-9f10-2c4d5e6f7a8d"


@pytest.mark.parametrize(
    "rtype, values, field",
    [
        ("checklist_answer", {"value": "yes"}, "value"),
        ("checklist_answer", {"stage": "planning"}, "stage"),
        ("checklist_answer", {"mode": "robot"}, "mode"),
        ("checklist_answer", {"comment": "x" * 1001}, "comment"),
        ("checklist_answer", {"statement_id": "not-a-uuid"}, "statement_id"),
        ("checklist_answer", {"participant_id": P.upper()}, "participant_id"),
        ("checklist_answer", {"recorded_by": "alice"}, "recorded_by"),
        ("checklist_answer", {"value": None}, "value"),
        ("checklist_answer", {"colour": "red"}, "colour"),
        ("ladder_rating", {"rung": 5}, "rung"),
        ("ladder_rating", {"rung": -1}, "rung"),
        ("ladder_rating", {"rung": "3"}, "rung"),
        ("ladder_rating", {"rung": True}, "rung"),
        ("ladder_rating", {"rung": 2.5}, "rung"),
        ("feedback", {"text": ""}, "text"),
        ("feedback", {"text": "x" * 2001}, "text"),
        ("feedback", {"principle": "fairness"}, "principle"),
        ("feedback", {"text": 12}, "text"),
        ("participant", {"role": "teacher"}, "role"),
        ("participant", {"age_band": "40s"}, "age_band"),
        ("participant", {"display_name": "n" * 81}, "display_name"),
        ("consent", {"given_by": "friend"}, "given_by"),
        ("consent", {"given_at": "yesterday"}, "given_at"),
        ("consent", {"withdrawn_at": "2026-13-01T00:00:00Z"}, "withdrawn_at"),
        ("equality", {"gender": "g" * 81}, "gender"),
        ("statement", {"active": "yes"}, "active"),
        ("statement", {"version": 0}, "version"),
        ("project", {"target_rung": 9}, "target_rung"),
        ("project", {"status": "paused"}, "status"),
        ("action", {"status": "maybe"}, "status"),
        ("action", {"feedback_ids": ["nope"]}, "feedback_ids.0"),
        (
            "action",
            {"timeline": [{"at": "2026-11-26T10:00:00Z", "status": "soon"}]},
            "timeline.0.status",
        ),
        ("review", {"date": "26/11/2026"}, "date"),
        ("review", {"roles": {"child": -1}}, "roles.child.value"),
    ],
)
def test_bad_values_are_rejected_naming_the_field(rtype, values, field):
    error = types.get(rtype).validate(values)
    assert error is not None
    assert error[0] == field, error


@pytest.mark.parametrize(
    "rtype, values",
    [
        ("checklist_answer", {"value": "not_sure", "comment": None, "recorded_by": "12"}),
        ("checklist_answer", {"comment": "Só um comentário 🙂"}),
        ("ladder_rating", {"rung": 0}),
        ("ladder_rating", {"rung": 4}),
        ("feedback", {"principle": None, "text": "The new form was easier"}),
        (
            "participant",
            {"display_name": None, "role": "parent_carer", "age_band": "prefer_not_to_say"},
        ),
        ("consent", {"given_at": "2026-11-26T10:00:00Z", "withdrawn_at": None}),
        ("consent", {"given_at": "2026-11-26T10:00:00.123+01:00"}),
        ("equality", {"gender": "prefer_not_to_say", "first_language": "Polish"}),
        (
            "action",
            {
                "feedback_ids": [P],
                "timeline": [{"at": "2026-11-26T10:00:00Z", "status": "done", "note": ""}],
            },
        ),
        ("review", {"date": "2026-11-26", "roles": {"child": 3}, "snapshot": {"agree": [1, 2]}}),
        ("statement", {"active": False, "replaces": None, "order": 3}),
    ],
)
def test_good_partial_values_pass(rtype, values):
    assert types.get(rtype).validate(values) is None


def test_required_fields_are_checked_on_merged_values():
    answer = types.get("checklist_answer")
    assert answer.missing({"value": "agree"}) == "mode"
    full = {
        "participant_id": P,
        "project_id": Q,
        "stage": "design",
        "statement_id": S,
        "value": "agree",
        "mode": "self",
    }
    assert answer.missing(full) is None
    assert answer.missing({**full, "value": None}) == "value"


def test_natural_ids_are_uuid5_of_the_documented_strings():
    ns = uuid.UUID("5b0c1f7e-3d6a-4f1b-9c2e-7a4d8e6f1b20")
    assert types.checklist_answer_id(P, Q, "design", S) == str(uuid.uuid5(ns, f"checklist_answer:{P}:{Q}:design:{S}"))
    assert types.ladder_rating_id(P, Q, "review") == str(uuid.uuid5(ns, f"ladder_rating:{P}:{Q}:review"))
    assert types.consent_id(P, Q) == str(uuid.uuid5(ns, f"consent:{P}:{Q}"))
    assert types.equality_id(P, Q) == str(uuid.uuid5(ns, f"equality:{P}:{Q}"))


def test_uuid7_is_canonical_version_7_and_time_ordered():
    ids = [types.uuid7() for _ in range(50)]
    for value in ids:
        parsed = uuid.UUID(value)
        assert parsed.version == 7 and parsed.variant == uuid.RFC_4122
        assert types.is_uuid(value)
    assert len(set(ids)) == 50


def test_server_only_types():
    assert types.SERVER_TYPES == {"project", "statement", "action", "review"}
    assert types.get("nonsense") is None


@pytest.mark.parametrize(
    "rtype, values, message",
    [
        ("consent", {"given_at": "yesterday"}, "Must be an ISO 8601 date and time."),
        ("consent", {"withdrawn_at": "2026-02-30T10:00:00"}, "Must be an ISO 8601 date and time."),
        ("review", {"date": "26/11/2026"}, "Must be an ISO 8601 date (YYYY-MM-DD)."),
    ],
)
def test_dates_must_be_iso_8601(rtype, values, message):
    assert types.get(rtype).validate(values) == (next(iter(values)), message)
    good = {"given_at": "2026-11-26T10:00:00+00:00"} if rtype == "consent" else {"date": "2026-11-26"}
    assert types.get(rtype).validate(good) is None
