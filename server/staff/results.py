"""The results of one project stage, aggregated in SQL from the projection tables.

Every function takes a SQLAlchemy ``Session`` or ``Connection`` and returns
plain frozen dataclasses: no Flask, no ORM objects, so the rules can be tested
against a plain-Python oracle and a snapshot is ``dataclasses.asdict``.

Who counts: every participant whose consent to the project is not withdrawn
(one whose ``participants`` row has not arrived yet counts, with no role).
Answers to an earlier version of a statement count for its current active
version; when a partner answered more than one version, the newest version's
answer counts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

from sqlalchemy import and_, case, func, select
from sqlalchemy.sql.elements import ColumnElement

from server.domain import stage_counts
from server.domain.checklist import LADDER, PRINCIPLE_NAMES, PRINCIPLES
from server.domain.models import (
    ChecklistAnswer,
    Consent,
    Participant,
    Statement,
)
from server.domain.words import PROFESSIONAL_ROLES, RESIDENT_ROLES, ROLE_NAMES, ROLES, VALUES
from server.staff.verdict import RoleCount, StatementCount, Verdict, decide, flagged

EQUALITY_QUESTIONS = ("gender", "ethnicity", "disability", "first_language")
EQUALITY_NAMES = {
    "gender": "Gender",
    "ethnicity": "Ethnicity",
    "disability": "Disability",
    "first_language": "First language",
}
# Counts below this are never shown, so nobody can be picked out of a small group.
SUPPRESS_BELOW = 5
FEWER_THAN = f"fewer than {SUPPRESS_BELOW}"
NO_ANSWER = "(no answer)"  # the key of the cell for people who left a question unanswered

ALL, MAJORITY, NOT_YET = "all", "majority", "not_yet"
LEVEL_NAMES = {ALL: "All statements", MAJORITY: "Majority", NOT_YET: "Not yet"}
# Per statement: how far the partners who answered the stage agree with it.
EVERYONE, MOST, LACKING, NO_ANSWERS = "everyone", "most", "lacking", "no_answers"
STATEMENT_LEVEL_NAMES = {
    EVERYONE: "Everyone agrees",
    MOST: "Most agree",
    LACKING: "Lacks agreement",
    NO_ANSWERS: "No answers yet",
}


# ---------------------------------------------------------------- dataclasses


@dataclass(frozen=True, slots=True)
class StatementResult:
    id: str
    principle: str
    order: int
    text: str
    easy_read: str
    symbol: str
    agree: int
    not_sure: int
    disagree: int
    unanswered: int  # partners who answered the stage but not this statement
    level: str

    @property
    def level_name(self) -> str:
        return STATEMENT_LEVEL_NAMES[self.level]

    @property
    def lacks_agreement(self) -> bool:
        return self.level == LACKING

    @property
    def flagged(self) -> bool:
        """True when 30% or more of those who answered it disagree."""
        return flagged(self.counts)

    @property
    def counts(self) -> StatementCount:
        return StatementCount(self.text, self.agree, self.not_sure, self.disagree, self.unanswered)


@dataclass(frozen=True, slots=True)
class PrincipleResult:
    principle: str
    name: str
    statements: list[StatementResult]

    @property
    def lacking(self) -> list[StatementResult]:
        return [s for s in self.statements if s.lacks_agreement]

    @property
    def disagreements(self) -> int:
        return sum(s.disagree for s in self.statements)


@dataclass(frozen=True, slots=True)
class Achievement:
    level: str
    active_statements: int
    partners: int  # participants who answered at least one statement this stage
    residents: int
    professionals: int
    others: int
    partners_majority: int  # agree with more than half of the active statements
    partners_all: int  # agree with every active statement
    reasons: list[str]
    # Per role (participant role, or "unknown"): partners and those agreeing with most.
    roles: list[RoleCount] = field(default_factory=list)

    @property
    def name(self) -> str:
        return LEVEL_NAMES[self.level]

    @property
    def achieved(self) -> bool:
        return self.level != NOT_YET


@dataclass(frozen=True, slots=True)
class LadderGroup:
    key: str  # residents | professionals | other
    name: str
    counts: list[int]  # index = rung 0..4
    total: int
    median: float | None
    gap_to_target: float | None  # median minus target rung


@dataclass(frozen=True, slots=True)
class LadderResult:
    target_rung: int
    target_name: str
    groups: list[LadderGroup]
    # Residents' median minus professionals' median: a finding when not 0.
    residents_vs_professionals: float | None


@dataclass(frozen=True, slots=True)
class Cell:
    """One aggregate count; ``count`` is None when it is too small to show."""

    key: str
    label: str
    count: int | None

    @property
    def shown(self) -> str:
        return FEWER_THAN if self.count is None else str(self.count)


@dataclass(frozen=True, slots=True)
class Reach:
    took_part: int | None  # None when fewer than SUPPRESS_BELOW took part
    by_role: list[Cell]
    equality: dict[str, list[Cell]]
    gave_none: int | None  # None when it is too small to show
    gave_none_share: float | None  # 0..1; None when the count is suppressed or nobody took part

    @property
    def took_part_shown(self) -> str:
        return FEWER_THAN if self.took_part is None else str(self.took_part)

    @property
    def gave_none_shown(self) -> str:
        return FEWER_THAN if self.gave_none is None else str(self.gave_none)


@dataclass(frozen=True, slots=True)
class Responses:
    feedback: int
    linked: int
    linked_share: float | None  # 0..1, None without feedback
    median_seconds: float | None  # feedback received -> first linked to an action


@dataclass(frozen=True, slots=True)
class Loop:
    feedback: int
    linked: int
    linked_share: float | None  # 0..1, None without feedback
    actions: int  # distinct actions that answer this stage's feedback
    actions_done: int
    done_share: float | None
    median_seconds: float | None  # feedback received -> first linked to an action


@dataclass(frozen=True, slots=True)
class StageResults:
    project_id: str
    stage: str
    computed_at: str
    achievement: Achievement
    principles: list[PrincipleResult]
    ladder: LadderResult
    reach: Reach
    loop: Loop
    verdict: Verdict

    def snapshot(self) -> dict:
        """Return the results as plain JSON-ready data, for the learning log."""
        return asdict(self)


# ---------------------------------------------------------------- helpers


def consent_not_withdrawn(project_id: str, participant_id: ColumnElement) -> ColumnElement[bool]:
    """The participant has not withdrawn their consent to this project.

    NOT IN over a small subquery, which both backends evaluate once, not once
    per answer row. (The hooks accept a participant's records only for the
    project they joined, so no membership test is needed here.)
    """
    withdrawn = select(Consent.participant_id).where(
        Consent.project_id == project_id, Consent.withdrawn_at.is_not(None)
    )
    return participant_id.not_in(withdrawn)


def _role_class(role: str | None) -> str:
    if role in RESIDENT_ROLES:
        return "residents"
    if role in PROFESSIONAL_ROLES:
        return "professionals"
    return "other"


@dataclass(slots=True)
class _StatementMap:
    active: list  # active Statement rows in display order
    canonical: dict[str, str] = field(default_factory=dict)  # any version id -> active id
    rank: dict[str, int] = field(default_factory=dict)  # newer versions rank higher

    @property
    def identity(self) -> bool:
        return all(k == v for k, v in self.canonical.items())


def statement_map(db, project_id: str) -> _StatementMap:
    """Map every version of each active statement to the active one."""
    # Plain columns, not ORM objects, so a Session and a Connection both work.
    rows = db.execute(select(*Statement.__table__.c).where(Statement.project_id == project_id)).all()
    by_id = {s.id: s for s in rows}
    active = sorted(
        (s for s in rows if s.active),
        key=lambda s: (
            PRINCIPLES.index(s.principle) if s.principle in PRINCIPLES else 99,
            s.order,
            s.id,
        ),
    )
    result = _StatementMap(active)
    for s in active:
        chain, current, seen = [], s, set()
        while current is not None and current.id not in seen:
            seen.add(current.id)
            chain.append(current.id)
            current = by_id.get(current.replaces) if current.replaces else None
        for depth, sid in enumerate(chain):
            # An old version claimed by two active statements goes to the first seen.
            result.canonical.setdefault(sid, s.id)
            result.rank.setdefault(sid, len(chain) - depth)
    return result


def _answers(db, project_id: str, stage: str, smap: _StatementMap):
    """CTE of counted answers: participant_id, statement_id, value.

    With earlier versions about, statement_id is the active version's id (NULL for
    a statement no longer asked) and each partner keeps one answer per statement.
    """
    a = ChecklistAnswer
    base_where = (
        a.project_id == project_id,
        a.stage == stage,
        consent_not_withdrawn(project_id, a.participant_id),
    )
    if smap.identity:
        # No earlier versions: answers keep their statement ids (an inactive one is
        # ignored by the callers), so grouping can follow an index on statement_id.
        return (
            select(
                a.participant_id.label("participant_id"),
                a.statement_id.label("statement_id"),
                a.value.label("value"),
            )
            .where(*base_where)
            .cte("answers")
        )
    canon = case(smap.canonical, value=a.statement_id, else_=None)
    rank = case(smap.rank, value=a.statement_id, else_=0)
    ranked = (
        select(
            a.participant_id.label("participant_id"),
            canon.label("statement_id"),
            a.value.label("value"),
            func.row_number().over(partition_by=(a.participant_id, canon), order_by=rank.desc()).label("rn"),
        )
        .where(*base_where)
        .subquery("ranked")
    )
    return select(ranked.c.participant_id, ranked.c.statement_id, ranked.c.value).where(ranked.c.rn == 1).cte("answers")


# ---------------------------------------------------------------- the checklist


def checklist(db, project_id: str, stage: str) -> tuple[Achievement, list[PrincipleResult]]:
    """Apply the achieved rule and count agree / not sure / disagree per statement."""
    smap = statement_map(db, project_id)
    n_active = len(smap.active)
    tallied = _from_tallies(db, project_id, stage, smap)
    if tallied is not None:
        role_rows, counts = tallied
    else:
        role_rows, counts = _recount(db, project_id, stage, smap)
    achievement = _achievement(role_rows, n_active)
    return achievement, _principles(smap, counts, achievement.partners)


def _from_tallies(db, project_id: str, stage: str, smap: _StatementMap):
    """Read the kept counts: (role rows, counts per statement), or None if they cannot answer.

    They cannot when a statement has earlier versions (a partner's newest answer
    counts, which a sum cannot tell) or an answered statement is no longer asked.
    """
    if not smap.identity:
        return None
    counts: dict[str, dict[str, int]] = {s.id: dict.fromkeys(VALUES, 0) for s in smap.active}
    for _, _, statement_id, value, n in stage_counts.read(db, project_id, stage, ("statement",)):
        if statement_id not in counts:
            return None
        if value in VALUES:
            counts[statement_id][value] = n
    return _role_rows(db, project_id, stage, len(smap.active)), counts


def _role_rows(db, project_id: str, stage: str, n_active: int) -> list[tuple]:
    """Per role: partners, those agreeing with more than half, those agreeing with all (counts kept)."""
    by_role: dict[str, list[int]] = {}
    for _, _, role, agreed, count in stage_counts.read(db, project_id, stage, ("agreed",)):
        row = by_role.setdefault(role, [0, 0, 0])
        row[0] += count
        row[1] += count if int(agreed) * 2 > n_active else 0
        row[2] += count if int(agreed) >= n_active else 0
    return [(role or None, *row) for role, row in by_role.items()]


def _recount(db, project_id: str, stage: str, smap: _StatementMap):
    """Count every answer of the stage: (role rows, counts per statement)."""
    n_active = len(smap.active)
    answers = _answers(db, project_id, stage, smap)
    agreed = func.sum(
        case(
            (
                and_(
                    answers.c.value == "agree",
                    answers.c.statement_id.in_([st.id for st in smap.active] or [""]),
                ),
                1,
            ),
            else_=0,
        )
    )
    # Aggregate per partner first, then join the few thousand partners for their role.
    per_partner = (
        select(answers.c.participant_id, agreed.label("agreed"))
        .group_by(answers.c.participant_id)
        .subquery("per_partner")
    )
    role_rows = db.execute(
        select(
            Participant.role,
            func.count(),
            func.sum(case((per_partner.c.agreed * 2 > n_active, 1), else_=0)),
            func.sum(case((per_partner.c.agreed >= n_active, 1), else_=0)),
        )
        # An outer join: a partner whose participant record has not arrived yet
        # still counts, with no role.
        .select_from(per_partner)
        .outerjoin(Participant, Participant.id == per_partner.c.participant_id)
        .group_by(Participant.role)
    ).all()
    counts: dict[str, dict[str, int]] = {s.id: dict.fromkeys(VALUES, 0) for s in smap.active}
    for statement_id, value, count in db.execute(
        select(answers.c.statement_id, answers.c.value, func.count()).group_by(answers.c.statement_id, answers.c.value)
    ):
        if statement_id in counts and value in VALUES:
            counts[statement_id][value] = count
    return role_rows, counts


def _achievement(role_rows, n_active: int) -> Achievement:
    """Sum the per-role rows and apply the achieved rule."""
    partners = residents = professionals = others = majority = everything = 0
    by_role: dict[str, list[int]] = {}
    for role, count, n_majority, n_all in role_rows:
        key = role if role in ROLES else "unknown"
        tally = by_role.setdefault(key, [0, 0])
        tally[0] += count
        tally[1] += n_majority or 0
        partners += count
        majority += n_majority or 0
        everything += n_all or 0
        kind = _role_class(role)
        if kind == "residents":
            residents += count
        elif kind == "professionals":
            professionals += count
        else:
            others += count
    reasons = []
    if n_active == 0:
        reasons.append("The project has no active statements.")
    if residents == 0:
        reasons.append("No resident (child, young person, parent or carer) has answered yet.")
    if professionals == 0:
        reasons.append("No professional has answered yet.")
    if partners and majority < partners:
        reasons.append(f"{partners - majority} of {partners} partners agree with half of the statements or fewer.")
    if reasons:
        level = NOT_YET
    elif everything == partners:
        level = ALL
    else:
        level = MAJORITY
    roles = [RoleCount(k, n, m) for k, (n, m) in sorted(by_role.items())]
    return Achievement(
        level,
        n_active,
        partners,
        residents,
        professionals,
        others,
        majority,
        everything,
        reasons,
        roles,
    )


def _principles(smap: _StatementMap, counts, partners: int) -> list[PrincipleResult]:
    """Give each active statement its counts and level, grouped by principle."""
    by_principle: dict[str, list[StatementResult]] = {}
    for s in smap.active:
        c = counts[s.id]
        answered = sum(c.values())
        if partners == 0:
            level_s = NO_ANSWERS
        elif c["agree"] == partners:
            level_s = EVERYONE
        elif c["agree"] * 2 > partners:
            level_s = MOST
        else:
            level_s = LACKING
        by_principle.setdefault(s.principle, []).append(
            StatementResult(
                s.id,
                s.principle,
                s.order,
                s.text,
                s.easy_read or "",
                s.symbol or "",
                c["agree"],
                c["not_sure"],
                c["disagree"],
                partners - answered,
                level_s,
            )
        )
    return [
        PrincipleResult(p, PRINCIPLE_NAMES.get(p, p.title()), by_principle[p])
        for p in (*PRINCIPLES, *sorted(set(by_principle) - set(PRINCIPLES)))
        if p in by_principle
    ]


# ---------------------------------------------------------------- the ladder


def ladder(db, project_id: str, stage: str, target_rung: int) -> LadderResult:
    """Count the rungs partners experienced, by residents and professionals, against the target."""
    counts = {key: [0] * len(LADDER) for key in ("residents", "professionals", "other")}
    for _, _, role, rung, count in stage_counts.read(db, project_id, stage, ("rung",)):
        if rung.isdigit() and int(rung) < len(LADDER):
            counts[_role_class(role or None)][int(rung)] += count
    names = {"residents": "Residents", "professionals": "Professionals", "other": "Other partners"}
    groups = []
    for key in ("residents", "professionals", "other"):
        if key == "other" and not sum(counts[key]):
            continue
        median = _median_of(dict(enumerate(counts[key])))
        groups.append(
            LadderGroup(
                key,
                names[key],
                counts[key],
                sum(counts[key]),
                median,
                None if median is None else median - target_rung,
            )
        )
    medians = {g.key: g.median for g in groups}
    gap = None
    if medians.get("residents") is not None and medians.get("professionals") is not None:
        gap = medians["residents"] - medians["professionals"]
    target_name = LADDER[target_rung][1] if 0 <= target_rung < len(LADDER) else str(target_rung)
    return LadderResult(target_rung, target_name, groups, gap)


# ---------------------------------------------------------------- reach


def suppress(items: Iterable[tuple[str, str, int]]) -> list[Cell]:
    """Hide counts from 1 to SUPPRESS_BELOW - 1; when only one is hidden, hide the next smallest.

    The second hiding stops a hidden count being worked out from the total.
    A zero stays visible: it picks nobody out.
    """
    items = list(items)
    hidden = {k for k, _, n in items if 0 < n < SUPPRESS_BELOW}
    if len(hidden) == 1:
        shown = sorted((n, k) for k, _, n in items if k not in hidden and n > 0)
        if shown:
            hidden.add(shown[0][1])
    return [Cell(k, label, None if k in hidden else n) for k, label, n in items]


def _small(n: int) -> int | None:
    return n if n == 0 or n >= SUPPRESS_BELOW else None


def reach(db, project_id: str, stage: str) -> Reach:
    """Count who took part by role and their equality answers, only in safe aggregates."""
    role_counts: dict[str, int] = {}
    tallied: dict[str, dict[str, int]] = {q: {} for q in EQUALITY_QUESTIONS}
    gave_none = 0
    for _, measure, role, value, count in stage_counts.read(
        db, project_id, stage, ("took_part", "equality", "gave_none")
    ):
        if measure == "took_part":
            key = role if role in ROLES else "unknown"
            role_counts[key] = role_counts.get(key, 0) + count
        elif measure == "equality" and role in tallied:
            tallied[role][value] = tallied[role].get(value, 0) + count
        elif measure == "gave_none":
            gave_none += count
    total = sum(role_counts.values())
    by_role = suppress(
        (key, ROLE_NAMES.get(key, "Role not given"), role_counts.get(key, 0))
        for key in (*ROLES, "unknown")
        if key != "unknown" or role_counts.get(key)
    )
    equality = {q: _equality_cells(tallied[q], total) for q in EQUALITY_QUESTIONS}
    gave_none_shown = _small(gave_none)
    share = None
    if total and gave_none_shown is not None and _small(total) is not None:
        share = gave_none / total
    return Reach(_small(total), by_role, equality, gave_none_shown, share)


def _equality_cells(answers: dict[str, int], total: int) -> list[Cell]:
    """One question's answers, biggest first, with "No answer" for the rest of those who took part."""
    rows = sorted(answers.items(), key=lambda item: (-item[1], item[0]))
    # Each table covers everyone who took part, so hiding works on the whole table.
    unanswered = total - sum(count for _, count in rows)
    return suppress(
        [(value, _equality_label(value), count) for value, count in rows]
        + ([(NO_ANSWER, "No answer", unanswered)] if unanswered else [])
    )


