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

# The default checklist in Urdu, by the English text: (statement, easy read).
DEFAULT_STATEMENTS_UR = {
    "I felt welcome, whoever I am and wherever I come from.": (
        "میں جو بھی ہوں اور جہاں سے بھی آیا ہوں، مجھے خوش آمدید محسوس ہوا۔",
        "مجھے یہاں خوش آمدید محسوس ہوا۔",
    ),
    "People like me, and people who are often not heard, were asked to take part.": (
        "مجھ جیسے لوگوں کو، اور ان لوگوں کو جن کی بات اکثر نہیں سنی جاتی، حصہ لینے کے لیے کہا گیا۔",
        "مجھ جیسے لوگوں کو شامل ہونے کے لیے کہا گیا۔",
    ),
    "I could take part in a way that suits me.": (
        "میں اپنے لیے مناسب طریقے سے حصہ لے سکا۔",
        "میں اپنے طریقے سے شامل ہو سکا۔",
    ),
    "I felt listened to.": ("مجھے لگا کہ میری بات سنی گئی۔", "لوگوں نے میری بات سنی۔"),
    "My experience was treated as being as important as anyone else's.": (
        "میرے تجربے کو کسی اور کے تجربے جتنا ہی اہم سمجھا گیا۔",
        "جو میں جانتا ہوں وہ اتنا ہی اہم تھا جتنا دوسرے جانتے ہیں۔",
    ),
    "I was part of making decisions, not just told about them.": (
        "میں فیصلے کرنے میں شامل تھا، مجھے صرف ان کے بارے میں بتایا نہیں گیا۔",
        "میں نے فیصلے کرنے میں مدد کی۔",
    ),
    "Information was given to me in a way I could understand.": (
        "مجھے معلومات اس طرح دی گئیں کہ میں سمجھ سکوں۔",
        "میں معلومات سمجھ سکا۔",
    ),
    "Meetings and activities were at times and places I could get to.": (
        "ملاقاتیں اور سرگرمیاں ایسے وقت اور جگہ پر تھیں جہاں میں پہنچ سکتا تھا۔",
        "میں ملاقاتوں میں پہنچ سکا۔",
    ),
    "I understood what co-production means and what was expected of me.": (
        "میں سمجھ گیا کہ مل کر کام کرنے کا کیا مطلب ہے اور مجھ سے کیا توقع تھی۔",
        "مجھے پتا تھا کہ مل کر کام کرنے کا کیا مطلب ہے۔",
    ),
    "I got something back for the time I gave.": (
        "میں نے جو وقت دیا اس کے بدلے مجھے کچھ ملا۔",
        "حصہ لینے سے مجھے کچھ اچھا ملا۔",
    ),
    "I was told what changed because of what I said.": (
        "مجھے بتایا گیا کہ میری بات کی وجہ سے کیا بدلا۔",
        "مجھے بتایا گیا کہ میری وجہ سے کیا بدلا۔",
    ),
    "I would take part again.": ("میں دوبارہ حصہ لوں گا۔", "میں یہ دوبارہ کروں گا۔"),
}


def default_translations(text: str) -> dict:
    """The shipped translations of a default statement ({} for any other text)."""
    if text not in DEFAULT_STATEMENTS_UR:
        return {}
    ur_text, ur_easy = DEFAULT_STATEMENTS_UR[text]
    return {"ur": {"text": ur_text, "easy_read": ur_easy}}


STAGES = ("design", "delivery", "review")

LADDER = (
    (0, "No engagement", "We do not have contact."),
    (1, "Information", "You tell us."),
    (2, "Consultation", "You give us a choice, then we decide."),
    (3, "Participation", "We decide together."),
    (4, "Co-production", "We develop, decide, design and do together."),
)
