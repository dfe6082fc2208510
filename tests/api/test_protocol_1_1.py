"""Protocol 1.1 over HTTP: what an outside convergence test found, each as a test (docs/sync-protocol.md)."""

import uuid

import pytest

from tests.api.conftest import Phone

IDENTIFYING = ("participant_id", "project_id", "stage", "statement_id")


@pytest.fixture
def second_phone(app, client, family_phone):
    """Another phone of the same family, as "Add another phone" gives."""
    from server.auth.devices import PARTICIPANT, issue_device
    from server.extensions import db

    _, token = issue_device(
        kind=PARTICIPANT, participant_id=family_phone.participant_id, project_id=family_phone.project_id
    )
    db.session.commit()
    return Phone(app.test_client(), token, family_phone.participant_id, family_phone.project_id)


def statuses(response):
    assert response.status_code == 200, response.get_json()
    return [
        (r["status"], (r.get("error") or {}).get("code"), (r.get("error") or {}).get("field"))
        for r in response.get_json()["results"]
    ]


def identity_of(record):
    return {k: record["fields"][k]["v"] for k in IDENTIFYING if k in record["fields"]}


def deletion(phone, record):
    """A deletion of ``record`` as the app sends it: a tombstone carrying the identifying fields."""
    return phone.record(record["type"], record["id"], deleted=True, **identity_of(record))


def test_created_and_deleted_in_one_batch_reaches_the_familys_other_phone(family_phone, second_phone, statements):
    # The second phone answered offline; the first phone answered and then removed the answer,
    # and both writes went in one batch.
    held = second_phone.answer(statements[0], value="disagree")
    created = family_phone.answer(statements[0])
    assert held["id"] == created["id"]  # one natural id per (participant, project, stage, statement)
    assert statuses(family_phone.push([created, deletion(family_phone, created)])) == [("applied", None, None)] * 2

    assert statuses(second_phone.push([held])) == [("unchanged", None, None)]
    pulled, _ = second_phone.pull_all()
    assert created["id"] in pulled, "the tombstone must reach the family's other phone"
    assert pulled[created["id"]]["deleted"] is not None
    assert pulled[created["id"]]["fields"] == {}


def test_a_deletion_that_arrives_before_the_creation_wins_as_it_would_in_order(family_phone, second_phone, statements):
    created = family_phone.answer(statements[1])
    removed = deletion(family_phone, created)
    assert statuses(second_phone.push([removed])) == [("applied", None, None)]
    assert statuses(second_phone.push([created])) == [("unchanged", None, None)]
    for phone in (family_phone, second_phone):
        pulled, _ = phone.pull_all()
        assert pulled[created["id"]]["deleted"] == removed["deleted"]


def test_an_edit_that_arrives_before_the_creation_is_kept(family_phone, second_phone, statements):
    created = family_phone.answer(statements[2], value="agree")
    edit = family_phone.record(
        "checklist_answer", created["id"], comment="The letters were clear", **identity_of(created)
    )
    # The edit travels first (say the creation's batch was lost and resent later).
    assert statuses(second_phone.push([edit])) == [("applied", None, None)]
    seen, _ = second_phone.pull_all()
    assert created["id"] not in seen, "an incomplete record stays out of every device's pull"
    assert statuses(family_phone.push([created])) == [("applied", None, None)]
    pulled, _ = second_phone.pull_all()
    values = {k: reg["v"] for k, reg in pulled[created["id"]]["fields"].items()}
    assert values["comment"] == "The letters were clear"
    assert values["value"] == "agree"


def test_another_family_cannot_touch_a_deleted_record(family_phone, new_family_phone, statements):
    mine = family_phone.feedback("The new form was easier")
    assert statuses(family_phone.push([mine])) == [("applied", None, None)]
    removed = deletion(family_phone, mine)
    assert statuses(family_phone.push([removed])) == [("applied", None, None)]

    stranger = new_family_phone()
    own_identity = {"participant_id": stranger.participant_id, "project_id": stranger.project_id}
    attempts = [
        stranger.record("feedback", mine["id"], deleted=True),  # bare: the server knows whose it is
        stranger.record("feedback", mine["id"], deleted=True, **own_identity),  # claiming it as theirs
        stranger.record("feedback", mine["id"], text="Mine now"),  # a field write
        stranger.record("feedback", mine["id"], text="Mine now", **own_identity),
    ]
    results = statuses(stranger.push(attempts))
    assert [r[:2] for r in results] == [("rejected", "forbidden")] * 4
    # The owner's phones still hold the owner's tombstone, not a re-stamped one.
    pulled, _ = family_phone.pull_all()
    assert pulled[mine["id"]]["deleted"] == removed["deleted"]


def test_a_write_to_an_unknown_record_without_its_identity_is_rejected_with_the_field(family_phone):
    record = family_phone.record("feedback", str(uuid.uuid4()), text="Only the text")
    result = family_phone.push([record]).get_json()["results"][0]
    assert result["status"] == "rejected"
    assert result["error"]["code"] == "invalid"
    assert result["error"]["field"] == "participant_id"
    assert result["error"]["message"]


def test_resending_gives_unchanged_for_what_applied_and_the_same_rejection_again(family_phone, statements):
    good = family_phone.answer(statements[0])
    bad = family_phone.answer(statements[1], value="maybe")
    first = family_phone.push([good, bad]).get_json()["results"]
    again = family_phone.push([good, bad]).get_json()["results"]
    assert [r["status"] for r in first] == ["applied", "rejected"]
    assert again[0] == {"id": good["id"], "status": "unchanged"}
    assert again[1] == first[1]