def _equality_label(value: str) -> str:
    if value == "prefer_not_to_say":
        return "Prefer not to say"
    return value.replace("_", " ").capitalize() if value.islower() else value


# ---------------------------------------------------------------- closing the loop


def closing_the_loop(db, project_id: str, stage: str | None) -> Loop:
    """Share of feedback linked to an action, share of those actions done, median time to link.

    ``stage`` None counts the whole project (the evidence pack). The median is of
    times rounded as the pages show them (``stage_counts.response_bucket``).
    """
    heard = responses(db, project_id, stage)
    actions = {  # id -> status, of the actions that answer the feedback
        action_id: status for _, _, status, action_id, _ in stage_counts.read(db, project_id, stage, ("answering",))
    }
    done = sum(1 for status in actions.values() if status == "done")
    return Loop(
        heard.feedback,
        heard.linked,
        heard.linked_share,
        len(actions),
        done,
        done / len(actions) if actions else None,
        heard.median_seconds,
    )


def responses(db, project_id: str, stage: str | None) -> Responses:
    """How much feedback got a response, and the median time to the first (a few rows)."""
    unanswered = 0
    times: dict[int, int] = {}
    for _, measure, _, value, count in stage_counts.read(db, project_id, stage, ("feedback", "response")):
        if measure == "feedback":
            unanswered += count
        else:
            times[int(value)] = times.get(int(value), 0) + count
    linked = sum(times.values())
    total = unanswered + linked
    return Responses(total, linked, linked / total if total else None, _median_of(times))


