"""Time a stage's results page on a big stage, on SQLite and PostgreSQL.

    .venv/bin/python -m bench.bench_results [--answers 100000] [--feedback 20000] [--runs 7]

Builds a stage with 100,000 checklist answers and 20,000 feedback entries (by
bulk-inserting projection rows), then times, server-side, the results
computation alone and the whole results page (routing, sign-in check,
computation, template), each part of the computation alone (to find what is
slow), and the project's public "You said, we did" page. Targets: results page
under 150 ms for 100,000 answers, under 300 ms for 1,000,000; public page under
50 ms. Each target prints a line "target ...: met" or "...: MISSED" (bin/bench
collects them). PostgreSQL is a fresh temporary database made as the test suite
makes them (tests/backends.py).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import timedelta

# Targets: 150 ms up to 100,000 answers, 300 ms up to 1,000,000 (the page reads kept counts).
TARGETS = ((100_000, 150), (1_000_000, 300))
PUBLIC_TARGET_MS = 50
PUBLIC_SLUG = "bench-you-said-we-did"


def target_ms(n_answers: int) -> int:
    """Return the page-time target for a stage of this many answers."""
    return next((ms for size, ms in TARGETS if n_answers <= size), TARGETS[-1][1])


# Covering indexes proposed for server/domain/models.py (checklist_answers): with them
# both scans of a stage's answers read the index only. --proposed-indexes adds them to
# the benchmark's own temporary database to show the difference.
PROPOSED_INDEXES = (
    "CREATE INDEX ix_bench_answers_statement ON checklist_answers "
    "(project_id, stage, statement_id, value, participant_id)",
    "CREATE INDEX ix_bench_answers_participant ON checklist_answers "
    "(project_id, stage, participant_id, value, statement_id)",
)
ROLE_MIX = (
    ("child", 15),
    ("young_person", 15),
    ("parent_carer", 40),
    ("professional", 25),
    ("other", 5),
)


def _chunks(rows, size=5000):
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def seed(db, n_answers: int, n_feedback: int, rng: random.Random, proposed_indexes: bool = False) -> tuple[str, object]:
    """Bulk-insert a project stage of the given size; return (project id, coordinator)."""
    from sqlalchemy import insert, text

    from server.auth.models import User, utcnow
    from server.domain import models
    from server.domain.checklist import DEFAULT_STATEMENTS
    from server.public.models import PublicPage

    now = utcnow()
    coordinator = User(email="bench@example.org", name="Bench Coordinator", role="coordinator")
    coordinator.set_password("bench password")
    db.session.add(coordinator)
    db.session.flush()
    project_id = str(uuid.uuid4())
    db.session.execute(
        insert(models.Project),
        [
            {
                "id": project_id,
                "title": "Benchmark",
                "summary": "",
                "current_stage": "design",
                "target_rung": 4,
                "status": "active",
                "created_at": now,
            }
        ],
    )
    db.session.execute(insert(models.ProjectStaff), [{"project_id": project_id, "user_id": coordinator.id}])
    db.session.execute(
        insert(PublicPage),
        [{"project_id": project_id, "slug": PUBLIC_SLUG, "intro": "", "published": True, "updated_at": now}],
    )
    statements = [
        {
            "id": str(uuid.uuid4()),
            "project_id": project_id,
            "text": t,
            "easy_read": e,
            "symbol": s,
            "principle": p,
            "order": i,
            "version": 1,
            "active": True,
            "replaces": None,
        }
        for i, (p, t, e, s) in enumerate(DEFAULT_STATEMENTS)
    ]
    db.session.execute(insert(models.Statement), statements)

    n_people = -(-n_answers // len(statements))
    roles = [r for r, weight in ROLE_MIX for _ in range(weight)]
    people = [
        {
            "id": str(uuid.uuid4()),
            "project_id": project_id,
            "role": rng.choice(roles),
            "age_band": "26_or_over",
            "display_name": None,
        }
        for _ in range(n_people)
    ]
    consents = [
        {
            "id": str(uuid.uuid4()),
            "participant_id": p["id"],
            "project_id": project_id,
            "notice_version": "1",
            "given_by": "self",
            "given_at": now,
            "withdrawn_at": now if rng.random() < 0.01 else None,
        }
        for p in people
    ]
    answers = []
    for p in people:
        agreeable = rng.random()
        for s in statements:
            if len(answers) == n_answers:
                break
            roll = rng.random()
            value = "agree" if roll < agreeable else ("not_sure" if roll < 0.9 else "disagree")
            answers.append(
                {
                    "id": str(uuid.uuid4()),
                    "participant_id": p["id"],
                    "project_id": project_id,
                    "stage": "design",
                    "statement_id": s["id"],
                    "value": value,
                    "comment": None,
                    "mode": "self",
                    "recorded_by": None,
                }
            )
    ratings = [
        {
            "id": str(uuid.uuid4()),
            "participant_id": p["id"],
            "project_id": project_id,
            "stage": "design",
            "rung": rng.randint(0, 4),
            "comment": None,
            "mode": "self",
            "recorded_by": None,
        }
        for p in people
    ]
    equality = [
        {
            "id": str(uuid.uuid4()),
            "participant_id": p["id"],
            "project_id": project_id,
            "gender": rng.choice(("woman", "man", "non_binary", "prefer_not_to_say")),
            "ethnicity": rng.choice(
                (
                    "white_british",
                    "asian_british",
                    "black_british",
                    "mixed",
                    "other",
                    "prefer_not_to_say",
                )
            ),
            "disability": rng.choice(("yes", "no", "prefer_not_to_say")),
            "first_language": rng.choice(("english", "urdu", "polish", "punjabi", "arabic")),
        }
        for p in people
        if rng.random() < 0.6
    ]
    feedback = [
        {
            "id": str(uuid.uuid4()),
            "participant_id": rng.choice(people)["id"],
            "project_id": project_id,
            "stage": "design",
            "text": "The sessions should be at weekends so working parents can come.",
            "principle": rng.choice(("diversity", "accessibility", None)),
            "mode": "self",
            "recorded_by": None,
            "received_at": now - timedelta(minutes=rng.randint(0, 90 * 24 * 60)),
        }
        for _ in range(n_feedback)
    ]
    actions = [
        {
            "id": str(uuid.uuid4()),
            "project_id": project_id,
            "stage": "design",
            "heard": f"Heard {i}",
            "done": "",
            "status": rng.choice(("planned", "in_progress", "done")),
            "reason": None,
            "timeline": "[]",
            "created_at": now,
            "updated_at": now,
        }
        for i in range(max(1, n_feedback // 40))
    ]
    links = [
        {
            "action_id": rng.choice(actions)["id"],
            "feedback_id": f["id"],
            "linked_at": f["received_at"] + timedelta(hours=rng.randint(1, 500)),
        }
        for f in feedback
        if rng.random() < 0.4
    ]
    for model, rows in (
        (models.Participant, people),
        (models.Consent, consents),
        (models.ChecklistAnswer, answers),
        (models.LadderRating, ratings),
        (models.EqualityAnswer, equality),
        (models.Feedback, feedback),
        (models.Action, actions),
        (models.ActionFeedback, links),
    ):
        for chunk in _chunks(rows):
            db.session.execute(insert(model), chunk)
    # The bulk load skips the projection, which keeps the running tallies: make them
    # from the answers once, as the projection would have, answer by answer.
    from server.domain import stage_counts

    stage_counts.rebuild(db.session.connection(), project_id)
    if proposed_indexes:
        for ddl in PROPOSED_INDEXES:
            db.session.execute(text(ddl))
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    else:
        db.session.execute(text("ANALYZE"))
        db.session.commit()
    print(
        f"  seeded {len(answers):,} answers from {len(people):,} partners, "
        f"{len(feedback):,} feedback, {len(actions):,} actions, {len(links):,} links",
        flush=True,
    )
    return project_id, coordinator


def _time(fn, runs: int, cpu: list | None = None) -> list[float]:
    """Wall-clock milliseconds per run; this process's CPU milliseconds go to ``cpu``."""
    fn()  # warm up: first query plans, template compilation
    out = []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        out.append((time.perf_counter() - start) * 1000)
        if cpu is not None:
            cpu.append((time.process_time() - start_cpu) * 1000)
    return out


