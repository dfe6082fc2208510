"""The domain's words and limits, said once: every schema, form, query and page imports them.

The words are the values stored in records and sent over the wire; the limits are
the longest text each field holds (record schemas in types.py, staff forms, the API).
Labels for people stay with the pages that show them, but for the role names that
staff pages, forms and exports all use.
"""

# Who a participant is.
ROLES = ("child", "young_person", "parent_carer", "professional", "other")
# Residents are the people a service is for; the results weigh them against professionals.
RESIDENT_ROLES = ("child", "young_person", "parent_carer")
PROFESSIONAL_ROLES = ("professional",)
# Plural, for groups of partners ("Young people agree").
ROLE_NAMES = {
    "child": "Children",
    "young_person": "Young people",
    "parent_carer": "Parents and carers",
    "professional": "Professionals",
    "other": "Other partners",
}
AGE_BANDS = ("under_13", "13_to_17", "18_to_25", "26_or_over", "prefer_not_to_say")
# How an answer was given: by the person, with help, or by someone for them.
MODES = ("self", "assisted", "proxy")
GIVEN_BY = ("self", "parent_carer")
# A checklist answer.
VALUES = ("agree", "not_sure", "disagree")
PROJECT_STATUSES = ("active", "closed")
ACTION_STATUSES = ("planned", "in_progress", "done", "not_possible")

# The longest text each field holds, in characters.
TITLE_MAX = 200  # a project's title, organisation and contact
SUMMARY_MAX = 4000  # a project's summary and consent text
STATEMENT_MAX = 500  # an "I statement"
EASY_READ_MAX = 200  # its easy-read version
SYMBOL_MAX = 40  # its symbol (emoji sequences run long)
NOTE_MAX = 2000  # feedback's text, a timeline note, why an action was not possible
YOU_SAID_MAX = 4000  # an action's "you said" and "we did"
REFLECTION_MAX = 8000  # each answer of a project's closing reflection
ORDER_MAX = 100_000  # a statement's position
