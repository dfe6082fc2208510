"""The results rules, checked against plain-Python oracles on both backends."""

from __future__ import annotations

import statistics
import uuid
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import insert

ROLES = ("child", "young_person", "parent_carer", "professional", "other")
RESIDENTS = ("child", "young_person", "parent_carer")
VALUES = ("agree", "not_sure", "disagree")
PROPERTY = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _insert(model, rows):
    """Bulk-insert projection rows and make the running counts again, as projecting them would."""
    from server.domain import stage_counts
    from server.extensions import db

    if rows:
        db.session.execute(insert(model), rows)
        stage_counts.rebuild(db.session.connection())


def _new_people(roles: list[str]) -> tuple[str, list[str]]:
    """A new project with one participant of each role; its id and theirs."""
    from server.domain.models import Participant

    project_id = str(uuid.uuid4())
    ids = [str(uuid.uuid4()) for _ in roles]
    _insert(
        Participant,
        [
            {"id": pid, "project_id": project_id, "role": role, "age_band": "26_or_over"}
            for pid, role in zip(ids, roles, strict=True)
        ],
    )
    return project_id, ids


def _insert_each(model, project_id: str, people: list[str], values: list[dict]) -> None:
    """One row of `model` for each person, with their own values."""
    _insert(
        model,
        [
            {"id": str(uuid.uuid4()), "participant_id": pid, "project_id": project_id, **mine}
            for pid, mine in zip(people, values, strict=True)
        ],
    )


# ---------------------------------------------------------------- scenarios


@st.composite
def checklist_scenarios(draw):
    """Statements (some with earlier versions, some retired), people, and their answers."""
    statements = []  # dicts: id, principle, active, replaces, version, order
    for order in range(draw(st.integers(1, 6))):
        principle = draw(st.sampled_from(("diversity", "equality", "accessibility", "reciprocity")))
        older = draw(st.integers(0, 2))
        previous = None
        for version in range(1, older + 2):
            sid = str(uuid.uuid4())
            statements.append(
                {
                    "id": sid,
                    "principle": principle,
                    "order": order,
                    "version": version,
                    "replaces": previous,
                    "active": version == older + 1,
                }
            )
            previous = sid
    for _ in range(draw(st.integers(0, 2))):  # retired, never replaced
        statements.append(
            {
                "id": str(uuid.uuid4()),
                "principle": "equality",
                "order": 99,
                "version": 1,
                "replaces": None,
                "active": False,
            }
        )
    people = []
    for _ in range(draw(st.integers(0, 8))):
        role = draw(st.sampled_from((*ROLES, None)))
        withdrawn = draw(st.booleans()) and draw(st.booleans())  # about one in four
        answers = {}
        for s in statements:
            value = draw(st.sampled_from((None, *VALUES)))
            if value is not None:
                answers[s["id"]] = value
        other_stage = {s["id"]: draw(st.sampled_from(VALUES)) for s in statements[:2]}
        people.append(
            {
                "id": str(uuid.uuid4()),
                "role": role,
                "withdrawn": withdrawn,
                "answers": answers,
                "other_stage": other_stage,
            }
        )
    return statements, people


def store_checklist(project_id, statements, people):
    from server.auth.models import utcnow
    from server.domain.models import ChecklistAnswer, Consent, Participant, Statement

    _insert(
        Statement,
        [
            {
                **s,
                "project_id": project_id,
                "text": f"Statement {s['id'][:4]}",
                "easy_read": "Easy",
                "symbol": "*",
            }
            for s in statements
        ],
    )
    _insert(
        Participant,
        [
            {
                "id": p["id"],
                "project_id": project_id,
                "role": p["role"],
                "age_band": "26_or_over",
                "display_name": None,
            }
            for p in people
        ],
    )
    _insert(
        Consent,
        [
            {
                "id": str(uuid.uuid4()),
                "participant_id": p["id"],
                "project_id": project_id,
                "notice_version": "1",
                "given_by": "self",
                "given_at": utcnow(),
                "withdrawn_at": utcnow() if p["withdrawn"] else None,
            }
            for p in people
        ],
    )
    rows = []
    for p in people:
        for stage, answers in (("design", p["answers"]), ("delivery", p["other_stage"])):
            for sid, value in answers.items():
                rows.append(
                    {
                        "id": str(uuid.uuid4()),
                        "participant_id": p["id"],
                        "project_id": project_id,
                        "stage": stage,
                        "statement_id": sid,
                        "value": value,
                        "comment": None,
                        "mode": "self",
                        "recorded_by": None,
                    }
                )
    _insert(ChecklistAnswer, rows)


