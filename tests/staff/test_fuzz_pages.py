"""Every staff route in the URL map, as every role, with generated query strings and forms:
never a 5xx, and a rejected request changes nothing."""

from __future__ import annotations

import inspect
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wtforms.fields.core import UnboundField

from tests.staff.conftest import state

# Modest by default so the suite stays within minutes; raise it for a deeper run.
EXAMPLES = int(os.environ.get("WITHUS_FUZZ_EXAMPLES", "25"))
ROLES = ("anonymous", "worker", "other_coordinator", "coordinator", "admin")
AWKWARD = [
    "",
    "0",
    "-1",
    "1",
    "2",
    "99999999999999999999",
    "9" * 5000,
    "1e309",
    "NaN",
    " ",
    "design",
    "delivery",
    "review",
    "done",
    "not_possible",
    "planned",
    "unlinked",
    "equality",
    "2026-02-30",
    "2026-11-01",
    "\x00",
    "<script>alert(1)</script>",
    "خاندان",
    "../../etc/passwd",
    "//evil.example",
    "https://evil.example/",
    "%00",
    "a" * 3000,
]


def _staff_rules(app):
    """Every rule under /staff, from the URL map, with the methods it answers."""
    return sorted(
        (rule.endpoint, sorted(rule.methods - {"HEAD", "OPTIONS"}))
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/staff")
    )


def _form_field_names() -> list[str]:
    """The names of every field on the staff and sign-in forms, read from the form classes."""
    from flask_wtf import FlaskForm

    from server.auth import forms as auth_forms
    from server.staff import forms as staff_forms

    names = {"feedback_ids"}  # read with request.form.getlist, not through a form class
    for module in (auth_forms, staff_forms):
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, FlaskForm):
                names.update(n for n, v in inspect.getmembers(cls) if isinstance(v, UnboundField))
    return sorted(names)


def _path_values(scene) -> dict[str, list]:
    """For each URL argument, values that exist (so requests get past the lookup) and ones that do not."""
    return {
        "project_id": [scene["project_id"], scene["other_project_id"], "no-such-project"],
        "stage": ["design", "delivery", "review", "nope"],
        "statement_id": [scene["s"], scene["s2"], "nope"],
        "action_id": [scene["a"], "nope"],
        "review_id": [scene["r"], "nope"],
        "kind": ["answers", "feedback", "actions", "nope"],
        "user_id": [scene["worker"].id, scene["coordinator"].id, 0, 99999999999999999999],
    }


def _user(scene, role):
    return None if role == "anonymous" else scene["other" if role == "other_coordinator" else role]


@pytest.mark.parametrize("role", ROLES)
def test_every_staff_route_survives_generated_input(app, web, scene, role):
    rules = _staff_rules(app)
    assert len(rules) >= 25  # the walk found the staff area
    adapter = app.url_map.bind("localhost")
    values = _path_values(scene)
    known = [scene[k] for k in ("project_id", "s", "a", "r", "f")] + [scene["other"].email]
    text = st.one_of(st.sampled_from(AWKWARD + known), st.text(max_size=40))
    keys = st.one_of(
        st.sampled_from(_form_field_names() + ["page", "stage", "show", "next", "principle"]),
        st.text(min_size=1, max_size=10),
    )
    user = _user(scene, role)

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=EXAMPLES <= 25,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(data=st.data())
    def walk(data):
        endpoint, methods = data.draw(st.sampled_from(rules))
        method = data.draw(st.sampled_from(methods))
        rule = next(r for r in app.url_map.iter_rules(endpoint))
        args = {name: data.draw(st.sampled_from(values[name])) for name in rule.arguments}
        url = adapter.build(endpoint, args)
        query = data.draw(st.dictionaries(keys, text, max_size=3))
        form = data.draw(st.dictionaries(keys, text, max_size=6)) if method == "POST" else None
        before = state()
        response = web.open(method, url, user, query_string=query, data=form)
        assert response.status_code < 500, (method, url, query, form)
        if response.status_code >= 400 or user is None:
            assert state() == before, (method, url, query, form, response.status_code)
        if endpoint == "auth.sign_out":
            web.clients.pop(None if user is None else user.id, None)  # sign in again next time

    walk()


# ---------------------------------------------------------------- what the walk found


def test_a_user_id_too_big_for_the_database_is_not_found(web, scene):
    before = state()

    response = web.post(
        f"/staff/projects/{scene['project_id']}/staff/99999999999999999999/remove", scene["coordinator"]
    )

    assert response.status_code == 404
    assert state() == before


def test_a_hidden_nul_character_is_refused_next_to_the_field(web, scene):
    from server.staff.form_base import NUL_MESSAGE

    before = state()

    response = web.post(
        f"/staff/projects/{scene['project_id']}/actions/new",
        scene["coordinator"],
        data={"stage": "design", "heard": "More\x00 clubs", "done": "", "status": "planned"},
    )

    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert NUL_MESSAGE in page
    assert state() == before
