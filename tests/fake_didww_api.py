"""The API v3 side of the fake DIDWW (plain Python, no Odoo): the token service of 2026-11-19,
bearer or ``Api-Key`` authentication by version, and the exports API with its lifecycle.

Built from the confirmed parts of ``shared/reference/didww-api-auth-2026-11-19.md``:

* ``POST /token`` with ``Api-Key`` and a JSON body (``aud`` required, ``scope``, ``api_version``,
  ``expires_in`` clamped to 60..3600, default 900) answering 200 with ``access_token``,
  ``token_type``, ``expires_in``, ``aud``, ``scope``, ``api_version`` and ``no-store``; errors
  ``400 invalid_request``/``invalid_scope``, ``401 invalid_client``, ``429 rate_limit_exceeded``
  with ``Retry-After``, as ``{"error", "error_description"}``;
* ``/v3/*``: a request runs as the version of its token, or (``Api-Key``) as the
  ``X-DIDWW-API-Version`` header or the account's default, whichever is newer; ``Api-Key`` on a
  2026-11-19 request is a 401; an expired or revoked token is a 401; ``meta.api_version`` says
  which version answered. The export file accepts either credential;
* ``POST /v3/exports`` (201, ``pending``), ``GET /v3/exports/{id}`` (one step of ``pending`` ->
  ``processing`` -> ``completed`` per read unless held), the signed callback of a completed
  export (``X-DIDWW-Signature``, queued in :attr:`callbacks` for the test to deliver), and
  ``GET /v3/exports/{file}.csv.gz`` (a gzipped CSV, header row then rows, columns by name).

Unconfirmed by DIDWW and assumed here: the CSV columns of 2026-11-19 beyond the first ten of
``cdr_in`` (the fake writes exactly the ten; ``cdr_out`` gets the 2026-04-16 head) and the
callback's parameters (``id``, ``type``, ``status``, ``url``).
"""

import csv
import datetime
import gzip
import hashlib
import hmac
import io
import json
import threading
import time
import uuid
from urllib.parse import urlsplit

TOKEN_AUDIENCES = ("api.didww.com", "api-vin.didww.com", "api-vout.didww.com", "api-sms.didww.com")
BEARER_VERSIONS = ("2026-11-19",)
CDR_IN_COLUMNS_2026_11_19 = [
    "Date/Time Start (UTC)", "Date/Time Connect (UTC)", "Date/Time End (UTC)", "Status", "Source Number",
    "Source Number Out", "Source Name", "Source Country", "Source Network", "Destination DID",
]
CDR_IN_COLUMNS_2026_04_16 = [
    "Date/Time Start (UTC)", "Date/Time Connect (UTC)", "Date/Time End (UTC)", "Status", "Source", "Source Name",
    "Destination DID", "Duration (sec)", "Attempt", "Disconnect Code", "Response", "Disconnect Initiator",
    "Voice IN Trunk", "Destination", "Trunk Group", "Capacity Group", "Toll-free (USD)", "PSTN (USD)",
    "Metered (USD)", "CNAM IN (USD)", "Total (USD)", "Call ID",
]
CDR_OUT_COLUMNS = [
    "Date/Time Start (UTC)", "Date/Time Connect (UTC)", "Date/Time End (UTC)", "Status", "Source", "CLI",
    "Destination Number", "Call Duration (sec)", "Billing Duration (sec)", "Disconnect Code", "Disconnect Reason",
    "Voice OUT Trunk", "Destination Country", "Network", "Call Type", "Rate (USD)", "Charged (USD)",
]
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


