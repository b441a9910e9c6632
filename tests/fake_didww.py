"""A fake DIDWW on 127.0.0.1 that speaks the documented protocols (plain Python, no Odoo).

* Outbound SMS API: ``POST /outbound_messages`` (JSON:API, exact content type, basic auth, E.164
  digits without ``+``) answering 201 with a message id, or the documented 400/401/415 errors;
* API v3 under ``/v3``: ``GET /dids?include=did_group`` (pages) and ``GET /balance``, with ``Api-Key``
  or a bearer token of the token service (``POST /token``), and the exports API (see
  ``fake_didww_api.py``);
* a one-shot SIP-over-WebSocket server (:func:`serve_websocket_once`) for the VoIP connection test.

Tests script failures with :meth:`FakeDidww.script` (status, body, delay, drop) and read what was
received in :attr:`FakeDidww.requests`.
"""

import base64
import datetime
import hashlib
import ipaddress
import json
import os
import re
import socket
import ssl
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from .fake_didww_api import FakeApiV3

JSONAPI = "application/vnd.api+json"
WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455


def jsonapi_error(status, title, detail):
    return {"errors": [{"title": title, "detail": detail, "code": str(status), "status": str(status)}]}


class _Server(ThreadingHTTPServer):
    """One thread per connection, and a listen backlog for dozens of clients connecting at once
    (the default of 5 makes the sixth simultaneous connection wait for a SYN retransmission)."""

    daemon_threads = True
    request_queue_size = 128

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):  # a client gone
            return super().handle_error(request, client_address)
        return None


