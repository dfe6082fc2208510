"""What makes a password acceptable: length and not being a common one (NCSC guidance).

No composition rules (a digit, a symbol...): they make passwords harder to
remember without making them harder to guess. The list of common passwords is
the 20,000 that Django ships (from Royce Williams' analysis of leaked passwords),
lower-cased.
"""

from __future__ import annotations

import gzip
from functools import cache
from pathlib import Path

MIN_LENGTH = 12
MAX_LENGTH = 200
COMMON_LIST = Path(__file__).parent / "data" / "common-passwords.txt.gz"


@cache
def common_passwords() -> frozenset[str]:
    """The shipped list of common passwords, lower-cased."""
    with gzip.open(COMMON_LIST, "rt", encoding="utf-8") as lines:
        return frozenset(line.strip().lower() for line in lines if line.strip())


def password_problem(password: str) -> str | None:
    """Say in plain words what is wrong with a new password, or None when it will do."""
    password = password or ""
    if len(password) < MIN_LENGTH:
        return f"Use at least {MIN_LENGTH} characters. A few words you will remember work well."
    if len(password) > MAX_LENGTH:
        return f"Use at most {MAX_LENGTH} characters."
    if password.strip().lower() in common_passwords():
        return "That password is one of the most common ones. Choose another."
    return None
