"""The HTTP choke point shared by DIDWW's JSON:API services (plain Python, no ORM).

Every request DIDWW receives from this addon goes through :meth:`JsonApiTransport.request`:
one pooled ``requests.Session`` per thread, a timeout on every call, a client-side rate
limit, and errors turned into typed exceptions whose messages never carry credentials.
"""

import socket
import ssl
import threading
import time

import requests
from requests.adapters import HTTPAdapter

JSONAPI_CONTENT_TYPE = "application/vnd.api+json"
DEFAULT_TIMEOUT = 20.0  # seconds, for connecting and for each read


class DidwwError(Exception):
    """A DIDWW request failed. ``transient`` errors are worth retrying later."""

    transient = False

    def __init__(self, message, status=None, detail=None, retry_after=None, code=None):
        super().__init__(message)
        self.status = status
        self.detail = detail
        self.retry_after = retry_after
        self.code = code  # OAuth-style ``error`` of the token service (``invalid_client``...), or None


class DidwwBadRequestError(DidwwError):
    """400, 415, 422: DIDWW refuses the request as it is; sending it again will not help."""


class DidwwAuthError(DidwwError):
    """401/403: wrong credentials or a source IP that DIDWW does not allow."""


class DidwwNotFoundError(DidwwError):
    """404: the resource or endpoint does not exist (often a wrong base URL)."""


class DidwwRateLimitError(DidwwError):
    """429: too many requests."""

    transient = True


class DidwwServerError(DidwwError):
    """5xx: DIDWW failed."""

    transient = True


class DidwwNetworkError(DidwwError):
    """DIDWW was not reached, or stopped answering. ``kind`` says how:

    * ``"timeout"``: no answer in time; ``"dropped"``: the connection broke mid-request;
    * ``"refused"``: nothing listens at that address and port (a wrong URL, or DIDWW down);
    * ``"dns"``: the host name does not resolve; ``"tls"``: the TLS handshake or certificate failed.

    ``dns`` and ``tls`` are not worth retrying (``transient`` is false): the URL or the machine's
    network set-up must change first. ``refused`` is transient once, but refused again it points
    at the URL too (callers decide).
    """

    transient = True
    MESSAGES = {
        "timeout": "DIDWW did not answer in time",
        "dropped": "DIDWW could not be reached: the connection was dropped before an answer",
        "refused": "DIDWW could not be reached: the connection was refused",
        "dns": "DIDWW could not be reached: the host name of the API URL does not resolve",
        "tls": "DIDWW could not be reached: the secure (TLS) connection failed",
    }

    def __init__(self, kind, detail=None):
        super().__init__(self.MESSAGES[kind] + (f" ({detail})" if detail else ""), detail=detail)
        self.kind = kind
        self.transient = kind not in ("dns", "tls")


def network_error_kind(exc):
    """Classify a ``requests`` exception raised before any answer (see :class:`DidwwNetworkError`)."""
    if isinstance(exc, requests.Timeout):
        return "timeout"
    if isinstance(exc, requests.exceptions.SSLError):
        return "tls"
    seen, cause = set(), exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, socket.gaierror) or type(cause).__name__ == "NameResolutionError":
            return "dns"
        if isinstance(cause, ConnectionRefusedError):
            return "refused"
        if isinstance(cause, ssl.SSLError):
            return "tls"
        if isinstance(cause, (socket.timeout, TimeoutError)):
            return "timeout"
        cause = cause.__cause__ or cause.__context__ or next(
            (arg for arg in getattr(cause, "args", ()) if isinstance(arg, BaseException)), None)
    return "dropped"


class RateLimiter:
    """A thread-safe token bucket: at most ``rate`` acquisitions per second, bursts of ``burst``."""

    def __init__(self, rate, burst=None, clock=time.monotonic, sleep=time.sleep):
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = float(rate)
        self.burst = float(burst or rate)
        self._tokens = self.burst
        self._clock = clock
        self._sleep = sleep
        self._last = clock()
        self._lock = threading.Lock()

    def acquire(self):
        """Wait for a token; return the seconds waited."""
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
                self._last = now
                if self._tokens >= 1:
                    self._tokens -= 1
                    return waited
                delay = (1 - self._tokens) / self.rate
            self._sleep(delay)
            waited += delay


_shared_limiters = {}
_shared_limiters_lock = threading.Lock()


def shared_limiter(key, rate):
    """The process-wide :class:`RateLimiter` of ``key`` (e.g. a hash of an API key)."""
    with _shared_limiters_lock:
        limiter = _shared_limiters.get(key)
        if limiter is None or limiter.rate != float(rate):
            limiter = _shared_limiters[key] = RateLimiter(rate)
        return limiter


def error_detail(response):
    """Return the human part of a JSON:API error document (``errors[].detail``) or of an OAuth-style
    one (``error_description``, the token service's), or ``""``."""
    try:
        document = response.json()
    except ValueError:
        return ""
    if isinstance(document, dict) and isinstance(document.get("error"), str):
        description = document.get("error_description")
        return (description if isinstance(description, str) and description else document["error"])[:500]
    errors = document.get("errors") if isinstance(document, dict) else None
    if not isinstance(errors, list):
        return ""
    details = []
    for error in errors:
        if isinstance(error, dict):
            text = error.get("detail") or error.get("title")
            if isinstance(text, str) and text not in details:
                details.append(text)
    return "; ".join(details)[:500]


