"""The default checklist of "I statements", written by us from the guide's four principles.

Each statement has an easy-read version of at most 15 words and a symbol, so a
child or a person with a learning disability can answer it too.
"""

PRINCIPLES = ("diversity", "equality", "accessibility", "reciprocity")

PRINCIPLE_NAMES = {
    "diversity": "Diversity: everyone is included",
    "equality": "Equality: everyone has something to give",
    "accessibility": "Accessibility: no barriers for anyone",
    "reciprocity": "Reciprocity: everyone benefits",
}

# (principle, statement, easy read, symbol)
DEFAULT_STATEMENTS = (
    ("diversity", "I felt welcome, whoever I am and wherever I come from.", "I felt welcome here.", "🤝"),
    (
        "diversity",
        "People like me, and people who are often not heard, were asked to take part.",
        "People like me were asked to join in.",
        "👪",
    ),
    ("diversity", "I could take part in a way that suits me.", "I could join in my own way.", "🧩"),
    ("equality", "I felt listened to.", "People listened to me.", "👂"),
    (
        "equality",
        "My experience was treated as being as important as anyone else's.",
        "What I know mattered as much as what others know.",
        "⚖️",
    ),
    ("equality", "I was part of making decisions, not just told about them.", "I helped make the choices.", "✅"),
    (
        "accessibility",
        "Information was given to me in a way I could understand.",
        "I could understand the information.",
        "📖",
    ),
    (
        "accessibility",
        "Meetings and activities were at times and places I could get to.",
        "I could get to the meetings.",
        "📍",
    ),
    (
        "accessibility",
        "I understood what co-production means and what was expected of me.",
        "I knew what working together meant.",
        "💡",
    ),
    ("reciprocity", "I got something back for the time I gave.", "I got something good from taking part.", "🎁"),
    ("reciprocity", "I was told what changed because of what I said.", "I was told what changed because of me.", "📣"),
    ("reciprocity", "I would take part again.", "I would do this again.", "🔁"),
)

STAGES = ("design", "delivery", "review")

LADDER = (
    (0, "No engagement", "We do not have contact."),
    (1, "Information", "You tell us."),
    (2, "Consultation", "You give us a choice, then we decide."),
    (3, "Participation", "We decide together."),
    (4, "Co-production", "We develop, decide, design and do together."),
)
