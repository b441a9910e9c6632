"""Generated webhook requests for the fuzz suite (plain Python, no Odoo).

:func:`requests_for` yields ``FuzzRequest`` tuples, reproducible from a seed: JSON, form-encoded,
multipart and query-string deliveries with GET / POST / PUT, wrong types, nested values, huge and
empty fields, binary, invalid UTF-8, truncated bodies, deep nesting and DIDWW's raw-text JSON
template broken by quotes and line breaks. Used by ``dev/fuzz.py`` (against a running Odoo) and by
the Odoo test ``test_webhook_fuzz`` (a few hundred through Odoo's test server).
"""

import base64
import json
import random
import string
from dataclasses import dataclass
from urllib.parse import urlencode

MAX_BODY_BYTES = 256 * 1024  # as tools/didww_webhook.py


@dataclass
class FuzzRequest:
    method: str
    query: str  # without '?', may be empty
    content_type: str | None
    body: bytes
    family: str  # what the generator meant to send, for the report


def b64(text):
    return base64.b64encode(text.encode("utf-8", "surrogatepass")).decode()


def _urlencode(fields):
    return urlencode(fields, encoding="utf-8", errors="surrogatepass")


def _text(rng):
    choice = rng.random()
    if choice < 0.2:
        return ""
    if choice < 0.35:
        return 'He said "hi"\nand left \\ {"x": 1}'
    if choice < 0.5:
        return "".join(rng.choice("aé☀️👍\u200b\t\r\n\"'<>&{}[]\\\x00\udc80") for _ in range(rng.randint(1, 40)))
    if choice < 0.55:
        return "x" * rng.choice((160, 1530, 70000))
    return "".join(rng.choice(string.printable) for _ in range(rng.randint(1, 200)))


