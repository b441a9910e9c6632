"""Quiet hours: when an SMS may reach its recipient (plain Python, no ORM).

A company texts between ``start`` and ``end`` (hours as floats, ``8.0`` -> 08:00) of the
recipient's local time. The recipient's time zone is the one ``phonenumbers`` gives for the
number's country and region when it gives exactly one; else the contact's, else the company's,
else UTC (see :func:`recipient_timezone`). Outside the window an SMS is held until the window
opens next (:func:`next_opening`), which is always within about a day.
"""

from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers

try:
    from phonenumbers import timezone as _pn_timezone
except ImportError:  # phonenumberslite ships no time zone data
    _pn_timezone = None

DEFAULT_START = 8.0
DEFAULT_END = 21.0
_UNKNOWN = {"Etc/Unknown"}


def _zone(name):
    try:
        return ZoneInfo(name) if name else None
    except (ZoneInfoNotFoundError, ValueError):
        return None


def number_timezones(e164):
    """The time zones ``phonenumbers`` knows for ``e164`` (``()`` when it knows none)."""
    if not e164 or _pn_timezone is None:
        return ()
    try:
        parsed = phonenumbers.parse(e164)
    except phonenumbers.NumberParseException:
        return ()
    return tuple(name for name in _pn_timezone.time_zones_for_number(parsed) if name not in _UNKNOWN)


def recipient_timezone(e164, contact_tz=None, company_tz=None):
    """``(name, source)`` of the recipient's time zone, ``source`` saying where it came from:
    ``"number"``, ``"contact"``, ``"company"`` or ``"default"`` (UTC)."""
    zones = number_timezones(e164)
    if len(zones) == 1 and _zone(zones[0]):
        return zones[0], "number"
    if _zone(contact_tz):
        return contact_tz, "contact"
    if _zone(company_tz):
        return company_tz, "company"
    return "UTC", "default"


def hour_to_time(hours):
    """``8.5`` -> ``time(8, 30)`` (a float hour as Odoo's ``float_time`` widget shows it)."""
    minutes = round((hours or 0.0) * 60) % (24 * 60)
    return time(minutes // 60, minutes % 60)


def _inside(local_time, start, end):
    if start == end:
        return True  # an empty window would hold forever: read as "no quiet hours"
    if start < end:
        return start <= local_time < end
    return local_time >= start or local_time < end  # a window across midnight (e.g. 20:00-02:00)


def next_opening(now_utc, tz_name, start=DEFAULT_START, end=DEFAULT_END):
    """``None`` when ``now_utc`` (naive UTC, as Odoo stores datetimes) is inside the window in
    ``tz_name``; else ``(release_utc, local_opening)``: the naive UTC datetime at which the window
    opens next, and that opening as the recipient's local (aware) datetime."""
    zone = _zone(tz_name) or timezone.utc
    local_now = now_utc.replace(tzinfo=timezone.utc).astimezone(zone)
    start_time, end_time = hour_to_time(start), hour_to_time(end)
    if _inside(local_now.time().replace(tzinfo=None), start_time, end_time):
        return None
    day = local_now.date()
    for offset in range(3):
        wall = datetime.combine(day + timedelta(days=offset), start_time)
        opening = _localize(wall, zone)
        if opening > local_now:
            return opening.astimezone(timezone.utc).replace(tzinfo=None), opening
    raise ValueError("no window opening within three days")  # unreachable for a real zone


def _localize(wall, zone):
    """The aware datetime of the local ``wall`` time in ``zone``; a wall time skipped by a DST
    change (02:30 on a spring-forward night) moves forward to the first time that exists."""
    aware = wall.replace(tzinfo=zone)
    roundtrip = aware.astimezone(timezone.utc).astimezone(zone)
    if roundtrip.replace(tzinfo=None) != wall:
        return roundtrip if roundtrip.replace(tzinfo=None) > wall else aware.replace(fold=1)
    return aware
