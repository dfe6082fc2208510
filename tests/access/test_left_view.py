"""A record a phone holds that changes and leaves its view, with no change of access,
reaches the phone as a removal at its next pull (server/domain/pulls.py, the left view).

No write through the API makes a live record leave a family's view today (a
record's subject, project and type never change, and a required field cannot be
set to null), so the change is made in the store: the record is written again as
incomplete (``pending``), as the merge would store it, with a new place in the feed.
"""

import sqlalchemy as sa


def _store_as_pending(record_id: str) -> None:
    """Write the record again as the merge would if it lost a required field."""
    from server.extensions import db

    conn = db.session.connection()
    if conn.dialect.name == "postgresql":
        conn.execute(
            sa.text(
                "UPDATE sync_records SET pending = true, change_no = nextval('sync_change_numbers'), "
                "txid = pg_current_xact_id()::text::bigint WHERE id = :id"
            ),
            {"id": record_id},
        )
    else:
        conn.execute(sa.text("UPDATE sync_counter SET value = value + 1 WHERE id = 1"))
        conn.execute(
            sa.text(
                "UPDATE sync_records SET pending = 1, "
                "change_no = (SELECT value FROM sync_counter WHERE id = 1) WHERE id = :id"
            ),
            {"id": record_id},
        )
    db.session.commit()


def test_a_held_record_that_leaves_the_view_goes_as_a_removal(client, project, phones):
    family = phones.family()
    kept, leaving = family.feedback("Evening sessions, please"), family.feedback("The room was too loud")
    assert family.statuses([kept, leaving]) == [("applied", None), ("applied", None)]
    other = phones.family()
    theirs = other.feedback("Not for the first family's phone")
    assert other.statuses([theirs]) == [("applied", None)]
    family.sync()
    assert {kept["id"], leaving["id"], project["id"]} <= set(family.held)

    _store_as_pending(leaving["id"])
    _store_as_pending(theirs["id"])  # never held by the family: no removal for it
    body = family.sync().get_json()

    assert body["removals"] == [leaving["id"]]
    assert leaving["id"] not in family.held
    assert {kept["id"], project["id"]} <= set(family.held)
    # Settled: the next pull sends nothing again.
    body = family.sync().get_json()
    assert body["removals"] == [] and body["records"] == []
