"""Security headers on every response, and the signed session cookie."""

from flask.sessions import SecureCookieSessionInterface

# No inline script anywhere: the app shell and pages load only their own files.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "manifest-src 'self'",
        "worker-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


SECURITY_HEADERS = (
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("X-Frame-Options", "DENY"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Permissions-Policy", "geolocation=(), camera=(self), microphone=()"),
)


def add_security_headers(response):
    """Each header unless the response set its own (a page may widen its policy)."""
    # One look at the response's headers, not a search per header (headers.setdefault):
    # every sync request passes here.
    headers = response.headers
    have = {name.lower() for name in headers.keys()}
    headers.extend([(name, value) for name, value in SECURITY_HEADERS if name.lower() not in have])
    return response


class CookieSessionWhenSent(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, with no signer built for a request that sends no cookie.

    A phone's sync sends a bearer token, never a session cookie; Flask built the cookie's
    signer (an HMAC key derivation) on every request before looking for one: 1% of a push's
    Python under load. Without a cookie, the session is the same new, empty one as before.
    """

    def open_session(self, app, request):
        if app.secret_key and not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()
        return super().open_session(app, request)


def init_app(app):
    app.session_interface = CookieSessionWhenSent()
    app.after_request(add_security_headers)
    if app.config.get("SESSION_COOKIE_SECURE"):

        @app.after_request
        def strict_transport(response):
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
            return response