def _statement(principle, order, *, version=1, replaces=None, active=True):
    return {
        "id": str(uuid.uuid4()),
        "principle": principle,
        "order": order,
        "version": version,
        "replaces": replaces,
        "active": active,
    }


def _person(role, answers, *, withdrawn=False, other_stage=None):
    return {
        "id": str(uuid.uuid4()),
        "role": role,
        "withdrawn": withdrawn,
        "answers": answers,
        "other_stage": other_stage or {},
    }


def test_checklist_counts_a_worked_example(app):
    """Every rule of the count, on a table worked out by hand (domain.md's checklist rule)."""
    from server.extensions import db
    from server.staff.results import checklist

    fair_v1 = _statement("equality", 0, active=False)
    fair = _statement("equality", 0, version=2, replaces=fair_v1["id"])
    heard = _statement("diversity", 1)
    easy = _statement("accessibility", 2)
    retired = _statement("reciprocity", 3, active=False)
    a, n, d = "agree", "not_sure", "disagree"
    people = [
        # Answered both versions of "fair": the answer to the newer one counts.
        _person("child", {fair_v1["id"]: d, fair["id"]: a, heard["id"]: a, easy["id"]: n}),
        # Answered only the old version of "fair": it counts for the new one. The retired
        # statement's answer counts nowhere.
        _person("parent_carer", {fair_v1["id"]: a, heard["id"]: d, retired["id"]: a}),
        _person("professional", {fair["id"]: a, heard["id"]: a, easy["id"]: a}),
        # Withdrew consent: none of their answers count.
        _person("child", {fair["id"]: d, heard["id"]: d, easy["id"]: d}, withdrawn=True),
        # Answered another stage only, or nothing: not a partner in this stage.
        _person("other", {}, other_stage={heard["id"]: d}),
        _person("young_person", {}),
    ]
    project_id = str(uuid.uuid4())
    store_checklist(project_id, [fair_v1, fair, heard, easy, retired], people)
    achievement, principles = checklist(db.session, project_id, "design")
    db.session.rollback()

    # Partners: the child (agrees with 2 of 3), the parent (1 of 3), the professional (3 of 3).
    assert (achievement.active_statements, achievement.partners) == (3, 3)
    assert (achievement.residents, achievement.professionals) == (2, 1)
    assert (achievement.partners_majority, achievement.partners_all) == (2, 1)
    assert achievement.level == "not_yet"  # the parent agrees with only one of three
    shown = {s.id: s for p in principles for s in p.statements}
    table = {sid: (s.agree, s.not_sure, s.disagree, s.unanswered, s.lacks_agreement) for sid, s in shown.items()}
    assert table == {
        fair["id"]: (3, 0, 0, 0, False),
        heard["id"]: (2, 0, 1, 0, False),
        easy["id"]: (1, 1, 0, 1, True),  # 1 of 3 partners agree: not more than half
    }
    disagreements = {p.principle: p.disagreements for p in principles if p.statements}
    assert disagreements == {"equality": 0, "diversity": 1, "accessibility": 0}


@PROPERTY
@given(scenario=checklist_scenarios())
def test_checklist_counts_add_up_for_any_answers(app, scenario):
    """What must hold whatever the answers: each partner counted once for each statement."""
    from server.extensions import db
    from server.staff.results import checklist

    statements, people = scenario
    project_id = str(uuid.uuid4())
    store_checklist(project_id, statements, people)
    achievement, principles = checklist(db.session, project_id, "design")
    db.session.rollback()

    active = {s["id"] for s in statements if s["active"]}
    shown = {s.id: s for p in principles for s in p.statements}
    assert set(shown) == active and achievement.active_statements == len(active)
    partners = achievement.partners
    assert partners <= sum(1 for p in people if not p["withdrawn"] and p["answers"])
    assert achievement.residents + achievement.professionals + achievement.others == partners
    assert achievement.partners_all <= achievement.partners_majority <= partners
    for s in shown.values():
        assert s.agree + s.not_sure + s.disagree + s.unanswered == partners
        assert s.lacks_agreement == (partners > 0 and s.agree * 2 <= partners)
    if achievement.level in ("all", "majority"):
        assert achievement.partners_majority == partners > 0
        assert achievement.residents > 0 and achievement.professionals > 0
    if achievement.level == "all":
        assert achievement.partners_all == partners


