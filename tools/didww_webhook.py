"""Parse what DIDWW posts to our webhook (plain Python, no ORM).

Two families share one URL:

* status of an SMS we sent: a JSON:API document whose ``data.type`` is
  ``outbound_message_callbacks`` (processing result) or ``dlr_event`` (delivery receipt);
* an inbound SMS from the HTTP IN trunk: ``to``, ``from``, ``time``, ``text``, ``data``
  (base64 of the text) and optionally ``uuid``, from JSON, a form or the query string.
"""

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

MAX_BODY_BYTES = 256 * 1024  # DIDWW reassembles long SMS up to 64 KB; base64 and text both travel
MAX_TEXT_CHARS = 65536
STATUS_TYPES = ("outbound_message_callbacks", "dlr_event", "dlr_events")
_NUMBER = re.compile(r"^\+?[0-9 ().\-]{3,32}$")
MIN_DIGITS = 3  # the shortest short code; "...", "---" or "+1" are no sender anyone can answer
_ID = re.compile(r"^[A-Za-z0-9_.:\-]{1,128}$")
# DIDWW's callback error codes, in DIDWW's words (reference/didww-outbound-sms-api.txt)
CODE_DESCRIPTIONS = {
    1: "No routes found",
    2: "No rate found",
    3: "No routes found",
    4: "Internal error",
    5: "Origination gateway is blocked",
    6: "Internal error",
    7: "Origination account is blocked",
    8: "SMS source address is not allowed",
    100: "No balance available during TTL",
    101: "All termination attempts failed during TTL",
}


class WebhookFormatError(ValueError):
    """The body is not something DIDWW sends; the message says what is wrong."""


@dataclass
class StatusEvent:
    message_id: str
    kind: str  # 'callback' (outbound_message_callbacks) or 'dlr' (dlr_event)
    status: str  # normalised: success, routing_error, failed, delivered, undelivered, expired, rejected...
    code_id: int | None = None
    fragments_sent: int | None = None
    error_message: str = ""
    raw_status: str = ""

    @property
    def dedupe_key(self):
        return f"status:{self.kind}:{self.message_id}:{self.status}"

    @property
    def order_key(self):
        """What must be processed in order with this event: the statuses of one SMS."""
        return f"status:{self.message_id}"

    @property
    def didww_words(self):
        """What DIDWW said, in its own words: ``Routing Error, code 1: No routes found``."""
        words = self.raw_status or self.status
        if self.code_id is not None:
            words += f", code {self.code_id}"
            if self.code_id in CODE_DESCRIPTIONS:
                words += f": {CODE_DESCRIPTIONS[self.code_id]}"
        if self.error_message:
            words += f" ({self.error_message})"
        return words

    def to_payload(self):
        """What is stored of the callback: what processing and the screens read, nothing else
        (a delivery's extra keys are dropped), in a form :func:`parse_event` reads back."""
        kind = "outbound_message_callbacks" if self.kind == "callback" else "dlr_event"
        attributes = {"status": self.raw_status or self.status, "code_id": self.code_id,
                      "fragments_sent": self.fragments_sent, "error_message": self.error_message}
        return {"data": {"type": kind, "id": self.message_id,
                         "attributes": {key: value for key, value in attributes.items() if value not in (None, "")}}}


@dataclass
class InboundSms:
    to: str
    sender: str
    text: str
    time: object = None  # naive UTC datetime, or None
    uuid: str = ""
    raw_time: str = ""
    notes: list = field(default_factory=list)

    @property
    def dedupe_key(self):
        if self.uuid:
            return f"inbound:uuid:{self.uuid}"
        digest = hashlib.sha256("\x1f".join((self.to, self.sender, self.raw_time, self.text)).encode()).hexdigest()
        return f"inbound:sha256:{digest}"

    @property
    def order_key(self):
        """What must be processed in order with this text: the texts of one sender (its last eight
        digits, so that national and international spellings of a number agree)."""
        digits = "".join(char for char in self.sender if char.isdigit())
        return f"sender:{digits[-8:] or self.sender.strip().lower()}"

    def to_payload(self):
        """What is stored of the SMS: the fields processing and the screens read (the text
        decoded, nothing else a delivery carried), in a form :func:`parse_event` reads back."""
        payload = {"to": self.to, "from": self.sender, "time": self.raw_time, "text": self.text, "uuid": self.uuid}
        return {key: value for key, value in payload.items() if value}


def _normalise_status(value):
    return re.sub(r"[^a-z0-9]+", "_", str(value or "").strip().lower()).strip("_")


def _as_int(value):
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        return int(str(value).strip())
    except ValueError:
        return None


