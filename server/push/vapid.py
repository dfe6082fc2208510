"""VAPID keys: the server's identity towards the push services.

Where the keys come from, first match wins:

1. ``VAPID_PRIVATE_KEY`` (and optionally ``VAPID_PUBLIC_KEY`` and
   ``VAPID_SUBJECT``) in the app config or the environment. The private key is
   the URL-safe base64 raw 32-byte scalar (what ``web-push generate-vapid-keys``
   and ``flask push-keys`` print) or a PEM/DER key. A public key given beside it
   must match, or the app refuses to start sending.
2. ``vapid.json`` in the instance folder, written by ``flask push-keys``.
3. Otherwise a new pair is made on first use and written to ``vapid.json``
   (mode 0600). Two processes starting at once agree on one pair: the file is
   published with a hard link that fails if it already exists.

The public key, served by ``GET /api/push/key``, is the URL-safe base64 (no
padding) uncompressed P-256 point, which is what ``applicationServerKey``
takes in the browser.

Rotation
--------
Run ``flask push-keys --force`` (or change the environment variables) and
restart the web and worker processes. Every subscription made with the old key
stops working: push services answer 401/403 (the worker marks those rows
failed with ``http_401``/``http_403``) or 404/410 (the subscription is
deleted). The app compares ``GET /api/push/key`` with the key its current
subscription was made with (``PushSubscription.options.applicationServerKey``)
on every start; when they differ it unsubscribes, subscribes again with the new
key and POSTs the new subscription, which replaces the old row by endpoint.
Notifications for a phone that is not opened in between are lost, so rotate
only when the key may have leaked.
"""

from __future__ import annotations

import base64
import json
import os
import tempfile
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from flask import Flask, current_app
from py_vapid import Vapid02

FILE_NAME = "vapid.json"
DEFAULT_SUBJECT = "mailto:push@withus.invalid"
_EXTENSION_KEY = "withus_push_vapid"


class VapidConfigError(RuntimeError):
    pass


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    text = text.strip()
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class VapidKeys:
    vapid: Vapid02  # signs the Authorization header
    public_key: str  # URL-safe base64 uncompressed point
    subject: str  # mailto: or https: contact for the push services
    source: str  # "config", "file" or "generated"


def _public_b64(private_key: ec.EllipticCurvePrivateKey) -> str:
    return b64url(
        private_key.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    )


def _private_b64(private_key: ec.EllipticCurvePrivateKey) -> str:
    return b64url(private_key.private_numbers().private_value.to_bytes(32, "big"))


def generate_pair() -> dict:
    """A new key pair as the JSON stored in ``vapid.json``."""
    key = ec.generate_private_key(ec.SECP256R1())
    return {"private_key": _private_b64(key), "public_key": _public_b64(key)}


def _from_private(private: str, public: str | None, subject: str, source: str) -> VapidKeys:
    try:
        text = private.strip()
        if "-----BEGIN" in text:
            vapid = Vapid02.from_pem(text.encode())
        else:
            vapid = Vapid02.from_string(text)
    except Exception as err:  # noqa: BLE001 - any parse failure means the same to the operator
        raise VapidConfigError(f"The VAPID private key ({source}) could not be read.") from err
    derived = _public_b64(vapid.private_key)
    if public and public.strip().rstrip("=") != derived:
        raise VapidConfigError(f"The VAPID public key ({source}) does not match the private key.")
    if not (subject.startswith("mailto:") or subject.startswith("https:")):
        raise VapidConfigError("VAPID_SUBJECT must be a mailto: or https: URL.")
    return VapidKeys(vapid=vapid, public_key=derived, subject=subject, source=source)


def key_path(app: Flask) -> str:
    return os.path.join(app.instance_path, FILE_NAME)


def write_key_file(path: str, pair: dict, replace: bool = False) -> bool:
    """Write ``pair`` to ``path`` (0600). Without ``replace``, keep an existing file and
    return False; the publish is atomic, so readers never see half a file."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".vapid-", dir=os.path.dirname(path))
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump(pair, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o600)
        if replace:
            os.replace(tmp, path)
            return True
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        return True
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _setting(app: Flask, name: str) -> str | None:
    value = app.config.get(name) or os.environ.get(name)
    return value.strip() if isinstance(value, str) and value.strip() else None


def load_keys(app: Flask) -> VapidKeys:
    """Read (or on first run make) the keys; see the module docstring for the order."""
    subject = _setting(app, "VAPID_SUBJECT") or DEFAULT_SUBJECT
    private = _setting(app, "VAPID_PRIVATE_KEY")
    if private:
        return _from_private(private, _setting(app, "VAPID_PUBLIC_KEY"), subject, "config")
    path = key_path(app)
    source = "file"
    if not os.path.exists(path):
        write_key_file(path, generate_pair())
        source = "generated"
    with open(path) as handle:
        stored = json.load(handle)
    return _from_private(stored["private_key"], stored.get("public_key"), subject, source)


def get_keys(app: Flask | None = None) -> VapidKeys:
    """The app's keys, loaded once per app."""
    app = app or current_app._get_current_object()
    keys = app.extensions.get(_EXTENSION_KEY)
    if keys is None:
        keys = load_keys(app)
        app.extensions[_EXTENSION_KEY] = keys
    return keys


def forget_keys(app: Flask) -> None:
    app.extensions.pop(_EXTENSION_KEY, None)
