"""Audit rows for account events, without importing the staff package at import time.

The staff package imports the domain, which imports the devices and so the auth
package; importing the staff audit helper late keeps that chain from looping.
"""


def audit(action: str, subject_type: str, subject_id, **detail):
    """Add an audit row for an account event (see server.staff.models.audit)."""
    from server.staff.models import audit as record

    return record(action, subject_type, subject_id, **detail)
