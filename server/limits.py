"""Rate-limit keys beyond the caller's address: per staff account, per code, per device.

Behind a load balancer the address alone is either everyone's (no ProxyFix) or
easy to change (many addresses). So sign-in is also limited per account, and
join and claim codes per code, whatever address the attempts come from.
"""

from __future__ import annotations

import hashlib

from flask import request

from server.auth.devices import bearer_token, hash_token
from server.auth.models import User


def device_key() -> str:
    """Key a phone's syncs by its device, so a family sharing one router with a school is
    not limited together; hashed, so the shared store never holds a token's characters."""
    token = bearer_token()
    return "device:" + hash_token(token)[:24] if token else (request.remote_addr or "anonymous")


def account_key() -> str:
    """Key sign-in attempts by the account they name (the e-mail as typed, normalised)."""
    body = request.get_json(silent=True) if request.is_json else None
    given = body.get("email") if isinstance(body, dict) else request.form.get("email")
    email = User.normalise_email(given if isinstance(given, str) else "")[:320]
    # Hashed: the shared limit store (Redis) never holds an e-mail address.
    return "account:" + hashlib.sha256(email.encode()).hexdigest()


def code_key() -> str:
    """Key join and claim attempts by the code they try, however it is spaced or cased."""
    from server.domain import codes  # here: the domain imports the auth views, which import us

    body = request.get_json(silent=True)
    text = body.get("code") if isinstance(body, dict) else None
    return "code:" + codes.hash_code(text if isinstance(text, str) else "")


def failed_sign_in(response) -> bool:
    """Count only attempts that did not sign anyone in (the page redirects, the API answers 201)."""
    return response.status_code not in (201, 302)
