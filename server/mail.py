"""E-mail to staff: invitations and password resets, through SMTP (Flask-Mail).

With ``MAIL_BACKEND=console`` (``bin/serve``) each message is printed instead, so
someone trying WithUs on one machine can follow the links. Messages go to staff
only and never carry anything a family said.
"""

from __future__ import annotations

import sys

from flask import current_app
from flask_mail import Message

from server.extensions import mail


def send_mail(to: str, subject: str, body: str) -> None:
    """Send a plain-text message to one staff member."""
    if current_app.config.get("MAIL_BACKEND") == "console":
        print(f"\n--- e-mail to {to} ---\nSubject: {subject}\n\n{body}\n--- end of e-mail ---\n", file=sys.stderr)
        return
    mail.send(Message(subject=subject, recipients=[to], body=body))
