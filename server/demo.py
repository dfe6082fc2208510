"""Demo data for trying WithUs on one machine. Safe to run twice."""

import uuid

from server.auth.models import Role, User
from server.extensions import db

DEMO_PASSWORD = "withus-demo-2026"
DEMO_STAFF = (
    ("admin@demo.withus", "Ada Admin", Role.ADMIN),
    ("coordinator@demo.withus", "Chloe Coordinator", Role.COORDINATOR),
    ("worker@demo.withus", "Wes Worker", Role.WORKER),
)
# Fixed, so a second run finds the project instead of making another.
DEMO_PROJECT_ID = str(uuid.uuid5(uuid.NAMESPACE_URL, "https://withus.invalid/demo-project"))
DEMO_JOIN_CODE = "KIND-RIVER"


def _staff() -> dict[str, User]:
    users = {}
    for email, name, role in DEMO_STAFF:
        user = db.session.execute(db.select(User).where(User.email == email)).scalar_one_or_none()
        if user is None:
            user = User(email=email, name=name, role=role)
            user.set_password(DEMO_PASSWORD)
            db.session.add(user)
        users[role] = user
    db.session.flush()
    return users


def seed() -> list[str]:
    """Create the demo staff, project, checklist and join code; return lines to print."""
    users = _staff()
    db.session.commit()
    lines = [f"  {role.value:<12} {user.email}  password: {DEMO_PASSWORD}" for role, user in users.items()]
    from server.domain import projects

    projects.ensure_demo_project(
        DEMO_PROJECT_ID,
        coordinator=users[Role.COORDINATOR],
        workers=[users[Role.WORKER]],
        join_code=DEMO_JOIN_CODE,
    )
    db.session.commit()
    lines.append(f"  family join code: {DEMO_JOIN_CODE}")
    return lines
