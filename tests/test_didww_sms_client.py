"""The Outbound SMS API client (tools/didww_sms_client.py) against a fake DIDWW on 127.0.0.1."""

import base64
import json
import socket

import requests
import urllib3

from odoo.tests import tagged

from ..tools import didww_http
from ..tools.didww_sms_client import DidwwSmsClient, e164_digits
from .common import DidwwToolsCase


@tagged("post_install", "-at_install", "didww_connector")
class TestDidwwSmsClient(DidwwToolsCase):

    def client(self, **kwargs):
        return DidwwSmsClient(self.fake.url, self.fake.username, self.fake.password, **kwargs)

    def test_a_send_is_exactly_the_documented_request(self):
        with self.client() as client:
            message_id = client.send("+37041123456", "+370 416 54321", "Hello World!")
        request = self.fake.requests[-1]
        self.assertEqual((request["method"], request["path"]), ("POST", "/outbound_messages"))
        self.assertEqual(request["headers"]["Content-Type"], "application/vnd.api+json")
        self.assertEqual(request["headers"]["Authorization"],
                         "Basic " + base64.b64encode(b"trunk-user:trunk-pass").decode())
        self.assertEqual(request["json"], {"data": {"type": "outbound_messages", "attributes": {
            "destination": "37041654321", "source": "37041123456", "content": "Hello World!"}}})
        self.assertEqual(self.fake.sent[0]["id"], message_id)

    def test_unicode_content_travels_as_utf8(self):
        with self.client() as client:
            client.send("+37041123456", "+37041654321", 'Ačiū "quoted" \\ 🎉')
        body = json.loads(self.fake.requests[-1]["body"].decode("utf-8"))
        self.assertEqual(body["data"]["attributes"]["content"], 'Ačiū "quoted" \\ 🎉')

    def test_error_statuses_are_typed_errors_that_say_whether_to_retry(self):
        for status, error_class, transient in [
            (400, didww_http.DidwwBadRequestError, False),
            (401, didww_http.DidwwAuthError, False),
            (415, didww_http.DidwwBadRequestError, False),
            (429, didww_http.DidwwRateLimitError, True),
            (500, didww_http.DidwwServerError, True),
            (503, didww_http.DidwwServerError, True),
        ]:
            with self.subTest(status=status):
                self.fake.script("/outbound_messages", status=status,
                                 body={"errors": [{"title": "T", "detail": f"detail {status}", "status": str(status)}]})
                with self.client() as client, self.assertRaises(error_class) as caught:
                    client.send("+37041123456", "+37041654321", "x")
                self.assertIs(caught.exception.transient, transient)
                self.assertEqual(caught.exception.status, status)
                self.assertIn(f"detail {status}", str(caught.exception))

    def test_wrong_credentials_are_a_401_without_the_password_in_the_message(self):
        client = DidwwSmsClient(self.fake.url, "trunk-user", "wrong-secret-password")
        with client, self.assertRaises(didww_http.DidwwAuthError) as caught:
            client.send("+37041123456", "+37041654321", "x")
        self.assertNotIn("wrong-secret-password", str(caught.exception))
        self.assertIn("Authorization failed", str(caught.exception))

    def test_a_timeout_is_transient(self):
        self.fake.script("/outbound_messages", delay=1.0, status=201)
        client = self.client(timeout=0.2)
        with client, self.assertRaises(didww_http.DidwwNetworkError) as caught:
            client.send("+37041123456", "+37041654321", "x")
        self.assertTrue(caught.exception.transient)

    def test_a_dropped_connection_is_transient(self):
        self.fake.script("/outbound_messages", drop=True)
        with self.client() as client, self.assertRaises(didww_http.DidwwNetworkError):
            client.send("+37041123456", "+37041654321", "x")

    def test_a_refused_connection_is_transient(self):
        client = DidwwSmsClient("http://127.0.0.1:9", "u", "p", timeout=0.5)
        with client, self.assertRaises(didww_http.DidwwNetworkError):
            client.send("+37041123456", "+37041654321", "x")

    def test_a_201_without_id_is_a_server_error(self):
        self.fake.script("/outbound_messages", status=201, body={"data": {"type": "outbound_messages"}})
        with self.client() as client, self.assertRaises(didww_http.DidwwServerError):
            client.send("+37041123456", "+37041654321", "x")

    def test_an_invalid_number_is_refused_before_sending(self):
        with self.client() as client, self.assertRaises(didww_http.DidwwBadRequestError):
            client.send("+37041123456", "not a number", "x")
        self.assertFalse(self.fake.requests)

    def test_send_many_keeps_order_runs_concurrently_and_reports_each_result(self):
        self.fake.response_delay = 0.05
        self.fake.script("/outbound_messages", status=500, body={"errors": [{"detail": "boom"}]})
        messages = [(i, "+37041123456", f"+3704165{i:04d}", f"m{i}") for i in range(12)]
        with self.client(max_workers=4, rate=1000) as client:
            results = client.send_many(messages)
        self.assertEqual([key for key, _id, _err in results], list(range(12)))
        self.assertEqual(sum(1 for _k, message_id, _e in results if message_id), 11)
        self.assertEqual(sum(1 for _k, _m, error in results if error and error.transient), 1)
        self.assertTrue(2 <= self.fake.max_in_flight <= 4, self.fake.max_in_flight)

    def test_e164_digits_drop_the_plus_and_the_international_prefix(self):
        self.assertEqual(e164_digits("+1 (917) 905-6077"), "19179056077")
        self.assertEqual(e164_digits("0037041654321"), "37041654321")
        with self.assertRaises(ValueError):
            e164_digits("+0123")

    def test_the_rate_limiter_spaces_requests_after_the_burst(self):
        now = [0.0]
        slept = []

        def sleep(seconds):
            slept.append(seconds)
            now[0] += seconds

        limiter = didww_http.RateLimiter(rate=10, burst=2, clock=lambda: now[0], sleep=sleep)
        for _ in range(6):
            limiter.acquire()
        # 2 from the burst, then one every 0.1 s
        self.assertAlmostEqual(sum(slept), 0.4)

    def test_network_errors_say_what_happened(self):
        refused = DidwwSmsClient("http://127.0.0.1:9", "u", "p", timeout=0.5)
        with refused, self.assertRaises(didww_http.DidwwNetworkError) as caught:
            refused.send("+37041123456", "+37041654321", "x")
        self.assertEqual((caught.exception.kind, caught.exception.transient), ("refused", True))
        self.assertIn("refused", str(caught.exception))
        # a host that does not resolve, as requests reports it (no lookup leaves this machine in tests)
        gave_up = urllib3.exceptions.MaxRetryError(None, "/")
        gave_up.__cause__ = socket.gaierror(-2, "Name or service not known")  # as urllib3 raises it
        unresolved = requests.exceptions.ConnectionError(gave_up)
        self.assertEqual(didww_http.network_error_kind(unresolved), "dns")
        self.assertFalse(didww_http.DidwwNetworkError("dns").transient)

    def test_tls_failure_is_not_transient(self):
        client = DidwwSmsClient(self.fake.url.replace("http://", "https://"), self.fake.username, self.fake.password,
                                timeout=2)
        with client, self.assertRaises(didww_http.DidwwNetworkError) as caught:
            client.send("+37041123456", "+37041654321", "x")
        self.assertEqual((caught.exception.kind, caught.exception.transient), ("tls", False))

    def test_timeout_and_dropped_connection_kinds(self):
        self.fake.script("/outbound_messages", delay=1.0, status=201)
        self.fake.script("/outbound_messages", drop=True)
        kinds = []
        with self.client(timeout=0.3) as client:
            for _ in range(2):
                with self.assertRaises(didww_http.DidwwNetworkError) as caught:
                    client.send("+37041123456", "+37041654321", "x")
                kinds.append(caught.exception.kind)
        self.assertEqual(kinds, ["timeout", "dropped"])

    def test_submit_keeps_requests_in_flight_on_a_persistent_pool(self):
        self.fake.response_delay = 0.05
        with self.client(rate=1000, max_workers=8) as client:
            futures = [client.submit("+37041123456", f"+3706{i:07d}", "x") for i in range(16)]
            results = [future.result() for future in futures]
        self.assertTrue(all(message_id and error is None for message_id, error in results))
        self.assertEqual(self.fake.max_in_flight, 8)
