"""The service worker's push handler in Chromium: a push delivered through the DevTools
protocol shows a generic notification that leads to the contribution that changed."""

import json
import time

import pytest

from tests.browser.test_pwa import join_as_family, wait_for_worker, wait_until

pytestmark = pytest.mark.browser


def registration_id(page, cdp, timeout_s: float = 15) -> str:
    """Return the id of the app's service worker registration, as DevTools knows it."""
    found = {}
    cdp.on(
        "ServiceWorker.workerRegistrationUpdated",
        lambda event: found.update({r["scopeURL"]: r["registrationId"] for r in event["registrations"]}),
    )
    cdp.send("ServiceWorker.enable")
    deadline = time.monotonic() + timeout_s
    while not any(scope.endswith("/app/") for scope in found):
        if time.monotonic() > deadline:
            raise AssertionError(f"no /app/ registration among {found}")
        page.wait_for_timeout(50)  # lets Playwright deliver the DevTools events
    return next(rid for scope, rid in found.items() if scope.endswith("/app/"))


def notifications(page) -> list[dict]:
    return page.evaluate(
        "async () => (await (await navigator.serviceWorker.ready).getNotifications())"
        ".map(n => ({title: n.title, body: n.body, tag: n.tag, data: n.data}))"
    )


def test_push_shows_a_generic_notification_pointing_at_the_contribution(context, page, live_server):
    context.grant_permissions(["notifications"], origin=live_server.url)
    join_as_family(page, live_server)
    wait_for_worker(page)
    cdp = context.new_cdp_session(page)
    payload = {
        "title": "WithUs",
        "body": "Something changed because of what you said.",
        "contribution": "0193a1c2-7d4e-7b3a-9f10-2c4d5e6f7a8b",
        "action_id": "act-42",
    }
    cdp.send(
        "ServiceWorker.deliverPushMessage",
        {
            "origin": live_server.url,
            "registrationId": registration_id(page, cdp),
            "data": json.dumps(payload),
        },
    )
    wait_until(page, "navigator.serviceWorker.ready.then(r => r.getNotifications()).then(n => n.length > 0)")
    [shown] = notifications(page)
    assert shown["title"] == "WithUs"
    assert shown["body"] == "Something changed because of what you said."
    assert shown["tag"] == "withus-act-42"  # a later update of the same action replaces it
    assert shown["data"] == {"id": payload["contribution"]}


def show_push_in_urdu(context, page, live_server, payload: str) -> dict:
    """Join on a phone set to Urdu, deliver this push payload, and return the notification shown."""
    context.grant_permissions(["notifications"], origin=live_server.url)
    join_as_family(page, live_server)
    wait_for_worker(page)
    page.evaluate("async () => (await import('/app/js/storage.js')).setMeta('settings', {lang: 'ur'})")
    cdp = context.new_cdp_session(page)
    cdp.send(
        "ServiceWorker.deliverPushMessage",
        {"origin": live_server.url, "registrationId": registration_id(page, cdp), "data": payload},
    )
    wait_until(page, "navigator.serviceWorker.ready.then(r => r.getNotifications()).then(n => n.length > 0)")
    [shown] = notifications(page)
    return shown


def test_push_in_urdu_uses_the_apps_own_words(context, page, live_server):
    payload = {
        "title": "WithUs",
        "body": "Something changed because of what you said.",
        "contribution": "0193a1c2-7d4e-7b3a-9f10-2c4d5e6f7a8c",
    }
    shown = show_push_in_urdu(context, page, live_server, json.dumps(payload))
    assert shown["body"] != "Something changed because of what you said."
    assert shown["body"].strip()


def test_done_message_shows_in_the_familys_language(context, page, live_server):
    """The server's own payload for "done", on a phone set to Urdu: the promise, in Urdu."""
    from server.push.sender import payload_for

    payload = payload_for("status", "done", "0193a1c2-7d4e-7b3a-9f10-2c4d5e6f7a8d", "act-7").decode()
    shown = show_push_in_urdu(context, page, live_server, payload)
    assert shown["title"] == "آپ کی بات سے فرق پڑا"  # "Your contribution made a difference"
    assert shown["body"] == "آپ نے جو بتایا اس سے تبدیلی آئی۔ دیکھنے کے لیے دبائیں کہ ہم نے کیا کیا۔"
