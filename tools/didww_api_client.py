"""Client of DIDWW API v3 for account data (plain Python, no ORM).

A thin client of ours on ``requests`` rather than the official ``didww`` SDK: the SDK requires
``cryptography>=41`` (Odoo 18 pins 3.4.8 on Python < 3.12), sends a fixed API version, and has
no timeout, pagination or 429 handling, and no SDK mints the bearer tokens of 2026-11-19. See
README.rst.

Two authentication schemes, chosen by the API version:

* up to 2026-04-16: the API key in an ``Api-Key`` header on every call, the version in
  ``X-DIDWW-API-Version``;
* 2026-11-19: the API key goes to the token service only (``POST /token``), which answers a
  short-lived bearer token for an audience and a version; every API call carries
  ``Authorization: Bearer``. Tokens live in this process's memory only (:class:`TokenCache`),
  are minted again shortly before they expire, and once more when the API answers 401.
"""

import hashlib
import threading
import time
from urllib.parse import urlsplit

from .didww_http import (
    DEFAULT_TIMEOUT,
    DidwwAuthError,
    DidwwBadRequestError,
    DidwwError,
    DidwwRateLimitError,
    DidwwServerError,
    JsonApiTransport,
    TransportClient,
    shared_limiter,
)

API_URLS = {
    "production": "https://api.didww.com/v3",
    "sandbox": "https://sandbox-api.didww.com/v3",
}
TOKEN_URLS = {
    "production": "https://auth.didww.com/token",
    "sandbox": "https://auth-sandbox.didww.com/token",
}
# the sandbox is addressed with the production host names as audiences (DIDWW's changelog)
API_AUDIENCE = "api.didww.com"
API_VERSIONS = ("2026-04-16", "2026-11-19")  # oldest first
LATEST_API_VERSION = API_VERSIONS[-1]
BEARER_VERSIONS = frozenset({"2026-11-19"})
API_RATE_LIMIT = 20  # requests per second and per key, DIDWW's published limit
TOKEN_RATE_LIMIT = 2  # mints per second and per key, at most: minting is rare by design
TOKEN_LIFETIME = 900  # seconds asked for (DIDWW's default; it clamps to 60..3600)
PAGE_SIZE = 100
MAX_PAGES = 1000
SMS_FEATURES = ("sms_in", "sms_out", "p2p", "a2p")
MAX_EXPORT_BYTES = 512 * 1024 * 1024  # a .csv.gz of two months of calls stays far below


def uses_bearer_tokens(api_version):
    return api_version in BEARER_VERSIONS


class DidwwTokenError(DidwwError):
    """The token service refused to mint a token. ``status`` 400 (``invalid_request``,
    ``invalid_scope``), 401 (``invalid_client``: key wrong, of the other environment, or an IP
    not allowed) or 429 (``rate_limit_exceeded``, ``retry_after`` seconds); ``code`` is DIDWW's
    ``error`` value."""

    @classmethod
    def from_error(cls, exc):
        error = cls(str(exc), status=exc.status, detail=exc.detail, retry_after=exc.retry_after, code=exc.code)
        error.transient = exc.transient
        return error


class Token:
    """A bearer token and when this process stops using it (monotonic clock). Its ``repr`` never
    shows the value."""

    __slots__ = ("api_version", "audience", "expires_in", "renew_at", "scope", "value")

    def __init__(self, value, renew_at, expires_in, scope, api_version, audience):
        self.value = value
        self.renew_at = renew_at
        self.expires_in = expires_in
        self.scope = scope
        self.api_version = api_version
        self.audience = audience

    def __repr__(self):
        return f"<Token {self.api_version} {self.scope} {self.expires_in}s>"


def renewal_margin(expires_in):
    """Seconds before expiry at which a token is minted again: a fifth of its life, at least a
    minute when the lifetime allows (half of it otherwise)."""
    return max(0.2 * expires_in, min(60.0, 0.5 * expires_in))


class TokenCache:
    """Bearer tokens of this process, one per cache key (a company, its token URL, a hash of its
    API key, the audience and the version), kept in memory only. Minting is serialised per key
    so that threads finding the token stale at once mint it once."""

    def __init__(self):
        self._tokens = {}
        self._locks = {}
        self._lock = threading.Lock()

    def lock(self, key):
        with self._lock:
            return self._locks.setdefault(key, threading.Lock())

    def get(self, key):
        return self._tokens.get(key)

    def put(self, key, token):
        self._tokens[key] = token

    def drop(self, key, token=None):
        """Forget the token of ``key`` (only if it is still ``token`` when given)."""
        with self._lock:
            if token is None or self._tokens.get(key) is token:
                self._tokens.pop(key, None)

    def clear(self):
        with self._lock:
            self._tokens.clear()


TOKENS = TokenCache()