def test_the_three_verdicts(app):
    """A worked example: all, majority, not yet."""
    from server.extensions import db
    from server.staff.results import checklist

    statements = [
        {
            "id": str(uuid.uuid4()),
            "principle": "equality",
            "order": i,
            "version": 1,
            "replaces": None,
            "active": True,
        }
        for i in range(4)
    ]
    ids = [s["id"] for s in statements]

    def person(role, values):
        return {
            "id": str(uuid.uuid4()),
            "role": role,
            "withdrawn": False,
            "answers": dict(zip(ids, values, strict=False)),
            "other_stage": {},
        }

    cases = [
        ([person("child", ["agree"] * 4), person("professional", ["agree"] * 4)], "all"),
        (
            [
                person("parent_carer", ["agree"] * 3 + ["disagree"]),
                person("professional", ["agree"] * 4),
            ],
            "majority",
        ),
        # Two of four is not more than half; unanswered counts as not agreed.
        (
            [person("young_person", ["agree", "agree"]), person("professional", ["agree"] * 4)],
            "not_yet",
        ),
        ([person("parent_carer", ["agree"] * 4), person("other", ["agree"] * 4)], "not_yet"),
    ]
    for people, expected in cases:
        project_id = str(uuid.uuid4())
        store_checklist(project_id, [dict(s) for s in statements], people)
        assert checklist(db.session, project_id, "design")[0].level == expected
        db.session.rollback()


# ---------------------------------------------------------------- the ladder


@PROPERTY
@given(
    ratings=st.lists(st.tuples(st.sampled_from(ROLES), st.integers(0, 4)), max_size=30),
    target=st.integers(0, 4),
)
def test_ladder_distribution_and_gap_match_the_oracle(app, ratings, target):
    from server.domain.models import LadderRating
    from server.extensions import db
    from server.staff.results import ladder

    project_id, people = _new_people([role for role, _ in ratings])
    _insert_each(
        LadderRating, project_id, people, [{"stage": "review", "rung": rung, "mode": "self"} for _, rung in ratings]
    )
    result = ladder(db.session, project_id, "review", target)
    db.session.rollback()

    groups = {g.key: g for g in result.groups}
    for key, roles in (("residents", RESIDENTS), ("professionals", ("professional",))):
        rungs = [rung for role, rung in ratings if role in roles]
        assert groups[key].counts == [rungs.count(n) for n in range(5)]
        expected = statistics.median(rungs) if rungs else None
        assert groups[key].median == expected
        assert groups[key].gap_to_target == (None if expected is None else expected - target)
    resident = [r for role, r in ratings if role in RESIDENTS]
    professional = [r for role, r in ratings if role == "professional"]
    if resident and professional:
        assert result.residents_vs_professionals == (statistics.median(resident) - statistics.median(professional))
    else:
        assert result.residents_vs_professionals is None


# ---------------------------------------------------------------- reach


@PROPERTY
@given(
    people=st.lists(
        st.tuples(
            st.sampled_from(ROLES),
            st.one_of(st.none(), st.sampled_from(("woman", "man", "non_binary", "prefer_not_to_say"))),
        ),
        max_size=25,
    )
)
def test_reach_never_shows_a_count_from_1_to_4(app, people):
    from server.domain.models import EqualityAnswer, Feedback
    from server.extensions import db
    from server.staff.results import reach

    project_id, ids = _new_people([role for role, _ in people])
    _insert_each(Feedback, project_id, ids, [{"stage": "design", "text": "hi", "mode": "self"}] * len(ids))
    answered = [(pid, gender) for pid, (_, gender) in zip(ids, people, strict=True) if gender is not None]
    _insert_each(
        EqualityAnswer, project_id, [pid for pid, _ in answered], [{"gender": gender} for _, gender in answered]
    )
    result = reach(db.session, project_id, "design")
    db.session.rollback()

    cells = [*result.by_role, *(c for cs in result.equality.values() for c in cs)]
    assert all(c.count is None or c.count == 0 or c.count >= 5 for c in cells)
    for cell_group in (result.by_role, *result.equality.values()):
        hidden = [c for c in cell_group if c.count is None]
        if result.took_part is not None:
            # A lone hidden cell could be worked out from the total.
            assert len(hidden) != 1
            if not hidden:
                assert sum(c.count for c in cell_group) == result.took_part
    # What is shown is true.
    for c in result.by_role:
        if c.count is not None:
            assert c.count == sum(1 for role, _ in people if role == c.key)
    for c in result.equality["gender"]:
        if c.count is not None:
            expected = "(no answer)" if c.key == "(no answer)" else c.key
            assert c.count == sum(1 for _, g in people if (g or "(no answer)") == expected)
    none = sum(1 for _, g in people if g is None)
    assert result.gave_none == (none if none == 0 or none >= 5 else None)
    assert result.took_part == (len(people) if not 0 < len(people) < 5 else None)


