"""Client of DIDWW API v3 for account data (plain Python, no ORM).

A thin client of ours on ``requests`` rather than the official ``didww`` SDK: the SDK requires
``cryptography>=41`` (Odoo 18 pins 3.4.8 on Python < 3.12), sends a fixed API version, and has
no timeout, pagination or 429 handling. See README.rst.
"""

import hashlib
import time

from .didww_http import DEFAULT_TIMEOUT, DidwwRateLimitError, JsonApiTransport, TransportClient, shared_limiter

API_URLS = {
    "production": "https://api.didww.com/v3",
    "sandbox": "https://sandbox-api.didww.com/v3",
}
API_RATE_LIMIT = 20  # requests per second and per key, DIDWW's published limit
PAGE_SIZE = 100
MAX_PAGES = 1000
SMS_FEATURES = ("sms_in", "sms_out", "p2p", "a2p")


class DidwwApiClient(TransportClient):
    """DIDWW API v3 with ``Api-Key`` auth, an optional ``X-DIDWW-API-Version`` header, 20 requests/s,
    and bounded retries with backoff on 429."""

    def __init__(self, base_url, api_key, api_version=None, timeout=DEFAULT_TIMEOUT,
                 max_retries=4, backoff=0.5, sleep=time.sleep):
        if not api_key:
            raise ValueError("an API key is required")
        headers = {"Api-Key": api_key}
        if api_version:
            headers["X-DIDWW-API-Version"] = api_version
        # DIDWW counts 20 requests/s per key: every client of this process with the key shares one bucket
        key_id = hashlib.sha256(api_key.encode()).hexdigest()
        self.transport = JsonApiTransport(base_url, headers=headers, timeout=timeout,
                                          limiter=shared_limiter(key_id, API_RATE_LIMIT))
        self.max_retries = max_retries
        self.backoff = backoff
        self._sleep = sleep

    def get(self, path, params=None):
        """GET with retries on 429 (``Retry-After`` honoured, else exponential backoff)."""
        for attempt in range(self.max_retries + 1):
            try:
                return self.transport.request("GET", path, params=params)
            except DidwwRateLimitError as exc:
                if attempt == self.max_retries:
                    raise
                self._sleep(exc.retry_after if exc.retry_after is not None else self.backoff * 2 ** attempt)
        raise AssertionError("unreachable")

    def balance(self):
        """Return the ``balance`` resource's attributes (``total_balance``, ``credit``, ``balance``)."""
        document = self.get("/balance")
        data = document.get("data") or {}
        return dict(data.get("attributes") or {}) if isinstance(data, dict) else {}

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
