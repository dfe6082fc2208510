"""Builders of the records tests write, in one place: what a phone would send.

Each returns plain values (no database writes), so the domain tests can push them through
the hooks, the staff tests can write them as the server would after a sync, and the HTTP
tests can put them on the wire.
"""

from __future__ import annotations


def participant_values(project_id: str, **extra) -> dict:
    """A participant record's fields: a young person unless told otherwise."""
    return {"project_id": project_id, "role": "young_person", "age_band": "13_to_17", **extra}


def checklist_answer(participant_id: str, project_id: str, statement_id: str, **fields) -> tuple[str, dict]:
    """A checklist answer's natural id and fields, answered by the participant themselves.

    It agrees, in the design stage, unless ``fields`` say otherwise (``value="disagree"``, ``stage="review"``).
    """
    from server.domain.types import checklist_answer_id

    values = {
        "participant_id": participant_id,
        "project_id": project_id,
        "stage": "design",
        "statement_id": statement_id,
        "value": "agree",
        "mode": "self",
        **fields,
    }
    return checklist_answer_id(participant_id, project_id, values["stage"], statement_id), values


def wire(rtype: str, rid: str, values: dict, stamp: str, deleted: str | None = None) -> dict:
    """A record as the sync protocol carries it: every field with the stamp it was written at."""
    return {
        "type": rtype,
        "id": rid,
        "fields": {k: {"v": v, "t": stamp} for k, v in values.items()},
        "deleted": deleted,
    }
