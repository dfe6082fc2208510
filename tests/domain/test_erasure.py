"""Erasure leaves no traces: not in actions' feedback_ids, not in SQLite's files."""

from pathlib import Path

import pytest
from sqlalchemy import select

from server.domain import projects, types
from server.domain.models import ActionFeedback
from server.extensions import db
from sync import store
from tests.domain.conftest import bearer, push, rec
from tests.domain.test_api import _participant_with_data

SECRET = "Zebra-crossing worries of the Q7 family"


def _other_feedback(w, stamps) -> str:
    """Feedback from a second participant, who stays."""
    fid = types.uuid7()
    push(
        w.worker_device,
        [
            rec(
                "participant",
                other := types.uuid7(),
                {"project_id": w.project, "role": "parent_carer", "age_band": "26_or_over"},
                stamps(),
            ),
            rec(
                "feedback",
                fid,
                {
                    "participant_id": other,
                    "project_id": w.project,
                    "stage": "design",
                    "text": "Later buses",
                    "mode": "assisted",
                },
                stamps(),
            ),
        ],
    )
    return fid


def _action_values(action_id):
    from server.domain.projects import read_record

    return read_record(action_id).values()


def test_erased_feedback_leaves_every_action_and_devices_hear_of_it(project_and_devices, client, stamps):
    w = project_and_devices
    body, pid, _, erased_fid = _participant_with_data(w, client, stamps)
    kept_fid = _other_feedback(w, stamps)
    action_id = types.uuid7()
    projects.write_record(
        "action",
        action_id,
        {
            "project_id": w.project,
            "stage": "design",
            "heard": "Evenings and buses",
            "done": "",
            "status": "planned",
            "reason": None,
            "feedback_ids": [erased_fid, kept_fid],
            "timeline": [],
        },
    )
    db.session.commit()
    cursor = store.head(db.session.connection()).to_wire()
    db.session.rollback()

    assert client.post("/api/me/erase", headers=bearer(body["token"])).status_code == 200

    db.session.expire_all()
    assert _action_values(action_id)["feedback_ids"] == [kept_fid]
    links = db.session.execute(select(ActionFeedback.feedback_id)).scalars().all()
    assert links == [kept_fid]
    # A coordinator's phone pulling from before the erasure hears of the change; the list it
    # gets is cut to the feedback that phone may see (docs/access.md), never the erased id.
    pulled = client.get(f"/api/sync/pull?cursor={cursor}", headers=bearer(w.coordinator_token)).get_json()
    actions = [r for r in pulled["records"] if r["type"] == "action"]
    assert [r["id"] for r in actions] == [action_id], pulled
    assert erased_fid not in actions[0]["fields"]["feedback_ids"]["v"]


def _sqlite_files(app) -> list[Path]:
    path = Path(app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///"))
    return [path, Path(str(path) + "-wal")]


def _files_hold(app, text: str) -> bool:
    needle = text.encode()
    return any(p.exists() and needle in p.read_bytes() for p in _sqlite_files(app))


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # PostgreSQL: docs/operations.md
def test_sqlite_files_hold_no_erased_text(app, project_and_devices, client, stamps):
    w = project_and_devices
    body, pid, _, fid = _participant_with_data(w, client, stamps)
    push(_device(body), [rec("feedback", fid, {"text": SECRET}, stamps())])
    db.session.rollback()
    assert _files_hold(app, SECRET)  # the test can fail: the text is on disk before

    assert client.post("/api/me/erase", headers=bearer(body["token"])).status_code == 200

    db.session.rollback()
    assert not _files_hold(app, SECRET)
    wal = _sqlite_files(app)[1]
    assert not wal.exists() or wal.stat().st_size == 0


def _device(body):
    from server.auth.devices import Device

    return db.session.get(Device, body["device_id"])