class TokenService(TransportClient):
    """``POST /token`` of DIDWW's token service: the only place the API key is sent in 2026-11-19."""

    def __init__(self, token_url, api_key, timeout=DEFAULT_TIMEOUT, key_id=None):
        parts = urlsplit(token_url or "")
        if parts.scheme not in ("https", "http") or not parts.netloc:
            raise ValueError("token_url must be an http(s) URL")
        key_id = key_id or hashlib.sha256(api_key.encode()).hexdigest()
        self.url = token_url
        self.transport = JsonApiTransport(
            token_url, headers={"Api-Key": api_key, "Content-Type": "application/json", "Accept": "application/json"},
            timeout=timeout, limiter=shared_limiter(("token", key_id), TOKEN_RATE_LIMIT))

    def mint(self, audience, api_version, expires_in=TOKEN_LIFETIME, clock=time.monotonic):
        """Return a :class:`Token`; its renewal time counts from when the request was sent.

        :raises DidwwTokenError: the service refused (or failed); the message never holds the key.
        """
        sent_at = clock()
        body = {"aud": audience, "scope": "full", "api_version": api_version, "expires_in": expires_in}
        try:
            document = self.transport.request("POST", "", payload=body)
        except DidwwError as exc:
            raise DidwwTokenError.from_error(exc) from None
        value = document.get("access_token")
        if not isinstance(value, str) or not value:
            raise DidwwTokenError("The token service answered without an access token", status=200)
        try:
            granted = int(document.get("expires_in") or expires_in)
        except (TypeError, ValueError):
            granted = expires_in
        granted = max(granted, 1)
        return Token(value, sent_at + granted - renewal_margin(granted), granted,
                     document.get("scope") or "full", document.get("api_version") or api_version, audience)