def parse_status(document):
    """Return a :class:`StatusEvent` for a JSON:API status document, or ``None`` if it is not one."""
    data = document.get("data") if isinstance(document, dict) else None
    if not isinstance(data, dict) or data.get("type") not in STATUS_TYPES:
        return None
    message_id = data.get("id")
    if not isinstance(message_id, str | int) or not _ID.match(str(message_id)):
        raise WebhookFormatError("status callback without a valid data.id")
    attributes = data.get("attributes")
    if not isinstance(attributes, dict):
        raise WebhookFormatError("status callback without data.attributes")
    raw_status = attributes.get("status")
    status = _normalise_status(raw_status)
    if not status:
        raise WebhookFormatError("status callback without attributes.status")
    error_message = attributes.get("error_message") or attributes.get("error_code") or ""
    return StatusEvent(
        message_id=str(message_id),
        kind="callback" if data["type"] == "outbound_message_callbacks" else "dlr",
        status=status,
        code_id=_as_int(attributes.get("code_id")),
        fragments_sent=_as_int(attributes.get("fragments_sent")),
        error_message=str(error_message)[:500],
        raw_status=str(raw_status)[:64],
    )


def _text_field(params, name):
    value = params.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise WebhookFormatError(f"'{name}' must be a string")
    return value


def decode_data(value):
    """Decode DIDWW's ``{SMS_TEXT_BASE64_ENCODED}``; ``None`` when it is absent or not base64 of UTF-8."""
    if not value:
        return None
    compact = re.sub(r"\s+", "", value)
    try:
        raw = base64.b64decode(compact + "=" * (-len(compact) % 4), validate=True)
        return raw.decode("utf-8")
    except (binascii.Error, ValueError):
        return None


def parse_time(value):
    """RFC 1123 (``Mon, 23 Nov 2026 07:30:00 GMT``) or ISO 8601 to a naive UTC datetime, else ``None``."""
    if not value:
        return None
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment


def parse_inbound(params):
    """Return an :class:`InboundSms` from flat parameters (JSON object, form or query string)."""
    if not isinstance(params, dict):
        raise WebhookFormatError("the body must be a JSON object or form fields")
    to = _text_field(params, "to").strip()
    sender = _text_field(params, "from").strip()
    if not to or not sender:
        raise WebhookFormatError("an inbound SMS needs 'to' and 'from'")
    for name, number in (("to", to), ("from", sender)):
        if not _NUMBER.match(number) or sum(char.isdigit() for char in number) < MIN_DIGITS:
            raise WebhookFormatError(f"'{name}' is not a phone number (at least {MIN_DIGITS} digits)")
    text = _text_field(params, "text")
    data = _text_field(params, "data")
    notes = []
    decoded = decode_data(data)
    if decoded is not None:
        if decoded != text:
            if text:
                notes.append("text and data differ: data (base64) was used")
            text = decoded
    elif data:
        if not text:
            raise WebhookFormatError("'data' is not base64 of UTF-8 text")
        notes.append("data is not valid base64: text was used")
    text = text.replace("\x00", "")  # PostgreSQL text cannot hold NUL
    if len(text) > MAX_TEXT_CHARS:
        raise WebhookFormatError("the text is longer than 64 KB")
    raw_time = _text_field(params, "time").strip()
    uuid = _text_field(params, "uuid").strip()
    if uuid and not _ID.match(uuid):
        raise WebhookFormatError("'uuid' is not an identifier")
    return InboundSms(to=to, sender=sender, text=text, time=parse_time(raw_time), uuid=uuid,
                      raw_time=raw_time, notes=notes)


_SAFE_TEMPLATE_VALUE = re.compile(r'"(to|from|time|uuid|data)"\s*:\s*"([^"\\]*)"')


def salvage_template(body):
    """Recover an inbound SMS from a JSON template that raw ``{SMS_TEXT}`` broke (a quote, a
    backslash or a line break in the text makes DIDWW post invalid JSON).

    The template's other values cannot contain quotes (numbers, RFC 1123 time, uuid, base64), so
    they are read exactly; the text comes from ``data``. Return the parameters, or ``None`` when
    the body holds no ``to``, ``from`` and decodable ``data``.
    """
    values = {}
    for name, value in _SAFE_TEMPLATE_VALUE.findall(body):
        values.setdefault(name, value)
    if not values.get("to") or not values.get("from") or decode_data(values.get("data")) is None:
        return None
    return values


def parse_event(params):
    """Classify a decoded body: a :class:`StatusEvent` or an :class:`InboundSms`.

    :raises WebhookFormatError: with a message fit for a 400 answer.
    """
    status = parse_status(params)
    if status is not None:
        return status
    if isinstance(params, dict) and "data" in params and isinstance(params["data"], dict):
        raise WebhookFormatError(f"unknown JSON:API type {str(params['data'].get('type'))[:64]!r}")
    return parse_inbound(params)


def claim_key_of(company_id, order_key):
    """The claim key (a signed 32-bit integer) of an event whose :attr:`order_key` is ``order_key``:
    a stable hash, so that the events of one sender (or one SMS) share a key and are processed one
    after the other, in order, while other keys' events are processed side by side."""
    digest = hashlib.sha256(f"{company_id}:{order_key}".encode()).digest()
    return int.from_bytes(digest[:4], "big", signed=True)
