"""Client of DIDWW's Outbound SMS API (HTTP OUT trunk), plain Python with no ORM.

Protocol: ``POST {base_url}/outbound_messages`` with a JSON:API document, basic auth with the
trunk's credentials; ``destination`` and ``source`` are E.164 digits without ``+``. A 201
answers the message id that DIDWW's status callbacks carry later.
"""

import re
import threading
from concurrent.futures import ThreadPoolExecutor

from requests.auth import HTTPBasicAuth

from .didww_http import (
    DEFAULT_TIMEOUT,
    DidwwBadRequestError,
    DidwwError,
    DidwwServerError,
    JsonApiTransport,
    TransportClient,
)

DEFAULT_SMS_API_URL = "https://sms-out.didww.com"
SMS_API_URLS = (
    "https://sms-out.didww.com",
    "https://us.sms-out.didww.com",
    "https://eu.sms-out.didww.com",
)
_DIGITS = re.compile(r"^[1-9][0-9]{5,14}$")


def e164_digits(number):
    """Return ``number`` as DIDWW wants it (E.164 digits, no ``+``), or raise ``ValueError``."""
    digits = re.sub(r"[\s\-().]", "", number or "")
    if digits.startswith("+"):
        digits = digits[1:]
    elif digits.startswith("00"):
        digits = digits[2:]
    if not _DIGITS.match(digits):
        raise ValueError(f"{number!r} is not an international (E.164) number")
    return digits


class DidwwSmsClient(TransportClient):
    """Send SMS through one DIDWW HTTP OUT trunk.

    :param rate: requests per second this client allows itself (DIDWW does not publish the
        Outbound SMS API's limit; 429 answers are reported as transient errors).
    :param max_workers: how many requests :meth:`send_many` keeps in flight at once.
    """

    def __init__(self, base_url, username, password, rate=20, max_workers=4, timeout=DEFAULT_TIMEOUT):
        if not username or not password:
            raise ValueError("the HTTP OUT trunk username and password are required")
        self.max_workers = max(1, int(max_workers))
        self._pool = None
        self._pool_lock = threading.Lock()
        self.transport = JsonApiTransport(
            base_url or DEFAULT_SMS_API_URL, auth=HTTPBasicAuth(username, password),
            rate=rate, timeout=timeout, pool_size=self.max_workers,
        )

    @staticmethod
    def outbound_message_document(source, destination, content):
        return {
            "data": {
                "type": "outbound_messages",
                "attributes": {
                    "destination": e164_digits(destination),
                    "source": e164_digits(source),
                    "content": content,
                },
            }
        }

    def send(self, source, destination, content):
        """Send one SMS; return DIDWW's message id.

        :raises DidwwError: see :mod:`didww_http`; a number that is not E.164 raises
            :class:`DidwwBadRequestError` before anything is sent.
        """
        try:
            document = self.outbound_message_document(source, destination, content)
        except ValueError as exc:
            raise DidwwBadRequestError(str(exc)) from None
        answer = self.transport.request("POST", "/outbound_messages", document)
        message_id = (answer.get("data") or {}).get("id") if isinstance(answer.get("data"), dict) else None
        if not message_id or not isinstance(message_id, str):
            raise DidwwServerError("DIDWW accepted the SMS but answered no message id")
        return message_id

    def check_credentials(self):
        """Make an authenticated call that cannot send anything: an outbound message with no
        attributes. DIDWW checks the trunk's allowed IPs and credentials (401) before the document
        (400, a missing attribute), so a 400 means the credentials were accepted.

        :raises DidwwAuthError: credentials or IP address refused; other :class:`DidwwError` as
            :meth:`send` (nothing reached, another answer).
        """
        try:
            self.transport.request("POST", "/outbound_messages",
                                   {"data": {"type": "outbound_messages", "attributes": {}}})
        except DidwwBadRequestError:
            return True
        raise DidwwServerError("DIDWW accepted an outbound message without destination, source or content")

    def _send_result(self, source, destination, content):
        try:
            return self.send(source, destination, content), None
        except DidwwError as exc:
            return None, exc

    def submit(self, source, destination, content):
        """Start sending one SMS on the client's pool of ``max_workers`` threads (kept alive, with
        their keep-alive connections, until :meth:`close`).

        :return: a ``Future`` of ``(message_id or None, DidwwError or None)``; it never raises.
            Worker threads only do HTTP: callers keep their database work in their own thread.
        """
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=self.max_workers, thread_name_prefix="didww-sms")
        return self._pool.submit(self._send_result, source, destination, content)

    def send_many(self, messages):
        """Send several SMS, ``max_workers`` at a time (see :meth:`submit`).

        :param messages: iterable of ``(key, source, destination, content)``.
        :return: list of ``(key, message_id or None, DidwwError or None)`` in input order.
        """
        messages = list(messages)
        if len(messages) <= 1 or self.max_workers == 1:
            return [(key, *self._send_result(source, destination, content))
                    for key, source, destination, content in messages]
        futures = [(key, self.submit(source, destination, content))
                   for key, source, destination, content in messages]
        return [(key, *future.result()) for key, future in futures]

    def close(self):
        with self._pool_lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)
        return super().close()
