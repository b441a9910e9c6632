"""Phone number normalisation for DIDWW (plain Python on ``phonenumbers``, no ORM).

DIDWW writes numbers as E.164 digits without ``+``; people type them in national or
international formats. Everything we store or compare is E.164 with ``+``.
"""

import re

import phonenumbers

_JUNK = re.compile(r"[\s\-().\/]")


def to_e164(raw, country_code=None):
    """Return ``raw`` as E.164 (``+37041654321``) or ``None`` when it is not a valid number.

    :param country_code: ISO 3166 alpha-2 code used for national formats (``"US"``).
    """
    if not raw or not isinstance(raw, str):
        return None
    compact = _JUNK.sub("", raw.strip())
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    candidates = []
    if compact.startswith("+"):
        candidates.append((compact, None))
    else:
        if country_code:
            candidates.append((compact, country_code.upper()))
        if compact.isdigit() and not compact.startswith("0"):
            candidates.append(("+" + compact, None))
    for number, region in candidates:
        try:
            parsed = phonenumbers.parse(number, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(parsed):
            return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    return None


def country_of(e164):
    """ISO alpha-2 region of an E.164 number, or ``None``."""
    try:
        region = phonenumbers.region_code_for_number(phonenumbers.parse(e164, None))
    except phonenumbers.NumberParseException:
        return None
    return region if region and region != "ZZ" else None


def digits(e164):
    """E.164 without ``+`` (what DIDWW's APIs take)."""
    return (e164 or "").lstrip("+")


def loose(raw):
    """Best-effort international form of a number that did not validate: ``+`` and digits."""
    compact = re.sub(r"[^0-9+]", "", raw or "")
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    if compact and not compact.startswith("+"):
        compact = "+" + compact
    return compact or None