class DidwwApiClient(TransportClient):
    """DIDWW API v3: ``Api-Key`` auth (with an optional ``X-DIDWW-API-Version`` header) or, for
    2026-11-19, bearer tokens from ``token_url``; 20 requests/s per key; bounded retries with
    backoff on 429; one new token and one retry on a 401 with a bearer token.

    :param token_cache_key: what tells this client's tokens apart from other companies' (e.g.
        the database and the company); the URL, a hash of the key and the version are added.
    """

    def __init__(self, base_url, api_key, api_version=None, timeout=DEFAULT_TIMEOUT,
                 max_retries=4, backoff=0.5, sleep=time.sleep, token_url=None, token_cache_key=None,
                 token_cache=None, clock=time.monotonic):
        if not api_key:
            raise ValueError("an API key is required")
        self.api_version = api_version or None
        self.bearer = uses_bearer_tokens(self.api_version)
        # DIDWW counts 20 requests/s per key: every client of this process with the key shares one bucket
        key_id = hashlib.sha256(api_key.encode()).hexdigest()
        if self.bearer:
            if not token_url:
                raise ValueError(f"API version {api_version} needs the token service's URL")
            headers = {}
            self.token_service = TokenService(token_url, api_key, timeout=timeout, key_id=key_id)
            self.token_cache = token_cache if token_cache is not None else TOKENS
            self.token_key = (token_cache_key, token_url, key_id, API_AUDIENCE, self.api_version)
        else:
            headers = {"Api-Key": api_key}
            if self.api_version:
                headers["X-DIDWW-API-Version"] = self.api_version
            self.token_service = None
        self.transport = JsonApiTransport(base_url, headers=headers, timeout=timeout,
                                          limiter=shared_limiter(key_id, API_RATE_LIMIT))
        self.max_retries = max_retries
        self.backoff = backoff
        self._sleep = sleep
        self._clock = clock
        self.last_meta = {}
        self.tokens_minted = 0

    def close(self):
        result = super().close()
        if self.token_service:
            self.token_service.close()
        return result

    @property
    def scheme(self):
        return "bearer" if self.bearer else "api_key"

    # ------------------------------------------------------------------------------------------
    # Tokens (2026-11-19)
    # ------------------------------------------------------------------------------------------

    def token(self):
        """The cached token, minted when missing or due for renewal (one mint at a time per key)."""
        token = self.token_cache.get(self.token_key)
        if token is not None and self._clock() < token.renew_at:
            return token
        with self.token_cache.lock(self.token_key):
            token = self.token_cache.get(self.token_key)
            if token is None or self._clock() >= token.renew_at:
                token = self.token_service.mint(API_AUDIENCE, self.api_version, clock=self._clock)
                self.tokens_minted += 1
                self.token_cache.put(self.token_key, token)
        return token

    # ------------------------------------------------------------------------------------------
    # Requests
    # ------------------------------------------------------------------------------------------

    def request(self, method, path, payload=None, params=None, raw=False, max_bytes=None, headers=None):
        """One API call with retries on 429 (``Retry-After`` honoured, else exponential backoff)
        and, with bearer tokens, one new token and one retry on a 401."""
        renewed = False
        attempt = 0
        while True:
            extra = dict(headers or {})
            token = None
            if self.bearer:
                token = self.token()
                extra["Authorization"] = f"Bearer {token.value}"
            try:
                document = self.transport.request(method, path, payload=payload, params=params, headers=extra,
                                                  raw=raw, max_bytes=max_bytes)
            except DidwwAuthError as exc:
                if not self.bearer or renewed or exc.status != 401:
                    raise
                # a stale or revoked token: forget it, mint once, try once more
                self.token_cache.drop(self.token_key, token)
                renewed = True
                continue
            except DidwwRateLimitError as exc:
                if attempt >= self.max_retries:
                    raise
                self._sleep(exc.retry_after if exc.retry_after is not None else self.backoff * 2 ** attempt)
                attempt += 1
                continue
            if not raw:
                meta = document.get("meta")
                self.last_meta = meta if isinstance(meta, dict) else {}
            return document

    def get(self, path, params=None):
        return self.request("GET", path, params=params)

    def balance(self):
        """Return the ``balance`` resource's attributes (``total_balance``, ``credit``, ``balance``)."""
        document = self.get("/balance")
        data = document.get("data") or {}
        return dict(data.get("attributes") or {}) if isinstance(data, dict) else {}

    def check(self):
        """Read the balance; return what answered: ``api_version`` (DIDWW's ``meta.api_version``,
        or ``None`` when it said nothing), ``scheme`` (``bearer`` / ``api_key``) and, with a
        token, its ``scope`` and ``expires_in``."""
        self.balance()
        result = {"api_version": self.last_meta.get("api_version"), "scheme": self.scheme}
        if self.bearer:
            token = self.token_cache.get(self.token_key)
            if token is not None:
                result.update(scope=token.scope, expires_in=token.expires_in, token_api_version=token.api_version)
        return result

    def dids(self):
        """Return every DID of the account (all pages), each a dict with ``id``, ``number``,
        ``description`` and its DID group's ``features``. A DID carries no country: callers derive
        it from the number."""
        result = []
        for page in range(1, MAX_PAGES + 1):
            document = self.get("/dids", params={
                "include": "did_group",
                "page[number]": page,
                "page[size]": PAGE_SIZE,
            })
            groups = {
                (item.get("type"), item.get("id")): item.get("attributes") or {}
                for item in document.get("included") or [] if isinstance(item, dict)
            }
            data = document.get("data") or []
            for did in data:
                attributes = did.get("attributes") or {}
                relation = ((did.get("relationships") or {}).get("did_group") or {}).get("data") or {}
                group = groups.get((relation.get("type"), relation.get("id")), {})
                result.append({
                    "id": did.get("id"),
                    "number": attributes.get("number") or "",
                    "description": attributes.get("description") or "",
                    "features": list(group.get("features") or []),
                })
            meta = document.get("meta") or {}
            total = meta.get("total_records")
            links = document.get("links") or {}
            if not data or len(data) < PAGE_SIZE or (total is not None and len(result) >= int(total)) \
                    or (links and not links.get("next")):
                break
        return result

    @staticmethod
    def can_text(did):
        return any(feature in SMS_FEATURES for feature in did.get("features") or [])

    # ------------------------------------------------------------------------------------------
    # Exports (call records)
    # ------------------------------------------------------------------------------------------

    @staticmethod
    def _export(document):
        data = document.get("data")
        if not isinstance(data, dict) or not data.get("id"):
            raise DidwwServerError("DIDWW answered an export without an id")
        attributes = data.get("attributes") if isinstance(data.get("attributes"), dict) else {}
        return {"id": str(data["id"]), "status": str(attributes.get("status") or "").lower(),
                "url": attributes.get("url") or None, "export_type": attributes.get("export_type"),
                "filters": attributes.get("filters") or {}, "created_at": attributes.get("created_at")}

    def create_export(self, export_type, date_from, date_to, callback_url=None, external_reference_id=None):
        """``POST /exports``; ``date_from``/``date_to``: naive UTC datetimes. Return the export as
        :meth:`export` does."""
        attributes = {"export_type": export_type, "filters": {
            "from": date_from.strftime("%Y-%m-%d %H:%M:%S"), "to": date_to.strftime("%Y-%m-%d %H:%M:%S")}}
        if callback_url:
            attributes.update(callback_url=callback_url, callback_method="post")
        if external_reference_id:
            attributes["external_reference_id"] = external_reference_id[:100]
        return self._export(self.request("POST", "/exports", payload={
            "data": {"type": "exports", "attributes": attributes}}))

    def export(self, export_id):
        """``GET /exports/{id}``: ``{"id", "status", "url", "export_type", "filters", "created_at"}``
        with ``status`` lower case (``pending``, ``processing``, ``completed``)."""
        return self._export(self.get(f"/exports/{export_id}"))

    def download_export(self, url):
        """The bytes of a completed export's file (``.csv.gz``). Only a URL under this client's
        API base URL is fetched: the credential never leaves for another host."""
        base = self.transport.base_url
        if not url or not url.startswith(base + "/"):
            raise DidwwBadRequestError("DIDWW gave an export file address outside its API")
        return self.request("GET", url[len(base):], raw=True, max_bytes=MAX_EXPORT_BYTES,
                            headers={"Accept": "application/gzip, application/octet-stream, text/csv, */*"})

