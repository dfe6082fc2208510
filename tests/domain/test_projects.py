"""Projects, checklist versions, stages, staff, the demo project and the server clock."""

import pytest

from server.domain import projects
from server.domain.checklist import DEFAULT_STATEMENTS
from server.domain.clock import server_clock
from server.domain.models import ChecklistAnswer, JoinCode, Project, ProjectStaff, Statement
from server.extensions import db
from sync.hlc import is_hlc, parse
from sync.store import RecordRejected
from tests.domain.conftest import push, rec
from tests.factories import checklist_answer, participant_values


def test_create_project_writes_records_checklist_and_staff(app, make_user):
    coordinator, worker = make_user("coordinator"), make_user("worker")
    pid = projects.create_project("Transport", "Getting to school", 4, coordinator, [worker])
    db.session.commit()
    project = db.session.get(Project, pid)
    assert (
        project.title,
        project.summary,
        project.current_stage,
        project.target_rung,
        project.status,
    ) == ("Transport", "Getting to school", "design", 4, "active")
    statements = (
        db.session.execute(db.select(Statement).where(Statement.project_id == pid).order_by(Statement.order))
        .scalars()
        .all()
    )
    assert [(s.principle, s.text, s.easy_read, s.symbol) for s in statements] == list(DEFAULT_STATEMENTS)
    staff = db.session.execute(db.select(ProjectStaff.user_id).where(ProjectStaff.project_id == pid)).scalars()
    assert set(staff) == {coordinator.id, worker.id}
    assert projects.read_record(pid).type == "project"


def test_edit_statement_makes_a_new_version_and_old_answers_keep_theirs(project_and_devices, stamps):
    w = project_and_devices
    old = w.statements[3]
    push(w.device, [rec("participant", w.participant_id, participant_values(w.project), stamps())])
    rid, values = checklist_answer(w.participant_id, w.project, old)
    push(w.device, [rec("checklist_answer", rid, values, stamps())])

    new = projects.edit_statement(old, w.coordinator, text="People really listened to me.")
    db.session.commit()
    db.session.expire_all()
    before, after = db.session.get(Statement, old), db.session.get(Statement, new)
    assert (before.active, after.active) == (False, True)
    assert (after.version, after.replaces, after.order, after.principle) == (
        2,
        old,
        before.order,
        before.principle,
    )
    assert after.text == "People really listened to me." and after.easy_read == before.easy_read
    assert db.session.get(ChecklistAnswer, rid).statement_id == old

    with pytest.raises(RecordRejected):
        projects.edit_statement(new, w.worker, text="Workers cannot")
    db.session.rollback()
    with pytest.raises(ValueError):
        projects.edit_statement(new, w.coordinator, version=9)


def test_set_stage_and_server_writes_win_over_a_fast_phone_clock(project_and_devices):
    from sync.hlc import now_ms
    from tests.domain.conftest import Stamps

    w = project_and_devices
    # A record stamped a little ahead of the server (allowed up to 5 minutes): the
    # server's next write must still win, because its clock catches up first.
    ahead = Stamps(wall=now_ms() + 120_000)
    push(w.coordinator, [rec("project", w.project, {"current_stage": "review"}, ahead())])
    projects.set_stage(w.project, "delivery", w.coordinator)
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Project, w.project).current_stage == "delivery"
    projects.update_project(w.project, w.coordinator, status="closed", target_rung=2)
    db.session.commit()
    db.session.expire_all()
    assert (
        db.session.get(Project, w.project).status,
        db.session.get(Project, w.project).target_rung,
    ) == ("closed", 2)
    with pytest.raises(RecordRejected):
        projects.set_stage(w.project, "design", w.other_worker)


def test_add_and_retire_statement(project_and_devices):
    w = project_and_devices
    sid = projects.add_statement(w.project, "I could bring my brother.", "diversity", symbol="👦", actor=w.coordinator)
    db.session.commit()
    assert db.session.get(Statement, sid).order == len(DEFAULT_STATEMENTS)
    projects.retire_statement(sid, w.coordinator)
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Statement, sid).active is False


def test_ensure_demo_project_is_idempotent(app, make_user):
    from server.demo import DEMO_JOIN_CODE, DEMO_PROJECT_ID

    coordinator, worker = make_user("coordinator"), make_user("worker")
    for _ in range(2):
        projects.ensure_demo_project(DEMO_PROJECT_ID, coordinator, [worker], DEMO_JOIN_CODE)
        db.session.commit()
    assert db.session.execute(db.select(db.func.count()).select_from(Project)).scalar() == 1
    assert db.session.execute(db.select(db.func.count()).select_from(Statement)).scalar() == len(DEFAULT_STATEMENTS)
    assert db.session.execute(db.select(db.func.count()).select_from(ProjectStaff)).scalar() == 2
    [code] = db.session.execute(db.select(JoinCode)).scalars().all()
    assert code.code == DEMO_JOIN_CODE and code.expires_at is None


def test_seed_demo_command_twice(app):
    app.config["WITHUS_ENV"] = "development"  # production refuses demo data
    runner = app.test_cli_runner()
    for _ in range(2):
        result = runner.invoke(args=["seed-demo"])
        assert result.exit_code == 0, result.output
        assert "KIND-RIVER" in result.output
    assert db.session.execute(db.select(db.func.count()).select_from(Project)).scalar() == 1


def test_demo_gives_a_coordinator_results_to_read(app):
    """The sample partners land once: 10 partners x 12 answers, 5 feedback, 2 linked to an action."""
    from server.domain.models import ActionFeedback, ChecklistAnswer, Feedback, LadderRating

    app.config["WITHUS_ENV"] = "development"  # production refuses demo data
    runner = app.test_cli_runner()
    for _ in range(2):
        assert runner.invoke(args=["seed-demo"]).exit_code == 0

    def count(model):
        return db.session.execute(db.select(db.func.count()).select_from(model)).scalar()

    assert count(ChecklistAnswer) == 120
    assert count(LadderRating) == 10
    assert count(Feedback) == 5
    assert count(ActionFeedback) == 2


def test_server_clock_is_one_per_process_and_stamps_increase(app):
    clock = server_clock()
    assert clock is server_clock() and len(clock.node_id) == 16
    stamps = [clock.tick() for _ in range(200)]
    assert all(is_hlc(s) for s in stamps) and stamps == sorted(set(stamps))
    later = clock.receive(f"{parse(stamps[-1]).wall + 10_000:013d}-0000-ffffffffffffffff")
    assert later > stamps[-1] and clock.tick() > later
