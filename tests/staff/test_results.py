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
PROPERTY = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _insert(model, rows):
    """Bulk-insert projection rows and make the running counts again, as projecting them would."""
    from server.domain import stage_counts
    from server.extensions import db

    if rows:
        db.session.execute(insert(model), rows)
        stage_counts.rebuild(db.session.connection())


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


def checklist_oracle(statements, people):
    """The rule from domain.md, written the obvious way."""
    by_id = {s["id"]: s for s in statements}
    active = [s for s in statements if s["active"]]
    canonical, rank = {}, {}
    for s in active:
        chain, current = [], s
        while current is not None:
            chain.append(current["id"])
            current = by_id.get(current["replaces"]) if current["replaces"] else None
        for depth, sid in enumerate(chain):
            canonical[sid] = s["id"]
            rank[sid] = len(chain) - depth
    counts = {s["id"]: dict.fromkeys(VALUES, 0) for s in active}
    partners = []
    for p in people:
        if p["withdrawn"] or not p["answers"]:
            continue
        best = {}
        for sid, value in p["answers"].items():
            if sid in canonical:
                c = canonical[sid]
                if c not in best or rank[sid] > best[c][0]:
                    best[c] = (rank[sid], value)
        for c, (_, value) in best.items():
            counts[c][value] += 1
        agreed = sum(1 for _, value in best.values() if value == "agree")
        partners.append((p["role"], agreed))
    n = len(active)
    residents = sum(1 for role, _ in partners if role in RESIDENTS)
    professionals = sum(1 for role, _ in partners if role == "professional")
    majority = sum(1 for _, agreed in partners if agreed * 2 > n)
    everything = sum(1 for _, agreed in partners if agreed >= n)
    if n == 0 or not residents or not professionals or majority < len(partners):
        level = "not_yet"
    elif everything == len(partners):
        level = "all"
    else:
        level = "majority"
    return level, len(partners), residents, professionals, majority, everything, counts


@PROPERTY
@given(scenario=checklist_scenarios())
def test_achieved_rule_and_counts_match_the_oracle(app, scenario):
    from server.extensions import db
    from server.staff.results import checklist

    statements, people = scenario
    project_id = str(uuid.uuid4())
    store_checklist(project_id, statements, people)
    achievement, principles = checklist(db.session, project_id, "design")
    db.session.rollback()

    level, partners, residents, professionals, majority, everything, counts = checklist_oracle(
        statements, people
    )
    assert achievement.level == level
    assert (achievement.partners, achievement.residents, achievement.professionals) == (
        partners,
        residents,
        professionals,
    )
    assert (achievement.partners_majority, achievement.partners_all) == (majority, everything)
    assert achievement.active_statements == sum(1 for s in statements if s["active"])
    shown = {s.id: s for p in principles for s in p.statements}
    assert set(shown) == {s["id"] for s in statements if s["active"]}
    for sid, c in counts.items():
        s = shown[sid]
        assert (s.agree, s.not_sure, s.disagree) == (c["agree"], c["not_sure"], c["disagree"])
        assert s.unanswered == partners - sum(c.values())
        assert s.lacks_agreement == (partners > 0 and c["agree"] * 2 <= partners)
    # Disagreements are never hidden: each principle adds up its own.
    for p in principles:
        assert p.disagreements == sum(counts[s.id]["disagree"] for s in p.statements)


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
    from server.domain.models import LadderRating, Participant
    from server.extensions import db
    from server.staff.results import ladder

    project_id = str(uuid.uuid4())
    people = [str(uuid.uuid4()) for _ in ratings]
    _insert(
        Participant,
        [
            {"id": pid, "project_id": project_id, "role": role, "age_band": "26_or_over"}
            for pid, (role, _) in zip(people, ratings, strict=True)
        ],
    )
    _insert(
        LadderRating,
        [
            {
                "id": str(uuid.uuid4()),
                "participant_id": pid,
                "project_id": project_id,
                "stage": "review",
                "rung": rung,
                "mode": "self",
            }
            for pid, (_, rung) in zip(people, ratings, strict=True)
        ],
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
        assert result.residents_vs_professionals == (
            statistics.median(resident) - statistics.median(professional)
        )
    else:
        assert result.residents_vs_professionals is None


# ---------------------------------------------------------------- reach


@PROPERTY
@given(
    people=st.lists(
        st.tuples(
            st.sampled_from(ROLES),
            st.one_of(
                st.none(), st.sampled_from(("woman", "man", "non_binary", "prefer_not_to_say"))
            ),
        ),
        max_size=25,
    )
)
def test_reach_never_shows_a_count_from_1_to_4(app, people):
    from server.domain.models import EqualityAnswer, Feedback, Participant
    from server.extensions import db
    from server.staff.results import reach

    project_id = str(uuid.uuid4())
    ids = [str(uuid.uuid4()) for _ in people]
    _insert(
        Participant,
        [
            {"id": pid, "project_id": project_id, "role": role, "age_band": "26_or_over"}
            for pid, (role, _) in zip(ids, people, strict=True)
        ],
    )
    _insert(
        Feedback,
        [
            {
                "id": str(uuid.uuid4()),
                "participant_id": pid,
                "project_id": project_id,
                "stage": "design",
                "text": "hi",
                "mode": "self",
            }
            for pid in ids
        ],
    )
    _insert(
        EqualityAnswer,
        [
            {
                "id": str(uuid.uuid4()),
                "participant_id": pid,
                "project_id": project_id,
                "gender": gender,
            }
            for pid, (_, gender) in zip(ids, people, strict=True)
            if gender is not None
        ],
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


def test_reach_page_says_fewer_than_5(app, web, world):
    from server.extensions import db
    from tests.staff.conftest import add_feedback, add_participant

    pid = world["project_id"]
    for role, n in (("child", 3), ("parent_carer", 6), ("professional", 7)):
        for _ in range(n):
            add_feedback(pid, add_participant(pid, role), "Hello")
    db.session.commit()
    page = web.get(f"/staff/projects/{pid}/stages/design/results", world["coordinator"]).get_data(
        as_text=True
    )
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
        st.tuples(
            st.one_of(st.none(), st.integers(0, 500_000)), st.sampled_from(("planned", "done"))
        ),
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
            actions.append(
                {"id": aid, "project_id": project_id, "stage": "delivery", "status": status}
            )
            links.append(
                {
                    "action_id": aid,
                    "feedback_id": fid,
                    "linked_at": start + timedelta(seconds=delay),
                }
            )
            # A later second link does not change the time to the first.
            second = str(uuid.uuid4())
            actions.append(
                {"id": second, "project_id": project_id, "stage": "delivery", "status": "planned"}
            )
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


def test_snapshot_is_plain_json(app, world):
    import json

    from server.extensions import db
    from server.staff.results import stage_results

    snapshot = stage_results(db.session, world["project_id"], "design", 4).snapshot()
    assert json.loads(json.dumps(snapshot)) == snapshot
    assert snapshot["achievement"]["level"] == "not_yet"