def error_code(response):
    """The OAuth-style ``error`` code of an error answer (the token service's), or ``None``."""
    try:
        document = response.json()
    except ValueError:
        return None
    code = document.get("error") if isinstance(document, dict) else None
    return code if isinstance(code, str) else None


def _retry_after(response):
    value = response.headers.get("Retry-After", "")
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


ERROR_BY_STATUS = {
    400: DidwwBadRequestError,
    401: DidwwAuthError,
    403: DidwwAuthError,
    404: DidwwNotFoundError,
    415: DidwwBadRequestError,
    422: DidwwBadRequestError,
    429: DidwwRateLimitError,
}


class TransportClient:
    """Base of the DIDWW clients: they own a :class:`JsonApiTransport` and close it on exit."""

    transport = None

    def close(self):
        self.transport.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


class JsonApiTransport:
    """Pooled, rate-limited JSON:API over HTTPS.

    :param base_url: e.g. ``https://sms-out.didww.com``; paths are appended to it.
    :param auth: a ``requests`` auth object or ``None``.
    :param headers: extra headers sent with every request (e.g. ``Api-Key``).
    :param rate: requests per second allowed from this transport (shared by its threads).
    :param limiter: a :class:`RateLimiter` to share with other transports (e.g. per API key).
    :param timeout: seconds allowed to connect and for each read, on every call.
    :param pool_size: keep-alive connections kept per host.
    """

    def __init__(self, base_url, auth=None, headers=None, rate=20, timeout=DEFAULT_TIMEOUT, pool_size=8,
                 limiter=None):
        if not base_url or not base_url.startswith(("https://", "http://")):
            raise ValueError("base_url must be an http(s) URL")
        self.base_url = base_url.rstrip("/")
        self.auth = auth
        self.headers = {"Content-Type": JSONAPI_CONTENT_TYPE, "Accept": JSONAPI_CONTENT_TYPE, **(headers or {})}
        self.timeout = timeout
        self.pool_size = pool_size
        self.limiter = limiter or RateLimiter(rate)
        self._local = threading.local()
        self._sessions = []
        self._sessions_lock = threading.Lock()

    def _session(self):
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            adapter = HTTPAdapter(pool_connections=1, pool_maxsize=self.pool_size, max_retries=0)
            session.mount("https://", adapter)
            session.mount("http://", adapter)
            session.trust_env = False  # never route DIDWW traffic through an environment proxy
            self._local.session = session
            with self._sessions_lock:
                self._sessions.append(session)
        return session

    def close(self):
        with self._sessions_lock:
            for session in self._sessions:
                session.close()
            self._sessions.clear()
        self._local = threading.local()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def request(self, method, path, payload=None, params=None, headers=None, raw=False, max_bytes=None):
        """Send one request; return the decoded JSON document (``{}`` for an empty body), or with
        ``raw`` the body's bytes (at most ``max_bytes``). ``headers`` are added to (or replace) the
        transport's for this request only (e.g. a bearer token).

        :raises DidwwError: a subclass saying what went wrong; never the credentials.
        """
        self.limiter.acquire()
        url = self.base_url + path
        try:
            response = self._session().request(
                method, url, json=payload, params=params, auth=self.auth,
                headers={**self.headers, **headers} if headers else self.headers, timeout=self.timeout,
                allow_redirects=False, stream=raw,
            )
        except requests.RequestException as exc:
            raise DidwwNetworkError(network_error_kind(exc), type(exc).__name__) from None
        status = response.status_code
        if raw and 200 <= status < 300:
            return self._read_raw(response, max_bytes)
        if 200 <= status < 300:
            if not response.content:
                return {}
            try:
                document = response.json()
            except ValueError:
                raise DidwwServerError(f"DIDWW answered {status} with a body that is not JSON", status=status) from None
            if not isinstance(document, dict):
                raise DidwwServerError(f"DIDWW answered {status} with an unexpected document", status=status)
            return document
        detail = error_detail(response)
        error_class = ERROR_BY_STATUS.get(status) or (DidwwServerError if status >= 500 else DidwwError)
        message = f"DIDWW answered {status}" + (f": {detail}" if detail else "")
        raise error_class(message, status=status, detail=detail, retry_after=_retry_after(response),
                          code=error_code(response))

    @staticmethod
    def _read_raw(response, max_bytes):
        chunks, size = [], 0
        try:
            for chunk in response.iter_content(chunk_size=1 << 16):
                size += len(chunk)
                if max_bytes and size > max_bytes:
                    response.close()
                    raise DidwwServerError(f"DIDWW sent a file larger than {max_bytes} bytes",
                                           status=response.status_code)
                chunks.append(chunk)
        except requests.RequestException as exc:
            raise DidwwNetworkError(network_error_kind(exc), type(exc).__name__) from None
        return b"".join(chunks)
