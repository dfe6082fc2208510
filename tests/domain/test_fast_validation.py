"""The push's fast path may only accept what marshmallow accepts (server/domain/types.py)."""

import uuid

from hypothesis import given, settings
from hypothesis import strategies as st
from marshmallow import ValidationError

from server.domain import types

ANY_VALUE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-10, max_value=200_000),
    st.floats(allow_nan=False),
    st.text(max_size=30),
    st.text(min_size=190, max_size=2100),
    st.sampled_from(
        [str(uuid.uuid4()), str(uuid.uuid4()).upper(), "", "7", "123456789012345678", *types.VALUES, *types.STAGES]
    ),
    st.lists(st.text(max_size=3), max_size=2),
)


@st.composite
def writes(draw):
    rtype = draw(st.sampled_from(sorted(types.TYPES)))
    names = sorted(types.TYPES[rtype].schema.fields) + ["not_a_field"]
    values = draw(st.dictionaries(st.sampled_from(names), ANY_VALUE, min_size=1, max_size=4))
    return rtype, values


@settings(max_examples=3000, deadline=None)
@given(write=writes())
def test_the_fast_path_accepts_only_what_marshmallow_accepts(write):
    rtype, values = write
    schema = types.TYPES[rtype].schema
    if types.surely_valid(schema, values):
        try:
            schema.load(values, partial=True)
        except ValidationError as err:
            raise AssertionError(f"fast path accepted {values!r}, marshmallow said {err.messages}") from err


def test_the_fast_path_vouches_for_an_ordinary_answer_and_feedback():
    pid, project, statement = (str(uuid.uuid4()) for _ in range(3))
    answer = {
        "participant_id": pid,
        "project_id": project,
        "stage": "design",
        "statement_id": statement,
        "value": "agree",
        "comment": "Felt heard",
        "mode": "self",
    }
    feedback = {
        "participant_id": pid,
        "project_id": project,
        "stage": "design",
        "text": "Evenings",
        "principle": None,
        "mode": "self",
    }
    assert types.surely_valid(types.TYPES["checklist_answer"].schema, answer)
    assert types.surely_valid(types.TYPES["feedback"].schema, feedback)
    assert not types.surely_valid(types.TYPES["checklist_answer"].schema, {**answer, "value": "maybe"})