def sign_callback(secret, url, payload):
    """DIDWW's callback signature, written independently of the addon's verifier: HMAC-SHA1 hex of
    the URL with its port always written, then each payload key and value, keys sorted."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    host = f"[{parts.hostname}]" if ":" in (parts.hostname or "") else parts.hostname
    normalised = f"{parts.scheme}://{host}:{port}{parts.path}" + (f"?{parts.query}" if parts.query else "")
    message = normalised + "".join(f"{key}{payload[key]}" for key in sorted(payload))
    return hmac.new(secret.encode(), message.encode(), hashlib.sha1).hexdigest()


def cdr_in_row(start, source, did, answered=True, duration=35, status=None, call_id=None, name=""):
    """A ``cdr_in`` row (every column of both versions; the file keeps its version's columns)."""
    connect = start + datetime.timedelta(seconds=3) if answered else None
    end = (connect + datetime.timedelta(seconds=duration)) if answered else start + datetime.timedelta(seconds=20)
    return {
        "Date/Time Start (UTC)": start.strftime(TIME_FORMAT),
        "Date/Time Connect (UTC)": connect.strftime(TIME_FORMAT) if connect else "",
        "Date/Time End (UTC)": end.strftime(TIME_FORMAT),
        "Status": status or ("Success" if answered else "Failed"),
        "Source Number": source, "Source Number Out": source, "Source": source, "Source Name": name,
        "Source Country": "", "Source Network": "", "Destination DID": did,
        "Duration (sec)": str(duration if answered else 0), "Attempt": "1",
        "Disconnect Code": "200" if answered else "480", "Response": "" if answered else "Temporarily Unavailable",
        "Disconnect Initiator": "", "Voice IN Trunk": "office", "Destination": "", "Trunk Group": "",
        "Capacity Group": "", "Toll-free (USD)": "0.000", "PSTN (USD)": "0.000", "Metered (USD)": "0.000",
        "CNAM IN (USD)": "0.000", "Total (USD)": "0.000", "Call ID": call_id or uuid.uuid4().hex,
    }


def cdr_out_row(start, cli, destination, answered=True, duration=60, status=None):
    connect = start + datetime.timedelta(seconds=5) if answered else None
    end = (connect + datetime.timedelta(seconds=duration)) if answered else start + datetime.timedelta(seconds=25)
    return {
        "Date/Time Start (UTC)": start.strftime(TIME_FORMAT),
        "Date/Time Connect (UTC)": connect.strftime(TIME_FORMAT) if connect else "",
        "Date/Time End (UTC)": end.strftime(TIME_FORMAT),
        "Status": status or ("Success" if answered else "Failed"), "Source": cli, "CLI": cli,
        "Destination Number": destination, "Call Duration (sec)": str(duration if answered else 0),
        "Billing Duration (sec)": str(duration if answered else 0), "Disconnect Code": "200" if answered else "486",
        "Disconnect Reason": "" if answered else "Busy Here", "Voice OUT Trunk": "office",
        "Destination Country": "", "Network": "", "Call Type": "", "Rate (USD)": "0.01", "Charged (USD)": "0.01",
    }


def csv_gz(columns, rows, broken=()):
    """A gzipped CSV with a header row; ``broken``: raw lines appended as they are."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([row.get(column, "") for column in columns])
    for line in broken:
        text.write(line + "\r\n")
    return gzip.compress(text.getvalue().encode())


class FakeApiV3:
    """State and answers of the token service and the API; mixed into ``FakeDidww``."""

    def _init_api_v3(self):
        self.account_version = "2026-04-16"  # the account's default API version
        self.clock = time.monotonic  # the tokens' clock (tests may move it)
        self.tokens = {}  # access token -> dict(expires_at, api_version, scope)
        self.minted = []  # every token request answered 200: dict(body, token)
        self.cdrs = {"cdr_in": [], "cdr_out": []}
        self.broken_rows = {"cdr_in": [], "cdr_out": []}  # raw CSV lines appended to the files
        self.exports = {}  # id -> dict
        self.files = {}  # file name -> bytes
        self.file_override = {}  # export type -> bytes served instead of its file
        self.exports_hold = False  # True: exports stay "processing" until complete_exports()
        self.callback_secret = "cbsecret-fake-xyz"
        self.callbacks = []  # (url, payload, headers) of completed exports with a callback, to deliver
        self._api_lock = threading.Lock()

    def revoke_tokens(self):
        with self._api_lock:
            self.tokens.clear()

    def complete_exports(self):
        for export in list(self.exports.values()):
            if export["status"] != "completed":
                self._complete(export)

    # ---------------------------------------------------------------------------------------------

    @staticmethod
    def _oauth_error(status, code, description, headers=None):
        return status, {"error": code, "error_description": description}, headers or {}

    def token_endpoint(self, record):
        """``POST /token``: ``(status, document, headers)``."""
        if record["method"] != "POST":
            return self._oauth_error(400, "invalid_request", "POST only")
        if record["headers"].get("Api-Key") != self.api_key:
            return self._oauth_error(401, "invalid_client", "Client authentication failed")
        body = record["json"]
        if not isinstance(body, dict) or not body.get("aud"):
            return self._oauth_error(400, "invalid_request", "aud is required")
        audiences = body["aud"] if isinstance(body["aud"], list) else [body["aud"]]
        if any(audience not in TOKEN_AUDIENCES for audience in audiences):
            return self._oauth_error(400, "invalid_request", "aud is invalid")
        scope = body.get("scope") or "full"
        if scope not in ("full", "read") and not str(scope).startswith("read:"):
            return self._oauth_error(400, "invalid_scope", "scope is invalid")
        scope = "read" if scope.startswith("read:") else scope
        try:
            expires_in = min(max(int(body.get("expires_in") or 900), 60), 3600)
        except (TypeError, ValueError):
            return self._oauth_error(400, "invalid_request", "expires_in is invalid")
        version = body.get("api_version") or self.account_version
        token = "fake-token-" + uuid.uuid4().hex
        with self._api_lock:
            self.tokens[token] = {"expires_at": self.clock() + expires_in, "api_version": version, "scope": scope}
            self.minted.append({"body": body, "token": token})
        return 200, {"access_token": token, "token_type": "Bearer", "expires_in": expires_in,
                     "aud": body["aud"], "scope": scope, "api_version": version}, \
            {"Cache-Control": "no-store", "Pragma": "no-cache"}

    def authenticate(self, record, path):
        """The version a ``/v3`` request runs as, or ``(status, error document)`` to answer."""
        headers = record["headers"]
        authorization = headers.get("Authorization") or ""
        is_file = path.startswith("/exports/") and path.endswith(".csv.gz")
        if authorization.startswith("Bearer "):
            grant = self.tokens.get(authorization[7:])
            if not grant or self.clock() >= grant["expires_at"]:
                return 401, {"errors": [{"title": "Unauthorized", "detail": "invalid or expired token",
                                         "code": "401", "status": "401"}]}
            if grant["scope"] == "read" and record["method"] != "GET":
                return 403, {"errors": [{"title": "Forbidden", "detail": "insufficient_scope", "status": "403"}]}
            return grant["api_version"]
        if headers.get("Api-Key") != self.api_key:
            return 401, {"errors": [{"title": "Unauthorized", "detail": "Invalid API key", "code": "401",
                                     "status": "401"}]}
        asked = headers.get("X-DIDWW-API-Version") or ""
        version = max(asked, self.account_version) if len(asked) == 10 else self.account_version
        if version in BEARER_VERSIONS and not is_file:
            return 401, {"errors": [{"title": "Unauthorized", "detail": "Api-Key is not accepted in this version",
                                     "code": "401", "status": "401"}]}
        return version

    # ---------------------------------------------------------------------------------------------

    def _export_document(self, export, version):
        attributes = {key: export[key] for key in ("status", "url", "callback_url", "callback_method",
                                                   "external_reference_id", "export_type", "filters", "created_at")}
        return {"data": {"id": export["id"], "type": "exports", "attributes": attributes},
                "meta": {"api_version": version}}

    def _complete(self, export):
        start, end = (datetime.datetime.strptime(export["filters"][key], TIME_FORMAT) for key in ("from", "to"))
        kind = export["export_type"]
        rows = [row for row in self.cdrs[kind]
                if start <= datetime.datetime.strptime(row["Date/Time Start (UTC)"], TIME_FORMAT) <= end]
        if kind == "cdr_in":
            columns = CDR_IN_COLUMNS_2026_11_19 if export["version"] in BEARER_VERSIONS else CDR_IN_COLUMNS_2026_04_16
        else:
            columns = CDR_OUT_COLUMNS
        name = f"{uuid.uuid4()}.csv.gz"
        self.files[name] = self.file_override.get(kind) or csv_gz(columns, rows, self.broken_rows[kind])
        export.update(status="completed", url=f"{self.url}/v3/exports/{name}")
        if export["callback_url"]:
            payload = {"id": export["id"], "type": "exports", "status": "completed", "url": export["url"]}
            signature = sign_callback(self.callback_secret, export["callback_url"], payload)
            self.callbacks.append((export["callback_url"], payload, {"X-DIDWW-Signature": signature}))

    def exports_endpoint(self, record, path, version):
        """``(status, document or bytes, headers)`` for ``/v3/exports...``."""
        if path == "/exports" and record["method"] == "POST":
            data = (record["json"] or {}).get("data") if isinstance(record["json"], dict) else None
            attributes = (data or {}).get("attributes") or {}
            if not isinstance(data, dict) or data.get("type") != "exports":
                return 400, {"errors": [{"detail": "type is invalid", "status": "400"}]}, {}
            if attributes.get("export_type") not in ("cdr_in", "cdr_out", "sms_in", "sms_out"):
                return 422, {"errors": [{"detail": "export_type - is invalid", "status": "422"}]}, {}
            filters = attributes.get("filters") or {}
            try:
                start, end = (datetime.datetime.strptime(filters[key], TIME_FORMAT) for key in ("from", "to"))
            except (KeyError, TypeError, ValueError):
                return 422, {"errors": [{"detail": "filters - from and to are required (YYYY-MM-DD HH:MM:SS)",
                                         "status": "422"}]}, {}
            now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
            oldest = (now.replace(day=1) - datetime.timedelta(days=40)).replace(day=1, hour=0, minute=0, second=0,
                                                                             microsecond=0)
            if not start < end or end > now + datetime.timedelta(seconds=5) or start < oldest:
                return 422, {"errors": [{"detail": "filters - from/to out of range", "status": "422"}]}, {}
            if bool(attributes.get("callback_url")) != bool(attributes.get("callback_method")):
                return 422, {"errors": [{"detail": "callback_url and callback_method go together",
                                         "status": "422"}]}, {}
            export = {"id": str(uuid.uuid4()), "status": "pending", "url": None,
                      "callback_url": attributes.get("callback_url"),
                      "callback_method": attributes.get("callback_method"),
                      "external_reference_id": attributes.get("external_reference_id"),
                      "export_type": attributes["export_type"],
                      "filters": {"from": filters["from"], "to": filters["to"]},
                      "created_at": now.strftime("%Y-%m-%dT%H:%M:%S.000Z"), "version": version}
            with self._api_lock:
                self.exports[export["id"]] = export
            return 201, self._export_document(export, version), {}
        if path.endswith(".csv.gz") and record["method"] == "GET":
            body = self.files.get(path.rsplit("/", 1)[1])
            if body is None:
                return 404, b"", {}
            return 200, body, {"Content-Type": "application/octet-stream",
                               "Content-Disposition": f'attachment; filename="{path.rsplit("/", 1)[1]}"'}
        if path.startswith("/exports/") and record["method"] == "GET":
            export = self.exports.get(path.rsplit("/", 1)[1])
            if export is None:
                return 404, {"errors": [{"detail": "Not Found", "status": "404"}]}, {}
            with self._api_lock:
                if export["status"] == "pending":
                    export["status"] = "processing"
                elif export["status"] == "processing" and not self.exports_hold:
                    self._complete(export)
            return 200, self._export_document(export, version), {}
        return 404, {"errors": [{"detail": "no such resource", "status": "404"}]}, {}

    @staticmethod
    def dump(document):
        return json.dumps(document).encode()
