"""Opt-out / opt-in keywords of inbound SMS (plain Python, no ORM).

Carriers and the law (CTIA, TCPA) expect ``STOP`` and its synonyms to end the texting, and
``START`` to resume it, and ``HELP`` (or ``INFO``) to be answered with who is texting and how to
stop. Only a message that *is* a keyword counts: any case, surrounding spaces
and punctuation ignored; a keyword inside a sentence ("please don't stop") is an ordinary message.
"""

import re

OPT_OUT_DEFAULT = "STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT"
OPT_IN_DEFAULT = "START, UNSTOP, YES"
HELP_DEFAULT = "HELP, INFO"

_EDGES = re.compile(r"^[\W_]+|[\W_]+$")
_SEPARATORS = re.compile(r"[,;\n]+")


def normalize(text):
    """The text as it is compared with keywords: upper case, inner spaces collapsed, no
    surrounding spaces or punctuation."""
    return " ".join(_EDGES.sub("", (text or "").strip()).split()).upper()


def parse_keywords(value):
    """``"stop, Quit;END"`` -> ``{"STOP", "QUIT", "END"}`` (comma, semicolon or line separated)."""
    return {keyword for keyword in (normalize(part) for part in _SEPARATORS.split(value or "")) if keyword}


def match(text, opt_out, opt_in, help_keywords=HELP_DEFAULT):
    """``"out"``, ``"in"``, ``"help"`` or ``None`` for an inbound SMS ``text``, given keyword lists
    as typed (an opt-out keyword wins over the others)."""
    word = normalize(text)
    if not word:
        return None
    if word in parse_keywords(opt_out):
        return "out"
    if word in parse_keywords(opt_in):
        return "in"
    if word in parse_keywords(help_keywords):
        return "help"
    return None