def _median_of(times: dict[int, int]) -> float | None:
    """The median of values given as {value: how many}; the mean of the two middle ones."""
    total = sum(times.values())
    if not total:
        return None
    middle = []
    for target in ((total - 1) // 2, total // 2):
        seen = 0
        for value in sorted(times):
            seen += times[value]
            if target < seen:
                middle.append(value)
                break
    return (middle[0] + middle[1]) / 2


# ---------------------------------------------------------------- everything


def stage_results(db, project_id: str, stage: str, target_rung: int) -> StageResults:
    """Compute every result of one project stage."""
    achievement, principles = checklist(db, project_id, stage)
    rungs = ladder(db, project_id, stage, target_rung)
    return StageResults(
        project_id,
        stage,
        datetime.now(UTC).strftime("%-d %B %Y at %H:%M UTC"),
        achievement,
        principles,
        rungs,
        reach(db, project_id, stage),
        closing_the_loop(db, project_id, stage),
        stage_verdict(achievement, principles, rungs),
    )


def stage_verdict(achievement: Achievement, principles: list[PrincipleResult], rungs: LadderResult) -> Verdict:
    """Give the stage's verdict from its counts (the one rule, in server.staff.verdict)."""
    statements = [s.counts for p in principles for s in p.statements]
    return decide(
        achievement.active_statements,
        achievement.roles,
        statements,
        rungs.residents_vs_professionals,
    )