def bench(name: str, url: str, n_answers: int, n_feedback: int, runs: int, proposed_indexes: bool) -> dict:
    from flask import g
    from flask_migrate import upgrade

    from server import create_app
    from server.extensions import db
    from server.staff import results as parts
    from server.staff.results import stage_results
    from server.staff.results_views import clear_cache

    print(f"{name}:", flush=True)
    instance = tempfile.mkdtemp(prefix="withus-bench-")
    os.environ["WITHUS_INSTANCE_PATH"] = instance
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": "bench",
            "TESTING": True,
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_ENABLED": False,
        }
    )
    with app.app_context():
        upgrade()
        project_id, coordinator = seed(db, n_answers, n_feedback, random.Random(7), proposed_indexes)
        email = coordinator.email
        client = app.test_client()
        client.post("/staff/sign-in", data={"email": email, "password": "bench password"})
        g.pop("_login_user", None)

        def compute():
            db.session.rollback()
            return stage_results(db.session, project_id, "design", 4)

        def page():
            g.pop("_login_user", None)
            response = client.get(f"/staff/projects/{project_id}/stages/design/results")
            assert response.status_code == 200, response.status_code
            return response

        def cold_page():
            clear_cache()
            return page()

        def public_page():
            response = client.get(f"/p/{PUBLIC_SLUG}")
            assert response.status_code == 200, response.status_code
            return response

        sections = {
            "checklist": lambda: parts.checklist(db.session, project_id, "design"),
            "ladder": lambda: parts.ladder(db.session, project_id, "design", 4),
            "reach": lambda: parts.reach(db.session, project_id, "design"),
            "closing the loop": lambda: parts.closing_the_loop(db.session, project_id, "design"),
        }
        result = compute()
        compute_cpu, page_cpu = [], []
        compute_ms = _time(compute, runs, compute_cpu)
        section_ms = {name: statistics.median(_time(fn, runs)) for name, fn in sections.items()}
        page_ms = _time(cold_page, runs, page_cpu)
        warm_ms = _time(page, runs)
        public_ms = _time(public_page, runs)
        size = len(page().get_data())
        db.session.remove()
        db.engine.dispose()
    print(
        f"  verdict: {result.achievement.name}; {result.achievement.partners:,} partners; "
        f"loop: {result.loop.linked:,}/{result.loop.feedback:,} feedback linked",
        flush=True,
    )
    line = {
        "backend": name,
        "compute_ms": statistics.median(compute_ms),
        "page_ms": statistics.median(page_ms),
        "warm_ms": statistics.median(warm_ms),
        "page_cpu_ms": statistics.median(page_cpu),
        "public_ms": statistics.median(public_ms),
        "bytes": size,
    }
    print(
        f"  results computation: median {line['compute_ms']:.0f} ms (min {min(compute_ms):.0f}, "
        f"max {max(compute_ms):.0f}) over {runs} runs",
        flush=True,
    )
    print(
        "  parts of the computation (median): " + ", ".join(f"{name} {ms:.1f} ms" for name, ms in section_ms.items()),
        flush=True,
    )
    print(
        f"  whole results page:  median {line['page_ms']:.0f} ms (min {min(page_ms):.0f}, "
        f"max {max(page_ms):.0f}); {size:,} bytes of HTML",
        flush=True,
    )
    where = "all of it, SQLite runs in-process" if name == "SQLite" else "Python side only"
    print(
        f"  CPU time of this process: computation {statistics.median(compute_cpu):.0f} ms, "
        f"page {line['page_cpu_ms']:.0f} ms ({where})",
        flush=True,
    )
    print(
        f"  page again, nothing changed (cached by change-feed head): median {line['warm_ms']:.0f} ms",
        flush=True,
    )
    print(f"  public page: median {line['public_ms']:.0f} ms (min {min(public_ms):.0f})", flush=True)
    return line


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--answers", type=int, default=100_000)
    parser.add_argument("--feedback", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument(
        "--proposed-indexes",
        action="store_true",
        help="add the covering indexes proposed for checklist_answers",
    )
    args = parser.parse_args(argv)
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from tests.backends import create_pg_database, drop_pg_database

    lines = []
    if args.backend in ("sqlite", "both"):
        folder = tempfile.mkdtemp(prefix="withus-bench-db-")
        lines.append(
            bench(
                "SQLite",
                f"sqlite:///{folder}/bench.sqlite",
                args.answers,
                args.feedback,
                args.runs,
                args.proposed_indexes,
            )
        )
    if args.backend in ("postgresql", "both"):
        url = create_pg_database()
        try:
            lines.append(bench("PostgreSQL", url, args.answers, args.feedback, args.runs, args.proposed_indexes))
        finally:
            drop_pg_database(url)
    limit = target_ms(args.answers)
    note = " (with the proposed indexes)" if args.proposed_indexes else ""
    print(f"\nTargets (server-side, median, cold cache){note}:")
    missed = False
    for line in lines:
        for what, ms, target in (
            (f"results page for {args.answers:,} answers", line["page_ms"], limit),
            ("public page", line["public_ms"], PUBLIC_TARGET_MS),
        ):
            met = ms < target
            missed = missed or not met
            print(f"  target {line['backend']} {what} under {target} ms: {ms:.0f} ms: " + ("met" if met else "MISSED"))
    print(
        f"  load average now: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs "
        "(other work on the machine slows every figure)"
    )
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
