"""SSRF guard for push endpoints.

A push subscription's endpoint is a URL that a browser handed us, and the worker
POSTs to it. Without a guard anyone with a device token could make the server
send requests into its own network. So:

* When a subscription is stored, the endpoint must be an RFC 3986 URI (no
  backslash, space or other character outside the grammar, every ``%`` followed
  by two hex digits), ``https`` on one of the known push services, on the
  default port, with no user info. The host is the one ``urllib3.util.parse_url``
  gives: the parser requests and urllib3 use when the worker connects, so the
  host we check is the host we reach (``urllib.parse`` reads
  ``https://evil.example\\.push.apple.com/`` as a push host; urllib3 connects
  to ``evil.example``).
* When a notification is sent, the host is resolved and every address must be
  public: private, loopback, link-local, reserved, multicast and unspecified
  addresses are refused. The check is repeated on the socket that is actually
  connected (see :class:`GuardedAdapter`), so a DNS answer that changes between
  the check and the connection (rebinding) gains nothing.
* Redirects are never followed.

``PUSH_ALLOW_TEST_SERVICE`` (tests only) admits the local ``web-push-testing``
service: ``http`` or ``https`` on ``localhost``/``127.0.0.1``/``::1`` with any
port, and loopback addresses for those hosts only.
"""

from __future__ import annotations

import ipaddress
import re
import socket

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import LocationParseError
from urllib3.util import Url, parse_url

# Exact hosts, and parent domains whose sub-domains are push services.
PUSH_HOSTS = frozenset({"fcm.googleapis.com"})
PUSH_DOMAINS = ("push.services.mozilla.com", "push.apple.com", "notify.windows.com")
TEST_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
MAX_ENDPOINT_LENGTH = 1024
# RFC 3986 section 2: unreserved, gen-delims, sub-delims, and percent-encoded octets.
# RFC 3986 appendix B: the authority runs from "//" to the first "/", "?" or "#".
_AUTHORITY = re.compile(r"\A[A-Za-z][A-Za-z0-9+.-]*://([^/?#]*)")
_PLAIN_AUTHORITY = re.compile(r"\A(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]+)?\Z")
# DNS labels of 1-63 letters, digits and inner hyphens (what requests' IDNA check accepts).
_HOST_NAME = re.compile(r"\A(?!-)[a-z0-9-]{1,63}(?<!-)(?:\.(?!-)[a-z0-9-]{1,63}(?<!-))*\Z")
_URI_CHARACTERS = re.compile(r"(?:[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})*\Z")


class EndpointRefused(ValueError):
    """The endpoint is not one we will send to. ``code`` is safe to store and log."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def _known_push_host(host: str) -> bool:
    if host in PUSH_HOSTS:
        return True
    # A proper sub-domain: "x.push.apple.com" yes, "push.apple.com.evil" or "evilpush.apple.com" no.
    return any(host.endswith("." + domain) for domain in PUSH_DOMAINS)


def _parse(url: str) -> Url:
    """Split the URL exactly as requests and urllib3 will when the worker sends to it."""
    try:
        return parse_url(url)
    except (LocationParseError, ValueError) as err:
        raise EndpointRefused("endpoint_invalid", "The endpoint is not a valid URL.") from err


def check_endpoint_url(url: str, allow_test_service: bool = False) -> str:
    """Return the endpoint's host name if the URL may be stored, else raise EndpointRefused."""
    if not isinstance(url, str) or not url:
        raise EndpointRefused("endpoint_invalid", "The endpoint must be a URL.")
    if len(url) > MAX_ENDPOINT_LENGTH:
        raise EndpointRefused("endpoint_invalid", "The endpoint is too long.")
    if not _URI_CHARACTERS.match(url):
        raise EndpointRefused("endpoint_invalid", "The endpoint is not a valid URL.")
    parts = _parse(url)
    host = (parts.host or "").strip("[]").rstrip(".").lower()
    authority = _AUTHORITY.match(url)
    if not parts.scheme or not host or authority is None:
        raise EndpointRefused("endpoint_invalid", "The endpoint has no host.")
    if parts.auth is not None or "@" in authority[1]:
        raise EndpointRefused("endpoint_invalid", "The endpoint must not carry user info.")
    if not _PLAIN_AUTHORITY.match(authority[1]):
        # Percent-encoded or empty parts of a host are legal in RFC 3986, and read differently by
        # different parsers: an endpoint names its host plainly or not at all.
        raise EndpointRefused("endpoint_invalid", "The endpoint's host is not a plain name.")
    if allow_test_service and host in TEST_HOSTS and parts.scheme in ("http", "https"):
        return host
    if parts.scheme != "https":
        raise EndpointRefused("endpoint_not_https", "The endpoint must use https.")
    if parts.port not in (None, 443):
        raise EndpointRefused("endpoint_port", "The endpoint must use the standard https port.")
    if not _known_push_host(host):
        raise EndpointRefused("endpoint_unknown_service", "The endpoint is not a known push service.")
    if not _HOST_NAME.match(host):
        raise EndpointRefused("endpoint_invalid", "The endpoint's host is not a valid name.")
    return host