def test_reach_page_says_fewer_than_5(app, web, two_projects):
    from server.extensions import db
    from tests.staff.conftest import add_feedback, add_participant

    pid = two_projects["project_id"]
    for role, n in (("child", 3), ("parent_carer", 6), ("professional", 7)):
        for _ in range(n):
            add_feedback(pid, add_participant(pid, role), "Hello")
    db.session.commit()
    page = web.get(f"/staff/projects/{pid}/stages/design/results", two_projects["coordinator"]).get_data(as_text=True)
    reach_part = page[page.index('id="reach-heading"') : page.index('id="loop-heading"')]
    assert '<th scope="row">Children</th><td>fewer than 5</td>' in reach_part
    # The next smallest is hidden too, so the 3 cannot be worked out from the total of 16.
    assert '<th scope="row">Parents and carers</th><td>fewer than 5</td>' in reach_part
    assert '<th scope="row">Professionals</th><td>7</td>' in reach_part
    assert ">3<" not in reach_part and ">6<" not in reach_part


# ---------------------------------------------------------------- closing the loop


@PROPERTY
@given(
    entries=st.lists(
        st.tuples(st.one_of(st.none(), st.integers(0, 500_000)), st.sampled_from(("planned", "done"))),
        max_size=12,
    )
)
def test_closing_the_loop_matches_the_oracle(app, entries):
    from server.auth.models import utcnow
    from server.domain.models import Action, ActionFeedback, Feedback, Participant
    from server.extensions import db
    from server.staff.results import closing_the_loop

    project_id = str(uuid.uuid4())
    pid = str(uuid.uuid4())
    start = utcnow().replace(microsecond=0) - timedelta(days=10)
    _insert(
        Participant,
        [{"id": pid, "project_id": project_id, "role": "child", "age_band": "under_13"}],
    )
    feedback, actions, links = [], [], []
    for delay, status in entries:
        fid = str(uuid.uuid4())
        feedback.append(
            {
                "id": fid,
                "participant_id": pid,
                "project_id": project_id,
                "stage": "delivery",
                "text": "x",
                "mode": "self",
                "received_at": start,
            }
        )
        if delay is not None:
            aid = str(uuid.uuid4())
            actions.append({"id": aid, "project_id": project_id, "stage": "delivery", "status": status})
            links.append(
                {
                    "action_id": aid,
                    "feedback_id": fid,
                    "linked_at": start + timedelta(seconds=delay),
                }
            )
            # A later second link does not change the time to the first.
            second = str(uuid.uuid4())
            actions.append({"id": second, "project_id": project_id, "stage": "delivery", "status": "planned"})
            links.append(
                {
                    "action_id": second,
                    "feedback_id": fid,
                    "linked_at": start + timedelta(seconds=delay + 10),
                }
            )
    _insert(Feedback, feedback)
    _insert(Action, actions)
    _insert(ActionFeedback, links)
    loop = closing_the_loop(db.session, project_id, "delivery")
    db.session.rollback()
    from server.domain.stage_counts import response_bucket

    delays = [d for d, _ in entries if d is not None]
    assert loop.feedback == len(entries)
    assert loop.linked == len(delays)
    assert loop.actions == 2 * len(delays)
    assert loop.actions_done == sum(1 for d, s in entries if d is not None and s == "done")
    if delays:
        # The median of the times as the pages show them (minutes, tenths of hours or days).
        shown = [response_bucket(d) for d in delays]
        assert loop.median_seconds == pytest.approx(statistics.median(shown), abs=0.01)
        assert abs(loop.median_seconds - statistics.median(delays)) <= 4320  # half a tenth of a day
        assert loop.linked_share == pytest.approx(len(delays) / len(entries))
    else:
        assert loop.median_seconds is None


def test_snapshot_is_plain_json(app, two_projects):
    import json

    from server.extensions import db
    from server.staff.results import stage_results

    snapshot = stage_results(db.session, two_projects["project_id"], "design", 4).snapshot()
    assert json.loads(json.dumps(snapshot)) == snapshot
    assert snapshot["achievement"]["level"] == "not_yet"