def _weird(rng, depth=0):
    """A value of any JSON type, sometimes nested."""
    kind = rng.randrange(11)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice((True, False))
    if kind == 2:
        return rng.randint(-(2 ** 70), 2 ** 70)
    if kind == 3:
        return rng.random() * 1e300
    if kind == 4 and depth < 3:
        return [_weird(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    if kind == 5 and depth < 3:
        return {rng.choice(("to", "from", "data", "a", "")): _weird(rng, depth + 1) for _ in range(rng.randint(0, 4))}
    if kind == 6:
        return ""
    if kind == 7:
        return "9" * rng.randint(1, 64)
    if kind == 8:
        return rng.choice(("\x00\x01\ud7ff\ufffd", "\ud800", "a\x00b"))
    return _text(rng)


class Generator:
    """Deliveries to the numbers ``known`` (and some unknown) from random senders."""

    def __init__(self, seed=0, known=("37041123456",), tag="fz"):
        self.rng = random.Random(seed)
        self.known = list(known)
        self.tag = tag
        self.count = 0

    def _inbound(self, valid=True):
        rng = self.rng
        self.count += 1
        text = _text(rng)
        fields = {
            "to": rng.choice(self.known) if rng.random() < 0.5 else f"3705{rng.randint(1000000, 9999999)}",
            "from": f"3706{rng.randint(0, 9999999):07d}",
            "time": rng.choice(("Mon, 23 Nov 2026 07:30:00 GMT", "2026-11-23T07:30:00Z", "yesterday", "")),
            "text": text,
            "data": b64(text) if rng.random() < 0.8 else rng.choice(("not base64!", "////", b64("other"))),
        }
        if rng.random() < 0.7:
            fields["uuid"] = f"{self.tag}-{self.count}-{rng.randint(0, 1 << 30)}"
        if not valid:
            for _ in range(rng.randint(1, 3)):
                fields[rng.choice([*fields, "extra", "data"])] = _weird(rng)
            if rng.random() < 0.2:
                fields.pop(rng.choice(list(fields)), None)
        return fields

    def _status(self):
        rng = self.rng
        attributes = {"status": rng.choice(("Success", "Failed", "DELIVERED", "", None, 5, ["x"])),
                      "code_id": _weird(rng), "fragments_sent": _weird(rng)}
        data = {"type": rng.choice(("outbound_message_callbacks", "dlr_event", "dids", 7)),
                "id": rng.choice((f"{self.tag}-{rng.randint(0, 1 << 30)}", "", None, 12, "x" * 200, "a b")),
                "attributes": attributes if rng.random() < 0.9 else _weird(rng)}
        return {"data": data}

    def _flat(self, fields):
        """Form/query values are strings: JSON-encode what is not."""
        return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in fields.items()}

    def _multipart(self, fields):
        boundary = f"----fuzz{self.rng.randint(0, 1 << 40)}"
        parts = []
        for name, value in fields.items():
            raw = value.encode("utf-8", "surrogatepass") if isinstance(value, str) else bytes(value)
            disposition = f'form-data; name="{name}"'
            if self.rng.random() < 0.1:
                disposition += '; filename="x.bin"'
            parts.append(f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + raw + b"\r\n")
        body = b"".join(parts) + f"--{boundary}--\r\n".encode()
        return f"multipart/form-data; boundary={boundary}", body

    def one(self):
        rng = self.rng
        family = rng.choice(("json", "json", "json-bad", "status", "form", "multipart", "query", "template",
                             "truncated", "binary", "deep", "huge", "content-type", "empty"))
        method = rng.choice(("POST", "POST", "PUT", "GET"))
        query, content_type, body = "", "application/json", b""
        if family in ("json", "json-bad"):
            body = json.dumps(self._inbound(valid=family == "json"), ensure_ascii=rng.random() < 0.5).encode(
                "utf-8", "surrogatepass")
        elif family == "status":
            body = json.dumps(self._status()).encode()
            content_type = rng.choice(("application/vnd.api+json", "application/json"))
        elif family == "form":
            content_type = "application/x-www-form-urlencoded"
            body = _urlencode(self._flat(self._inbound(valid=rng.random() < 0.5))).encode()
        elif family == "multipart":
            fields = self._flat(self._inbound(valid=rng.random() < 0.5))
            if rng.random() < 0.3:
                fields["data"] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 64)))
            content_type, body = self._multipart(fields)
        elif family == "query":
            query = _urlencode(self._flat(self._inbound(valid=rng.random() < 0.5)))
            content_type, body = None, b""
        elif family == "template":
            fields = self._inbound()
            raw = fields["text"] + rng.choice(('"', '\n', '\\', '"}', '", "to": "1"'))
            body = ('{"uuid":"%s","to":"%s","from":"%s","time":"%s","text":"%s","data":"%s"}' % (
                fields.get("uuid", ""), fields["to"], fields["from"], fields["time"], raw, b64(raw))).encode(
                "utf-8", "surrogatepass")
        elif family == "truncated":
            whole = json.dumps(self._inbound()).encode()
            body = whole[:rng.randint(0, max(len(whole) - 1, 0))]
        elif family == "binary":
            body = bytes(rng.randrange(256) for _ in range(rng.randint(1, 512)))
            content_type = rng.choice(("application/json", "application/octet-stream", None, "text/plain"))
            if rng.random() < 0.5:
                body = b'{"to": "' + body + b'"}'
        elif family == "deep":
            depth = rng.choice((50, 1000, 5000, 100000))
            body = (b"[" * depth + b"]" * depth) if rng.random() < 0.5 else (b'{"a":' * depth + b"1" + b"}" * depth)
        elif family == "huge":
            size = rng.choice((MAX_BODY_BYTES - 200, MAX_BODY_BYTES + 1, 2 * MAX_BODY_BYTES))
            fields = self._inbound()
            fields["text"] = "y" * size
            fields.pop("data")
            body = json.dumps(fields).encode()
            if rng.random() < 0.3:
                content_type = "application/x-www-form-urlencoded"
                body = _urlencode(fields).encode()
        elif family == "content-type":
            body = json.dumps(self._inbound()).encode()
            content_type = rng.choice(("text/plain", "application/xml", "application/json; charset=latin-1",
                                       "multipart/form-data", "application/x-www-form-urlencoded", "", None))
        elif family == "empty":
            body = rng.choice((b"", b" ", b"{}", b"null", b"[]", b'""', b"0"))
        if method == "GET" and family != "query" and rng.random() < 0.5:
            query = _urlencode(self._flat(self._inbound(valid=rng.random() < 0.5)))
        return FuzzRequest(method, query, content_type, body, family)


def requests_for(count, seed=0, known=("37041123456",), tag="fz"):
    generator = Generator(seed, known, tag)
    for _ in range(count):
        yield generator.one()
