"""Counts of people and feedback per stage, kept as records are projected.

The results page and the public page used to count answers, people and
feedback row by row on every view (4 s at a million answers on PostgreSQL).
Instead ``stage_counts`` holds, per project and stage, the few counts they show
(see ``server.domain.models.StageCount`` for the measures).

Keeping them: a merge names the people and feedback its records touch. Before
the projection changes any row, ``before`` reads the rows that decide what those
people and feedback contribute to the counts, in one query, and counts them; after
it, ``after`` counts again and adds the difference. For the usual merge (answers,
ratings, equality answers, roles and new feedback) it counts the rows read before
with the merge's own rows put in their place (``_rows_after``), so a push reads
them once; a merge that deletes, withdraws consent, links feedback or moves it to
another stage reads them again. On PostgreSQL pushes run in parallel: ``before``
holds the people and feedback it names until commit, so two merges touching one
person take turns here.

What a person contributes is a pure function of the stored rows (their role,
consent, equality answers, answers, ratings and feedback), so ``rebuild`` makes
the same counts from scratch, and a test compares the two. A withdrawn partner
contributes nothing, so readers need no exclusion. Rows whose count falls to 0
stay (readers skip them): the next answer of the kind reuses them.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache

from sqlalchemy import (
    String,
    and_,
    bindparam,
    cast,
    delete,
    exists,
    func,
    literal,
    select,
    true,
    tuple_,
    union_all,
)
from sqlalchemy.engine import Connection

from server.domain.models import (
    Action,
    ActionFeedback,
    ChecklistAnswer,
    Consent,
    EqualityAnswer,
    Feedback,
    LadderRating,
    Participant,
    StageCount,
)
from sync import feed, sql
from sync.records import Record
from sync.sql import IdList, Writes, in_ids, writing

EQUALITY_QUESTIONS = ("gender", "ethnicity", "disability", "first_language")
# Rows per count: every push of a project adds to the same few counts (its feedback, say),
# and a merge holds the rows it changed until commit, so each merge writes to a shard no
# other merge is writing to (``_free_shard``). Readers sum at most this many rows per count.
SHARDS = 32
# The advisory-lock space of the shards (the two-key form, apart from the records' locks).
SHARD_LOCKS = 1730
# The first shard from this connection's own start (its backend's pid, so connections start
# apart) that no other transaction holds, taking its lock; else the start, to wait on. SQL
# that the counts' upsert runs for its ``shard`` column: an uncorrelated subquery, so
# PostgreSQL runs it once per statement (an InitPlan), in the upsert's own round trip. No
# ORDER BY: rows come from generate_series in order and LIMIT stops at the first lock
# taken, so no other shard is locked on the way.
_FREE_SHARD_PG = (
    f"COALESCE((SELECT (pg_backend_pid() + i) % {SHARDS} FROM generate_series(0, {SHARDS - 1}) AS i "
    f"WHERE pg_try_advisory_xact_lock({SHARD_LOCKS}, (pg_backend_pid() + i) % {SHARDS}) LIMIT 1), "
    f"pg_backend_pid() % {SHARDS})"
)
_CHUNK = 500
# Record types whose rows feed a person's counts, and the table to find a deleted one's owner.
_PEOPLE_TYPES = {
    "participant": Participant,
    "consent": Consent,
    "equality": EqualityAnswer,
    "checklist_answer": ChecklistAnswer,
    "ladder_rating": LadderRating,
    "feedback": Feedback,
}
Key = tuple[str, str, str, str, str]  # project, stage, measure, role, value


@dataclass(slots=True)
class Pending:
    """What a merge touches, what it contributed to the counts before the merge, and the
    rows that said so (``_merge_query``'s)."""

    people: set[str] = field(default_factory=set)
    feedback: set[str] = field(default_factory=set)
    before: Counter = field(default_factory=Counter)
    rows: list = field(default_factory=list)


@dataclass(slots=True)
class Prefetched:
    """``merge_rows_parts``' rows for these people and feedback, read by the caller in a
    statement of its own before the merge, under the locks of all of them."""

    people: frozenset[str]
    feedback: frozenset[str]
    rows: list


def before(
    conn: Connection, changed: list[Record], locked: frozenset[str] = frozenset(), prefetched: Prefetched | None = None
) -> Pending | None:
    """Name the people and feedback these records touch, and count them as they stand.

    ``locked``: ids the push already holds (``DomainHooks.also_lock``): not locked again.
    ``prefetched``: their rows as read already, used when they cover everyone this merge
    touches and nobody needs locking still (a round trip fewer); else they are read here.
    """
    pending = Pending()
    owners_to_find: dict[str, list[str]] = defaultdict(list)
    consent_people: set[str] = set()
    actions: list[Record] = []
    for record in changed:
        if record.type == "action":
            actions.append(record)
            continue
        if record.type not in _PEOPLE_TYPES:
            continue
        values = record.values()
        owner = record.id if record.type == "participant" else values.get("participant_id")
        if owner:
            pending.people.add(owner)
        else:  # a tombstone without its fields: its stored row names the owner
            owners_to_find[record.type].append(record.id)
        if record.type == "feedback":
            pending.feedback.add(record.id)
        elif record.type == "consent" and owner:
            consent_people.add(owner)
    for name, ids in owners_to_find.items():
        table = _PEOPLE_TYPES[name].__table__
        owner_column = table.c.id if name == "participant" else table.c.participant_id
        found = _in_chunks(conn, select(owner_column).where(in_ids(table.c.id)), ids)
        pending.people.update(row[0] for row in found)
    pending.feedback.update(_linked_feedback(conn, actions))
    if consent_people:  # withdrawing consent takes the person's feedback out of the loop
        f = Feedback.__table__
        query = select(f.c.id).where(in_ids(f.c.participant_id))
        pending.feedback.update(row[0] for row in _in_chunks(conn, query, consent_people))
    if not pending.people and not pending.feedback:
        return None
    unlocked = (pending.people | pending.feedback) - locked
    if (
        prefetched is not None
        and not unlocked
        and pending.people <= prefetched.people
        and pending.feedback <= prefetched.feedback
    ):
        pending.rows = [row for row in prefetched.rows if row[1] in _owners_of(row[0], pending)]
    else:
        _lock(conn, unlocked)
        pending.rows = _read_rows(conn, pending.people, pending.feedback)
    pending.before = _count_rows(pending.rows)
    return pending


def _owners_of(tag: str, pending: Pending) -> set[str]:
    # A row's second column names its feedback (responses "r", links "x") or its person.
    return pending.feedback if tag in ("r", "x") else pending.people


def after(
    conn: Connection,
    pending: Pending | None,
    written: dict[str, list[dict]] | None = None,
    gone: dict[str, list[str]] | None = None,
    writes: Writes | None = None,
) -> None:
    """Count the same people and feedback again and add the difference to the counts.

    ``written`` (type -> the projection rows the merge wrote) and ``gone`` (type -> ids
    whose rows it deleted): when given, the counts come from the rows read before with
    these in their place, unless the merge did something only a new read can follow.
    ``writes``: the merge's held writes (the projection rows): the counts' own go there
    too, and a new read flushes them first.
    """
    if pending is None:
        return
    rows = _rows_after(pending, written, gone or {}) if written is not None else None
    if rows is None:
        if writes is not None:
            writes.flush()
        rows = _read_rows(conn, pending.people, pending.feedback)
    delta: Counter = _count_rows(rows)
    delta.subtract(pending.before)
    _add(conn, delta, writes=writes)


def _rows_after(pending: Pending, written: dict[str, list[dict]], gone: dict[str, list[str]]) -> list | None:
    """``before``'s rows as the merge left them: each written record's row in place of its
    old one. None when they cannot be worked out without reading them again: a deletion
    (or a record waiting for its creation), a consent or an action written, feedback
    moved to another stage, or new feedback that an action already names.
    """
    if any(name in _PEOPLE_TYPES or name == "action" for name in gone):
        return None
    if "consent" in written or "action" in written:
        return None
    replaced: dict[str, tuple] = {}
    added: list[tuple] = []
    for name, rows in written.items():
        as_read = _AS_READ.get(name)
        if as_read is not None:
            replaced.update((row["id"], as_read(row)) for row in rows)
        elif name == "feedback":
            new = _new_feedback_rows(pending.rows, rows)
            if new is None:
                return None
            added += new
    kept = [row for row in pending.rows if row[8] not in replaced]
    return kept + list(replaced.values()) + added


# The row ``_people_selects`` reads for a record of these types, made from its projection row.
_AS_READ = {
    "participant": lambda r: ("p", r["id"], r["project_id"], None, r["role"], None, None, None, r["id"]),
    "equality": lambda r: (
        "e", r["participant_id"], r["project_id"], None, *(r[q] for q in EQUALITY_QUESTIONS), r["id"]
    ),
    "checklist_answer": lambda r: (
        "a", r["participant_id"], r["project_id"], r["stage"], r["statement_id"], r["value"], None, None, r["id"]
    ),
    "ladder_rating": lambda r: (
        "l", r["participant_id"], r["project_id"], r["stage"], str(r["rung"]), None, None, None, r["id"]
    ),
}  # fmt: skip


def _new_feedback_rows(before: list, written: list[dict]) -> list[tuple] | None:
    """The rows ("f" and "r") that written feedback adds to ``before``'s; None when it moved
    stage or an action names new feedback already (only a new read counts those)."""
    stages = {row[1]: (row[2], row[3]) for row in before if row[0] == "r"}
    linked = {row[1] for row in before if row[0] == "x"}
    withdrawn = {(row[1], row[2]) for row in before if row[0] == "w"}
    added = []
    for row in written:
        rid, place = row["id"], (row["project_id"], row["stage"])
        if rid in stages:  # stored before, and counted: only its words may change
            if stages[rid] != place:
                return None
            continue
        if rid in linked:
            return None
        person = row["participant_id"]
        added.append(("f", person, *place, None, None, None, None, None))
        if (person, place[0]) not in withdrawn:  # a withdrawn person's feedback is not counted
            added.append(("r", rid, *place, None, None, None, None, None))
    return added


def _lock(conn: Connection, ids: set[str]) -> None:
    """Hold these people and feedback until commit (PostgreSQL, whose pushes run in parallel).

    A person's counts are not a sum of their records (one who answered and gave
    feedback took part once), so two merges touching one person at once would
    each add a difference worked out without the other's change. A person is locked
    by their participant record's id and a feedback by its record's id: the same
    locks a push takes on the records it writes, so a push names the people it
    touches up front and takes them all in one sorted statement (``also_lock``);
    this takes only the rest (a deleted record's owner, a withdrawn person's
    feedback). SQLite has one writer at a time already.
    """
    if conn.dialect.name == "postgresql" and ids:
        feed.lock_keys(conn, ids, feed.RECORD_LOCKS)


def _linked_feedback(conn: Connection, actions: list[Record]) -> set[str]:
    """Feedback these action records link now or linked before (their counts may move)."""
    found: set[str] = set()
    for record in actions:
        found.update(record.values().get("feedback_ids") or [])
    if actions:
        af = ActionFeedback.__table__
        query = select(af.c.feedback_id).where(in_ids(af.c.action_id))
        rows = _in_chunks(conn, query, [r.id for r in actions])
        found.update(row[0] for row in rows)
    return found


def _in_chunks(conn: Connection, query, ids) -> list:
    """Run a query built with ``in_ids`` for these ids, 500 at a time."""
    ids = sorted(ids)
    rows: list = []
    for start in range(0, len(ids), _CHUNK):
        rows.extend(conn.execute(query, {"ids": ids[start : start + _CHUNK]}).all())
    return rows


def _add(conn: Connection, delta: Counter, shard: int | None = None, writes: Writes | None = None) -> None:
    """Add the changes to the counts; rows in key order, so two merges lock them in one order.

    ``shard`` None: a shard of the counts that no other merge is writing to, held until
    commit. PostgreSQL runs merges in parallel: with a shard picked at random, two of the
    twenty or so in flight at saturation often picked one, and the second waited on the
    first's rows until it committed (9-11% of database time at saturation). Now a merge
    waits only when every shard is taken (``_FREE_SHARD_PG``). SQLite has one writer anyway.
    """
    changes = [(key, n) for key, n in sorted(delta.items()) if n]
    if not changes:
        return
    if shard is None and conn.dialect.name == "postgresql":
        computed, given = {"shard": _FREE_SHARD_PG}, {}
    else:
        computed, given = None, {"shard": random.randrange(SHARDS) if shard is None else shard}
    rows = [
        {"project_id": p, "stage": st, "measure": m, "role": r, "value": v, "count": n, **given}
        for (p, st, m, r, v), n in changes
    ]
    table = StageCount.__table__
    key = tuple(column.name for column in table.primary_key.columns)
    add = {"count": f"{table.name}.count + excluded.count"}
    with writing(conn, writes) as held:
        for start in range(0, len(rows), _CHUNK):
            held.upsert(table, rows[start : start + _CHUNK], key, add, computed)


# ---------------------------------------------------------------- people


@cache
def _people_query(dialect: str):
    """One query for everything that decides some people's counts, as tagged rows of text.

    Built once per backend (building it costs more than running it): the ids are its parameter.
    """
    return union_all(*_people_selects(dialect))


def _feedback_stages(dialect: str, none, people: str = "ids"):
    """Rows ("f", person, project, stage) for each stage a person gave feedback in (padded
    to the people query's nine columns).

    A family that gave a thousand pieces of feedback took part in a few stages: on
    PostgreSQL a recursive query steps from one (project, stage) to the next along
    ``ix_feedback_participant_stage``, a probe each, rather than reading all of them
    on every push (they grew to most of a push's database time under load).
    """
    f = Feedback.__table__
    if dialect != "postgresql":
        query = select(literal("f"), f.c.participant_id, f.c.project_id, f.c.stage, none, none, none, none, none)
        return query.where(in_ids(f.c.participant_id, people)).distinct()
    given = func.unnest(bindparam(people, type_=IdList())).table_valued("pid").render_derived("given")
    first, after = f.alias("first_feedback"), f.alias("next_feedback")
    order = (first.c.project_id, first.c.stage)
    found = (
        select(first.c.participant_id, first.c.project_id, first.c.stage)
        .where(first.c.participant_id == given.c.pid)
        .order_by(*order)
        .limit(1)
        .lateral("found")
    )
    seen = select(*found.c).select_from(given.join(found, true())).cte("seen", recursive=True)
    following = (
        select(after.c.participant_id, after.c.project_id, after.c.stage)
        .where(
            after.c.participant_id == seen.c.participant_id,
            tuple_(after.c.project_id, after.c.stage) > tuple_(seen.c.project_id, seen.c.stage),
        )
        .order_by(after.c.project_id, after.c.stage)
        .limit(1)
        .lateral("following")
    )
    seen = seen.union_all(select(*following.c).select_from(seen.join(following, true())))
    return select(literal("f"), seen.c.participant_id, seen.c.project_id, seen.c.stage, none, none, none, none, none)


def _people_selects(dialect: str, people: str = "ids") -> list:
    """Tagged rows (tag, person, project, stage, four values, the row's record id)."""
    none = literal(None, String)
    p, c, e = Participant.__table__, Consent.__table__, EqualityAnswer.__table__
    a, r = ChecklistAnswer.__table__, LadderRating.__table__
    return [
        select(literal("p"), p.c.id, p.c.project_id, none, p.c.role, none, none, none, p.c.id).where(
            in_ids(p.c.id, people)
        ),
        select(literal("w"), c.c.participant_id, c.c.project_id, none, none, none, none, none, c.c.id).where(
            in_ids(c.c.participant_id, people), c.c.withdrawn_at.is_not(None)
        ),
        select(
            literal("e"), e.c.participant_id, e.c.project_id, none, *(e.c[q] for q in EQUALITY_QUESTIONS), e.c.id
        ).where(in_ids(e.c.participant_id, people)),
        select(
            literal("a"), a.c.participant_id, a.c.project_id, a.c.stage, a.c.statement_id, a.c.value, none, none, a.c.id
        ).where(in_ids(a.c.participant_id, people)),
        select(
            *(literal("l"), r.c.participant_id, r.c.project_id, r.c.stage, cast(r.c.rung, String)),
            *(none, none, none, r.c.id),
        ).where(in_ids(r.c.participant_id, people)),
        _feedback_stages(dialect, none, people),
    ]


def people_counts(conn: Connection, people) -> Counter:
    """Return what these people contribute to the counts, from the stored rows."""
    counts: Counter = Counter()
    _count_people(_in_chunks(conn, _people_query(conn.dialect.name), people), counts)
    return counts


@dataclass(slots=True)
class _Person:
    role: str = ""
    withdrawn: set[str] = field(default_factory=set)  # projects
    equality: dict[str, tuple] = field(default_factory=dict)  # project -> answers
    # (project, stage) -> [(statement id, value)]
    answers: dict[tuple[str, str], list[tuple[str, str]]] = field(default_factory=lambda: defaultdict(list))
    rungs: dict[tuple[str, str], list[str]] = field(default_factory=lambda: defaultdict(list))
    stages: set[tuple[str, str]] = field(default_factory=set)  # (project, stage) taken part in


def _count_people(rows, counts: Counter) -> None:
    people: dict[str, _Person] = defaultdict(_Person)
    for row in rows:
        tag, pid, project, stage = row[:4]
        values = row[4:8]
        person = people[pid]
        if tag == "p":
            person.role = values[0] or ""
        elif tag == "w":
            person.withdrawn.add(project)
        elif tag == "e":
            person.equality[project] = tuple(values)
        else:
            person.stages.add((project, stage))
            if tag == "a":
                person.answers[(project, stage)].append((values[0], values[1]))
            elif tag == "l":
                person.rungs[(project, stage)].append(values[0])
    for person in people.values():
        for project, stage in person.stages:
            if project not in person.withdrawn:
                _count_person(person, project, stage, counts)


def _count_person(person: _Person, project: str, stage: str, counts: Counter) -> None:
    role = person.role
    counts[(project, stage, "took_part", role, "")] += 1
    given = [
        (question, value)
        for question, value in zip(EQUALITY_QUESTIONS, person.equality.get(project, ()), strict=False)
        if value not in (None, "")
    ]
    for question, value in given:
        counts[(project, stage, "equality", question, value)] += 1
    if not given:
        counts[(project, stage, "gave_none", "", "")] += 1
    answers = person.answers.get((project, stage))
    if answers:
        agreed = sum(1 for _, value in answers if value == "agree")
        counts[(project, stage, "agreed", role, str(agreed))] += 1
        for statement_id, value in answers:
            counts[(project, stage, "statement", statement_id, value)] += 1
    for rung in person.rungs.get((project, stage), ()):
        counts[(project, stage, "rung", role, rung)] += 1


# ---------------------------------------------------------------- feedback and responses


def response_bucket(seconds: float) -> int:
    """Round a time to a first response as the pages show it: minutes, tenths of hours or days.

    Counting rounded times keeps one row per distinct shown value, and the median
    worked out from them reads the same as the exact one.
    """
    seconds = max(0.0, seconds)
    if seconds < 3600:
        step = 60
    elif seconds < 48 * 3600:
        step = 360
    else:
        step = 8640
    return round(seconds / step) * step


def _response_select(ids: str = "ids", tagged: bool = False):
    """Each piece of feedback (its ids the parameter ``ids``) with each of its links and their
    actions; ``tagged``: with a leading "r", times as text and a ninth column, to go in one
    union with people."""
    f, af, act, c = Feedback.__table__, ActionFeedback.__table__, Action.__table__, Consent.__table__
    withdrawn = exists().where(
        c.c.participant_id == f.c.participant_id,
        c.c.project_id == f.c.project_id,
        c.c.withdrawn_at.is_not(None),
    )
    times = (f.c.received_at, af.c.linked_at)
    if tagged:
        columns = (literal("r"), f.c.id, f.c.project_id, f.c.stage, *(cast(t, String) for t in times))
    else:
        columns = (f.c.id, f.c.project_id, f.c.stage, *times)
    last = (literal(None, String),) if tagged else ()
    return (
        select(*columns, act.c.id, act.c.status, *last)
        .select_from(f.outerjoin(af.join(act, act.c.id == af.c.action_id), af.c.feedback_id == f.c.id))
        .where(in_ids(f.c.id, ids), ~withdrawn)
    )


@cache
def _response_query():
    return _response_select()


@cache
def _merge_query(dialect: str):
    """Everything that decides some people's and feedback's counts, in one round trip: the
    people query, the response query (rows "r") and the links that name the feedback (rows
    "x": a link to feedback not stored yet counts once the feedback comes, ``_rows_after``)."""
    # One flat union: SQLite takes no parenthesised union inside another.
    return sql.once(union_all(*merge_rows_parts(dialect)))


def merge_rows_parts(dialect: str, people: str = "ids") -> list:
    """The selects of ``_merge_query`` (parameters ``people``, the people, and ``fids``, the
    feedback), nine columns each, tagged in lower case: for a caller's own union."""
    af = ActionFeedback.__table__
    none = literal(None, String)
    links = select(literal("x"), af.c.feedback_id, *([none] * 7)).where(in_ids(af.c.feedback_id, "fids"))
    return [*_people_selects(dialect, people), _response_select("fids", tagged=True), links]


def _read_rows(conn: Connection, people, feedback) -> list:
    """The rows of ``_merge_query`` for these people and this feedback."""
    params = {"ids": sorted(people), "fids": sorted(feedback)}
    return sql.rows(conn, _merge_query(conn.dialect.name), params)


def _count_rows(rows) -> Counter:
    """What the tagged rows of ``_merge_query`` contribute to the counts."""
    counts: Counter = Counter()
    _count_people([row for row in rows if row[0] not in ("r", "x")], counts)
    counts.update(_count_responses(row[1:8] for row in rows if row[0] == "r"))
    return counts


def response_counts(conn: Connection, feedback_ids) -> Counter:
    """Return what this feedback contributes: its stage, its time to a first response, and
    one ``answering`` count per action that answers it (``role`` the action's status)."""
    return _count_responses(_in_chunks(conn, _response_query(), feedback_ids))


def _count_responses(rows) -> Counter:
    first: dict[str, tuple] = {}  # feedback id -> (project, stage, received, first link or None)
    counts: Counter = Counter()
    for fid, project, stage, received, linked_at, action_id, status in rows:
        known = first.get(fid)
        if known is None or (linked_at is not None and (known[3] is None or _naive(linked_at) < known[3])):
            first[fid] = (project, stage, received, None if linked_at is None else _naive(linked_at))
        if action_id is not None:
            counts[(project, stage, "answering", status, action_id)] += 1
    for project, stage, received, linked_at in first.values():
        if linked_at is None:
            counts[(project, stage, "feedback", "", "")] += 1
        else:
            seconds = (linked_at - _naive(received)).total_seconds()
            counts[(project, stage, "response", "", str(response_bucket(seconds)))] += 1
    return counts


def _naive(moment) -> datetime:
    if isinstance(moment, str):  # SQLite hands back text (and so does the union with people)
        moment = datetime.fromisoformat(moment)
    return moment.replace(tzinfo=None)


# ---------------------------------------------------------------- from scratch


def rebuild(conn: Connection, project_id: str | None = None) -> None:
    """Make the counts again from the stored rows (after a bulk load that skipped projection)."""
    s = StageCount.__table__
    clear = delete(s)
    if project_id is not None:
        clear = clear.where(s.c.project_id == project_id)
    conn.execute(clear)
    people: set[str] = set()
    for model in (ChecklistAnswer, LadderRating, Feedback):
        t = model.__table__
        query = select(t.c.participant_id).distinct()
        if project_id is not None:
            query = query.where(t.c.project_id == project_id)
        people.update(conn.execute(query).scalars())
    f = Feedback.__table__
    query = select(f.c.id)
    if project_id is not None:
        query = query.where(f.c.project_id == project_id)
    counts = people_counts(conn, people) + response_counts(conn, conn.execute(query).scalars().all())
    if project_id is not None:
        counts = Counter({k: n for k, n in counts.items() if k[0] == project_id})
    _add(conn, counts, shard=0)


def read(conn, project_id: str, stage: str | None, measures: tuple[str, ...]) -> list[tuple]:
    """Return (stage, measure, role, value, count) for counts above zero, shards summed;
    ``stage`` None reads every stage."""
    s = StageCount.__table__
    where = [s.c.project_id == project_id, s.c.measure.in_(measures)]
    if stage is not None:
        where.append(s.c.stage == stage)
    key = (s.c.stage, s.c.measure, s.c.role, s.c.value)
    total = func.sum(s.c.count)
    return conn.execute(select(*key, total).where(and_(*where)).group_by(*key).having(total > 0)).all()
