"""DIDWW's wire format of phone numbers (plain Python on ``phonenumbers``, no ORM).

DIDWW writes numbers as E.164 digits without ``+``. Everything Odoo stores and compares
(``phone_sanitized``, ``phone.blacklist``, our numbers and conversations) is E.164 with ``+``
as Odoo's ``phone_validation`` formats it: the ORM side calls ``_phone_format`` for that
(``base._didww_e164``, models/base.py); this module only translates the wire format.
"""

import re

import phonenumbers


def digits(e164):
    """E.164 without ``+`` (what DIDWW's APIs take)."""
    return (e164 or "").lstrip("+")


def from_wire(raw):
    """``"37041654321"`` (DIDWW's digits) -> ``"+37041654321"``; ``None`` when ``raw`` is not
    in that form (a national number starting with 0, letters, already with ``+``)."""
    compact = re.sub(r"[\s\-().\/]", "", raw or "")
    if compact.startswith("00"):
        compact = compact[2:]
    if compact.isdigit() and not compact.startswith("0"):
        return "+" + compact
    return None


def country_of(e164):
    """ISO alpha-2 region of an E.164 number, or ``None``."""
    try:
        region = phonenumbers.region_code_for_number(phonenumbers.parse(e164, None))
    except phonenumbers.NumberParseException:
        return None
    return region if region and region != "ZZ" else None


def loose(raw):
    """Best-effort international form of a number that did not validate: ``+`` and digits."""
    compact = re.sub(r"[^0-9+]", "", raw or "")
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    if compact and not compact.startswith("+"):
        compact = "+" + compact
    return compact or None


# a number this short is an extension of the PBX: dialled as typed, never turned into E.164
MAX_EXTENSION_DIGITS = 6


def is_extension(number):
    """Whether ``number`` (digits, maybe with ``+``) is a PBX extension rather than a phone number."""
    return len((number or "").lstrip("+")) <= MAX_EXTENSION_DIGITS