def address_allowed(address: str, host: str, allow_test_service: bool = False) -> bool:
    """Whether we may connect to ``address`` (an IP string) when asked for ``host``."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if allow_test_service and host in TEST_HOSTS and ip.is_loopback:
        return True
    return not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_reserved
        or ip.is_multicast
        or ip.is_unspecified
        or not ip.is_global
    )


def resolve_and_check(host: str, port: int, allow_test_service: bool = False) -> list[str]:
    """Resolve ``host`` and return its addresses; raise EndpointRefused if any is not public."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as err:
        raise EndpointRefused("endpoint_unresolvable", "The push service host did not resolve.") from err
    addresses = sorted({info[4][0] for info in infos})
    if not addresses:
        raise EndpointRefused("endpoint_unresolvable", "The push service host did not resolve.")
    for address in addresses:
        if not address_allowed(address, host, allow_test_service):
            raise EndpointRefused("endpoint_private_address", "The push service host is not public.")
    return addresses


def check_endpoint_for_send(url: str, allow_test_service: bool = False) -> None:
    """The send-time check: the URL rules again, then the host's addresses."""
    host = check_endpoint_url(url, allow_test_service)
    parts = _parse(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    resolve_and_check(host, port, allow_test_service)


# --- the check on the connected socket --------------------------------------------------


class _PeerCheck:
    allow_test_service = False

    def _check_peer(self, sock):
        peer = sock.getpeername()[0]
        host = (self.host or "").strip("[]").rstrip(".").lower()
        if not address_allowed(peer, host, self.allow_test_service):
            sock.close()
            raise EndpointRefused("endpoint_private_address", "The push service host is not public.")
        return sock


class _GuardedHTTPConnection(_PeerCheck, HTTPConnection):
    def _new_conn(self):
        return self._check_peer(super()._new_conn())


class _GuardedHTTPSConnection(_PeerCheck, HTTPSConnection):
    def _new_conn(self):
        return self._check_peer(super()._new_conn())


class GuardedAdapter(HTTPAdapter):
    """A requests adapter that refuses a connected socket whose peer is not public."""

    def __init__(self, allow_test_service: bool = False, **kwargs):
        self.allow_test_service = allow_test_service
        super().__init__(**kwargs)

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        allow = self.allow_test_service
        http_conn = type("HTTPConn", (_GuardedHTTPConnection,), {"allow_test_service": allow})
        https_conn = type("HTTPSConn", (_GuardedHTTPSConnection,), {"allow_test_service": allow})
        self.poolmanager.pool_classes_by_scheme = {
            "http": type("HTTPPool", (HTTPConnectionPool,), {"ConnectionCls": http_conn}),
            "https": type("HTTPSPool", (HTTPSConnectionPool,), {"ConnectionCls": https_conn}),
        }


class NoRedirectSession(requests.Session):
    """A session that never follows a redirect and ignores proxy settings from the environment."""

    def __init__(self, allow_test_service: bool = False, pool_size: int = 10):
        super().__init__()
        self.trust_env = False
        adapter = GuardedAdapter(
            allow_test_service=allow_test_service,
            pool_connections=pool_size,
            pool_maxsize=pool_size,
        )
        self.mount("http://", adapter)
        self.mount("https://", adapter)

    def request(self, method, url, *args, **kwargs):
        kwargs["allow_redirects"] = False
        return super().request(method, url, *args, **kwargs)

    def send(self, request, **kwargs):
        kwargs["allow_redirects"] = False
        return super().send(request, **kwargs)
