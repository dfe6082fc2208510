"""Demo data for trying WithUs on one machine. Safe to run twice."""

import uuid

from server.auth.models import Role, User
from server.extensions import db

DEMO_PASSWORD = "withus-demo-2026"
DEMO_STAFF = (
    ("admin@demo.withus", "Ada Admin", Role.ADMIN),
    ("coordinator@demo.withus", "Chloe Coordinator", Role.COORDINATOR),
    ("worker@demo.withus", "Wes Worker", Role.WORKER),
)
# Fixed, so a second run finds the project instead of making another.
DEMO_PROJECT_ID = str(uuid.uuid5(uuid.NAMESPACE_URL, "https://withus.invalid/demo-project"))
DEMO_JOIN_CODE = "KIND-RIVER"


def _staff() -> dict[str, User]:
    users = {}
    for email, name, role in DEMO_STAFF:
        user = db.session.execute(db.select(User).where(User.email == email)).scalar_one_or_none()
        if user is None:
            user = User(email=email, name=name, role=role)
            user.set_password(DEMO_PASSWORD)
            db.session.add(user)
        users[role] = user
    db.session.flush()
    return users


def seed() -> list[str]:
    """Create the demo staff, project, checklist and join code; return lines to print."""
    users = _staff()
    db.session.commit()
    lines = [f"  {role.value:<12} {user.email}  password: {DEMO_PASSWORD}" for role, user in users.items()]
    from server.domain import projects

    projects.ensure_demo_project(
        DEMO_PROJECT_ID,
        coordinator=users[Role.COORDINATOR],
        workers=[users[Role.WORKER]],
        join_code=DEMO_JOIN_CODE,
    )
    db.session.commit()
    if _add_sample_contributions(DEMO_PROJECT_ID):
        db.session.commit()
    lines.append(f"  family join code: {DEMO_JOIN_CODE}")
    return lines


# Ten partners of the demo project's design stage, so a coordinator's first look has
# something to read: (role, age band, checklist answers by statement order, ladder rung).
_AGREE, _UNSURE, _DISAGREE = "agree", "not_sure", "disagree"
_SAMPLE_PARTNERS = (
    ("parent_carer", "26_or_over", "AAAAAAADAAUA", 2),
    ("parent_carer", "26_or_over", "AAAUAADDAAAA", 3),
    ("parent_carer", "26_or_over", "AUAAAAADAADA", 2),
    ("parent_carer", "26_or_over", "AAAAAUAAAAAA", 3),
    ("young_person", "13_to_17", "AAUAUAADUAUA", 2),
    ("young_person", "18_to_25", "AAAAAAAAAAAA", 3),
    ("child", "under_13", "AUAAAAAAUADA", 2),
    ("professional", "26_or_over", "AAAAAAAAAAAA", 4),
    ("professional", "26_or_over", "AAAAAAAUAAAA", 4),
    ("professional", "26_or_over", "AAAAAAAAAUAA", 3),
)
_SAMPLE_FEEDBACK = (
    (0, "The meetings are always in school hours, so I can never come.", "accessibility"),
    (2, "Evening meetings would let working parents take part.", "accessibility"),
    (4, "I liked being asked what I think about the summer clubs.", "equality"),
    (6, "Can there be pictures on the forms?", "accessibility"),
    (1, "Nobody told us what happened after the last survey.", "reciprocity"),
)


def _sample_id(*parts) -> str:
    """A fixed id for each sample record, so a second run finds what the first wrote."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "https://withus.invalid/demo/" + "/".join(map(str, parts))))


def _add_sample_contributions(project_id: str) -> bool:
    """Write the sample partners' answers, ratings, feedback and one action, once."""
    from server.domain.projects import read_record, write_records

    if read_record(_sample_id("participant", 0)) is not None:
        return False
    statements = _active_statements(project_id)
    items = []
    for n, partner in enumerate(_SAMPLE_PARTNERS):
        items.extend(_partner_records(project_id, n, partner, statements))
    feedback = _feedback_records(project_id)
    write_records(items + feedback)
    write_records([_sample_action(project_id, feedback_ids=[fid for _, fid, _ in feedback[:2]])])
    return True


def _active_statements(project_id: str) -> list[str]:
    from server.domain.models import Statement

    query = (
        db.select(Statement.id).where(Statement.project_id == project_id, Statement.active).order_by(Statement.order)
    )
    return db.session.execute(query).scalars().all()


def _partner_records(project_id: str, n: int, partner: tuple, statements: list[str]) -> list[tuple]:
    """One sample partner as their phone would have sent them: who they are, their consent,
    their checklist answers (one letter a statement, in order) and their ladder rung."""
    from server.domain.types import checklist_answer_id, consent_id, ladder_rating_id

    role, age_band, answers, rung = partner
    pid = _sample_id("participant", n)
    mine = {"participant_id": pid, "project_id": project_id}
    consent = {
        **mine,
        "notice_version": "1",
        "given_at": "2026-11-02T10:00:00+00:00",
        "given_by": "parent_carer" if age_band == "under_13" else "self",
    }
    items = [
        ("participant", pid, {"project_id": project_id, "role": role, "age_band": age_band}),
        ("consent", consent_id(pid, project_id), consent),
    ]
    values = {"A": _AGREE, "U": _UNSURE, "D": _DISAGREE}
    for statement_id, letter in zip(statements, answers, strict=False):
        answer = {**mine, "stage": "design", "statement_id": statement_id, "value": values[letter], "mode": "self"}
        items.append(("checklist_answer", checklist_answer_id(pid, project_id, "design", statement_id), answer))
    rating = {**mine, "stage": "design", "rung": rung, "mode": "self"}
    items.append(("ladder_rating", ladder_rating_id(pid, project_id, "design"), rating))
    return items


def _feedback_records(project_id: str) -> list[tuple]:
    return [
        (
            "feedback",
            _sample_id("feedback", n),
            {
                "participant_id": _sample_id("participant", partner),
                "project_id": project_id,
                "stage": "design",
                "text": text,
                "principle": principle,
                "mode": "self",
            },
        )
        for n, (partner, text, principle) in enumerate(_SAMPLE_FEEDBACK)
    ]


def _sample_action(project_id: str, feedback_ids: list[str]) -> tuple:
    """One action answering the first two pieces of feedback, under way."""
    return (
        "action",
        _sample_id("action", 0),
        {
            "project_id": project_id,
            "stage": "design",
            "heard": "Meetings in school hours shut out working parents.",
            "done": "From January, every other meeting is on a weekday evening.",
            "status": "in_progress",
            "reason": None,
            "feedback_ids": feedback_ids,
            "timeline": [
                {"at": "2026-11-10T09:00:00+00:00", "status": "planned", "note": "Agreed at the parent forum."},
                {"at": "2026-11-20T09:00:00+00:00", "status": "in_progress", "note": "Evening rooms booked."},
            ],
        },
    )