class FakeDidww(FakeApiV3):
    def __init__(self, username="trunk-user", password="trunk-pass", api_key="API-KEY-1"):
        self.username, self.password, self.api_key = username, password, api_key
        self.requests = []
        self.sent = []  # accepted outbound messages: dict(id, source, destination, content)
        self.dids = []  # API v3 DIDs: dict(id, number, description, features)
        self.balance = {"total_balance": "12.50", "credit": "0.00", "balance": "12.50"}
        self.scripted = []  # list of (path_prefix, dict(status, body, delay, drop))
        self.in_flight = 0
        self.max_in_flight = 0
        self.response_delay = 0.0
        self._lock = threading.Lock()
        self.fault = None  # optional callable(path) -> an answer as in script(), or None (fault scripts)
        self._init_api_v3()
        self.server = _Server(("127.0.0.1", 0), self._handler_class())
        self.thread = threading.Thread(target=self.server.serve_forever, name="fake-didww", daemon=True)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def reset(self):
        with self._lock:
            self.requests.clear()
            self.sent.clear()
            self.scripted.clear()
            self.max_in_flight = 0
            self.response_delay = 0.0
            self.minted.clear()
            self.exports.clear()
            self.files.clear()
            self.callbacks.clear()
            self.cdrs = {"cdr_in": [], "cdr_out": []}
            self.broken_rows = {"cdr_in": [], "cdr_out": []}
            self.exports_hold = False
            self.file_override = {}
            self.account_version = "2026-04-16"
            self.clock = time.monotonic

    def script(self, path_prefix, status=None, body=None, delay=0.0, drop=False, times=1, headers=None, skip=0):
        """The next ``times`` requests whose path starts with ``path_prefix``, after ``skip`` of them
        are served normally, get this answer."""
        for _ in range(times):
            self.scripted.append((path_prefix, {"status": status, "body": body, "delay": delay, "drop": drop,
                                                "headers": headers or {}, "skip": skip}))

    def _take_script(self, path):
        with self._lock:
            for index, (prefix, answer) in enumerate(self.scripted):
                if path.startswith(prefix):
                    if answer["skip"]:
                        answer["skip"] -= 1
                        return None
                    del self.scripted[index]
                    return answer
        return None

    def _handler_class(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body leave at once, as from a real server

            def log_message(self, *args):
                pass

            def _reply(self, status, document=None, content_type=JSONAPI, headers=None):
                if isinstance(document, bytes):
                    body = document
                else:
                    body = json.dumps(document).encode() if document is not None else b""
                headers = dict(headers or {})
                content_type = headers.pop("Content-Type", content_type)
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def _handle(self):
                with fake._lock:
                    fake.in_flight += 1
                    fake.max_in_flight = max(fake.max_in_flight, fake.in_flight)
                try:
                    self._dispatch()
                finally:
                    with fake._lock:
                        fake.in_flight -= 1

            do_GET = do_POST = do_PUT = _handle

            def _dispatch(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                record = {"method": self.command, "path": parts.path, "query": parse_qs(parts.query),
                          "headers": dict(self.headers.items()), "body": raw}
                try:
                    record["json"] = json.loads(raw) if raw else None
                except ValueError:
                    record["json"] = None
                with fake._lock:
                    fake.requests.append(record)
                if fake.response_delay:
                    time.sleep(fake.response_delay)
                answer = fake._take_script(parts.path) or (fake.fault(parts.path) if fake.fault else None)
                if answer:
                    if answer["delay"]:
                        time.sleep(answer["delay"])
                    if answer["drop"]:
                        self.close_connection = True
                        self.connection.shutdown(2)
                        return
                    if answer["status"]:
                        return self._reply(answer["status"], answer["body"], headers=answer["headers"])
                if parts.path == "/outbound_messages":
                    return self._outbound(record)
                if parts.path == "/token":
                    status, document, headers = fake.token_endpoint(record)
                    return self._reply(status, document, content_type="application/json", headers=headers)
                if parts.path.startswith("/v3/"):
                    return self._api_v3(record, parts.path[3:])
                return self._reply(404, jsonapi_error(404, "Not Found", "no such endpoint"))

            def _outbound(self, record):
                if self.headers.get("Content-Type") != JSONAPI:
                    return self._reply(415, jsonapi_error(415, "Unsupported Media Type", "Unsupported Media Type"))
                expected = "Basic " + base64.b64encode(f"{fake.username}:{fake.password}".encode()).decode()
                if self.headers.get("Authorization") != expected:
                    return self._reply(401, jsonapi_error(401, "Unauthorized", "Authorization failed"))
                data = (record["json"] or {}).get("data") if isinstance(record["json"], dict) else None
                if not isinstance(data, dict):
                    return self._reply(400, jsonapi_error(400, "Bad Request", "Invalid request"))
                if data.get("type") != "outbound_messages":
                    return self._reply(400, jsonapi_error(400, "Bad Request", "type is invalid"))
                attributes = data.get("attributes") or {}
                for name in ("destination", "source", "content"):
                    if not attributes.get(name):
                        return self._reply(400, jsonapi_error(400, "Bad Request", f"{name} - can't be blank"))
                for name in ("destination", "source"):
                    if not re.fullmatch(r"[0-9]{6,15}", attributes[name]):
                        return self._reply(400, jsonapi_error(400, "Bad Request", f"{name} - is invalid"))
                message_id = str(uuid.uuid4())
                with fake._lock:
                    fake.sent.append({"id": message_id, **{k: attributes[k] for k in ("source", "destination",
                                                                                      "content")}})
                return self._reply(201, {"data": {"type": "outbound_messages", "id": message_id}})

            def _api_v3(self, record, path):
                version = fake.authenticate(record, path)
                if isinstance(version, tuple):
                    return self._reply(*version)
                if path.startswith("/exports"):
                    status, document, headers = fake.exports_endpoint(record, path, version)
                    return self._reply(status, document, headers=headers)
                meta = {"api_version": version}
                if path == "/balance":
                    return self._reply(200, {"data": {"id": "b1", "type": "balances", "attributes": fake.balance},
                                             "meta": meta})
                if path == "/dids":
                    query = record["query"]
                    page = int((query.get("page[number]") or ["1"])[0])
                    size = int((query.get("page[size]") or ["50"])[0])
                    chunk = fake.dids[(page - 1) * size: page * size]
                    include = "did_group" in (query.get("include") or [""])[0]
                    data, included = [], []
                    for did in chunk:
                        group_id = f"group-{did['id']}"
                        data.append({"id": did["id"], "type": "dids",
                                     "attributes": {"number": did["number"], "description": did.get("description")},
                                     "relationships": {"did_group": {"data": {"type": "did_groups", "id": group_id}}
                                                       if include else {}}})
                        if include:
                            included.append({"id": group_id, "type": "did_groups",
                                             "attributes": {"features": did["features"]}})
                    document = {"data": data, "meta": dict(meta, total_records=len(fake.dids))}
                    if include:
                        document["included"] = included
                    return self._reply(200, document)
                return self._reply(404, jsonapi_error(404, "Not Found", "no such resource"))

        return Handler


def self_signed_certificate(directory):
    """Write a key and a self-signed certificate for 127.0.0.1 in ``directory``; return their paths."""
    # imported here: the pure-Python tier loads this module where cryptography may be absent
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    key_path, cert_path = os.path.join(directory, "key.pem"), os.path.join(directory, "cert.pem")
    with open(key_path, "wb") as handle:
        handle.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    with open(cert_path, "wb") as handle:
        handle.write(certificate.public_bytes(serialization.Encoding.PEM))
    return key_path, cert_path


def serve_websocket_once(answer="sip", tls=None):
    """A one-shot WebSocket server on 127.0.0.1; return its port.

    ``answer``: ``"sip"`` accepts with the ``sip`` subprotocol (as phone.systems does), ``"plain"``
    accepts without a subprotocol, ``"http"`` answers a plain 200 instead of an upgrade.
    ``tls``: ``(key_path, cert_path)`` to serve wss:// (see :func:`self_signed_certificate`).
    """
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.settimeout(10)

    def serve():
        try:
            connection, _address = server.accept()
            if tls:
                context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                context.load_cert_chain(tls[1], tls[0])
                connection = context.wrap_socket(connection, server_side=True)
        except OSError:
            server.close()
            return
        with connection:
            request = b""
            while b"\r\n\r\n" not in request:
                chunk = connection.recv(4096)
                if not chunk:
                    break
                request += chunk
            key = next((line.split(":", 1)[1].strip() for line in request.decode("latin-1").split("\r\n")
                        if line.lower().startswith("sec-websocket-key")), "")
            accept = base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()
            if answer == "http":
                reply = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
            else:
                reply = ("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                         f"Sec-WebSocket-Accept: {accept}\r\n"
                         + ("Sec-WebSocket-Protocol: sip\r\n" if answer == "sip" else "") + "\r\n")
            connection.sendall(reply.encode())
        server.close()

    threading.Thread(target=serve, name="fake-websocket", daemon=True).start()
    return server.getsockname()[1]


class FaultSchedule:
    """A :attr:`FakeDidww.fault` that breaks outbound requests for a while: ``set(kind, seconds)``
    with kind ``5xx`` (503), ``429`` (with ``Retry-After``), ``timeout`` (no answer for ``hang``
    seconds, then the connection dropped: the SMS is not taken) or ``drop``."""

    def __init__(self):
        self.kind, self.seconds, self.until, self.retry_after, self.hang = None, 0.0, None, 1, 3.0
        self.lock = threading.Lock()

    def set(self, kind, seconds, retry_after=1, hang=3.0):
        """Break the next requests for ``seconds``, counted from the first of them."""
        with self.lock:
            self.kind, self.seconds, self.until = kind, float(seconds or 0), None
            self.retry_after, self.hang = retry_after, float(hang)

    def __call__(self, path):
        if path != "/outbound_messages" or not self.kind:
            return None
        with self.lock:
            if self.until is None:
                self.until = time.monotonic() + self.seconds
            if time.monotonic() >= self.until:
                return None
        answer = {"status": None, "body": None, "delay": 0.0, "drop": False, "headers": {}, "skip": 0}
        if self.kind == "5xx":
            answer.update(status=503, body={"errors": [{"title": "Service Unavailable", "detail": "maintenance"}]})
        elif self.kind == "429":
            answer.update(status=429, body={"errors": [{"title": "Too Many Requests", "detail": "slow down"}]},
                          headers={"Retry-After": str(self.retry_after)})
        elif self.kind == "timeout":
            answer.update(delay=self.hang, drop=True)
        elif self.kind == "drop":
            answer.update(drop=True)
        else:
            return None
        return answer


def reconcile(accepted, odoo_sms, interrupted_marker="may or may not"):
    """Compare what DIDWW accepted with what Odoo shows, after a fault; return ``(problems, summary)``.

    :param accepted: ``[(message id, destination digits)]`` DIDWW answered 201 to.
    :param odoo_sms: ``[{"destination", "state", "message_id", "reason"}]`` for every SMS of the run.
    Every SMS must end sent exactly once (Odoo's message id is one DIDWW accepted, for that
    destination) or failed with a reason; nothing stays queued; DIDWW accepted nothing twice and
    nothing Odoo does not know about, except SMS that Odoo shows as interrupted ("may or may not
    have received"), which a person is told to check.
    """
    problems = []
    accepted_ids = {}
    received = {}
    for message_id, destination in accepted:
        accepted_ids[message_id] = destination
        received[destination] = received.get(destination, 0) + 1
    problems += [f"DIDWW received {count} SMS for {destination}" for destination, count in received.items()
                 if count > 1]
    known_ids, interrupted_destinations = set(), set()
    summary = {"sent": 0, "failed": 0, "interrupted": 0, "queued": 0}
    for sms in odoo_sms:
        if sms["state"] in ("pending", "sent"):
            summary["sent"] += 1
            if accepted_ids.get(sms["message_id"]) != sms["destination"]:
                problems.append(f"Odoo shows {sms['destination']} sent as {sms['message_id']}, unknown to DIDWW")
            known_ids.add(sms["message_id"])
        elif sms["state"] == "error":
            summary["failed"] += 1
            if not (sms["reason"] or "").strip():
                problems.append(f"SMS to {sms['destination']} failed without a reason")
            if interrupted_marker in (sms["reason"] or ""):
                summary["interrupted"] += 1
                interrupted_destinations.add(sms["destination"])
        else:
            summary["queued"] += 1
            problems.append(f"SMS to {sms['destination']} still {sms['state']}")
    for message_id, destination in accepted_ids.items():
        if message_id not in known_ids and destination not in interrupted_destinations:
            problems.append(f"DIDWW accepted {message_id} for {destination}; Odoo does not show it")
    summary["accepted"] = len(accepted_ids)
    return problems, summary
