"""The verdict rule, checked against a hand-made table of cases (no database)."""

from __future__ import annotations

import pytest

from server.staff.verdict import RoleCount, StatementCount, decide, flagged, ladder_note


def S(text, agree, not_sure=0, disagree=0, unanswered=0):
    return StatementCount(text, agree, not_sure, disagree, unanswered)


# Twelve statements that 12 of 13 partners agree with and one parent agrees with 4 of:
# the visit from the issue (4 agree, 4 not sure, 4 disagree).
VISIT = (
    [S(f"Statement {i}", 13 if i < 4 else 12, 0 if i < 4 else 1, 0) for i in range(4)]
    + [S(f"Statement {i}", 12, 0, 1) for i in range(4, 8)]
    + [S(f"Statement {i}", 12, 1, 0) for i in range(8, 12)]
)

CASES = [
    # id, statements asked, roles, statements, ladder gap, level, reason, ladder note
    (
        "nobody answered",
        12,
        [],
        [S("I felt listened to", 0)],
        None,
        "no_answers",
        "Nobody has answered the checklist for this stage yet.",
        None,
    ),
    (
        "no statements",
        0,
        [RoleCount("parent_carer", 2, 0)],
        [],
        None,
        "no_answers",
        "This project has no statements to answer yet.",
        None,
    ),
    (
        "only professionals",
        2,
        [RoleCount("professional", 3, 3)],
        [S("A", 3), S("B", 3)],
        None,
        "not_yet",
        "No resident (child, young person, parent or carer) has answered yet, "
        "so we cannot yet say they agree together.",
        None,
    ),
    (
        "only residents",
        1,
        [RoleCount("child", 2, 2), RoleCount("parent_carer", 1, 1)],
        [S("A", 3)],
        None,
        "not_yet",
        "No professional has answered yet, so we cannot yet say they agree together.",
        None,
    ),
    (
        "everyone agrees with most",
        2,
        [RoleCount("parent_carer", 4, 4), RoleCount("professional", 1, 1)],
        [S("A", 5), S("B", 3, 2)],
        0.0,
        "yes",
        "All 5 partners agree with most of the statements: 4 residents and 1 professional.",
        None,
    ),
    (
        "the issue's visit: one parent behind",
        12,
        [RoleCount("parent_carer", 9, 8), RoleCount("professional", 4, 4)],
        VISIT,
        None,
        "partly",
        "1 of 9 parents or carers does not yet agree with most statements; fewest agree with "
        "“Statement 4”, “Statement 5”, “Statement 6” and 5 more.",
        None,
    ),
    (
        "half behind is not yet",
        1,
        [RoleCount("young_person", 2, 1), RoleCount("professional", 2, 1)],
        [S("Things changed because of what I said", 2, 0, 2)],
        None,
        "not_yet",
        "1 of 2 young people and 1 of 2 professionals do not yet agree with most statements; "
        "fewest agree with “Things changed because of what I said”.",
        None,
    ),
    (
        "role not given yet",
        1,
        [RoleCount("unknown", 1, 0), RoleCount("child", 1, 1), RoleCount("professional", 1, 1)],
        [S("A", 2, 1)],
        None,
        "partly",
        "1 of 1 partner with no role given does not yet agree with most statements; fewest agree with “A”.",
        None,
    ),
    (
        "residents two rungs lower",
        1,
        [RoleCount("parent_carer", 1, 1), RoleCount("professional", 1, 1)],
        [S("A", 2)],
        -2.0,
        "yes",
        "All 2 partners agree with most of the statements: 1 resident and 1 professional.",
        "Residents put this stage 2 rungs lower on the ladder than professionals do.",
    ),
    (
        "residents one and a half rungs higher",
        1,
        [RoleCount("parent_carer", 1, 0), RoleCount("professional", 1, 0)],
        [S("A", 0, 2)],
        1.5,
        "not_yet",
        "1 of 1 parent or carer and 1 of 1 professional do not yet agree with most statements; fewest agree with “A”.",
        "Residents put this stage 1.5 rungs higher on the ladder than professionals do.",
    ),
]


@pytest.mark.parametrize(
    "n, roles, statements, gap, level, reason, note", [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_verdict_table(n, roles, statements, gap, level, reason, note):
    verdict = decide(n, roles, statements, gap)
    assert (verdict.level, verdict.reason, verdict.ladder_note) == (level, reason, note)


@pytest.mark.parametrize(
    "agree, not_sure, disagree, expected",
    [
        (7, 0, 5, True),  # 5 of 12 = 42%: the "Most agree" that needed a flag
        (7, 0, 3, True),  # exactly 30%
        (8, 0, 3, False),  # 27%
        (0, 0, 0, False),  # nobody answered it
        (0, 10, 0, False),  # not sure is not disagreeing
        (0, 0, 1, True),
    ],
)
def test_flag_at_thirty_percent(agree, not_sure, disagree, expected):
    assert flagged(S("A", agree, not_sure, disagree)) is expected


def test_flagged_statements_are_listed_in_the_verdict():
    roles = [RoleCount("parent_carer", 7, 7), RoleCount("professional", 5, 5)]
    statements = [S("Seven agree, five disagree", 7, 0, 5), S("All agree", 12)]
    verdict = decide(2, roles, statements)
    assert verdict.level == "yes"
    assert verdict.flagged == ["Seven agree, five disagree"]


@pytest.mark.parametrize("gap", [None, 0.0, 0.5, -0.5])
def test_ladder_gap_under_a_rung_is_not_in_the_headline(gap):
    assert ladder_note(gap) is None


def test_headline_reads_as_sentences():
    verdict = decide(1, [RoleCount("child", 1, 1), RoleCount("professional", 1, 1)], [S("A", 2)], 1.0)
    assert verdict.headline == (
        "Yes. All 2 partners agree with most of the statements: 1 resident and 1 professional. "
        "Residents put this stage 1 rung higher on the ladder than professionals do."
    )
