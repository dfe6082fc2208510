"""Translations ride on statements and projects: what a well-formed one is, and the shipped Urdu."""

import pytest

from server.domain.checklist import DEFAULT_STATEMENTS, default_translations
from server.languages import PROJECT_TEXTS, STATEMENT_TEXTS, check_translations


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ({}, True),
        ({"ur": {"text": "سلام", "easy_read": ""}}, True),
        ({"ur": {"text": "x" * 500}}, True),
        ({"ur": {"text": "x" * 501}}, False),
        ({"ur": {"title": "not a statement field"}}, False),
        ({"URDU": {"text": "x"}}, False),
        ({"ur": "just a string"}, False),
        (["ur"], False),
        ({"ur": {"text": 5}}, False),
    ],
)
def test_statement_translations_shape(value, ok):
    assert (check_translations(value, STATEMENT_TEXTS) is None) is ok


def test_project_texts_allow_title_summary_and_consent_text_only():
    assert check_translations({"ur": {"title": "t", "summary": "s", "consent_text": "c"}}, PROJECT_TEXTS) is None
    assert check_translations({"ur": {"text": "t"}}, PROJECT_TEXTS) is not None


def test_every_default_statement_ships_in_urdu():
    for _, text, _, _ in DEFAULT_STATEMENTS:
        urdu = default_translations(text)["ur"]
        assert urdu["text"] and urdu["easy_read"]
        assert check_translations({"ur": urdu}, STATEMENT_TEXTS) is None
        # Urdu script, not English left in place.
        assert any("\u0600" <= ch <= "\u06ff" for ch in urdu["text"])
