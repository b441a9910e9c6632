"""The API v3 client (tools/didww_api_client.py) against a fake DIDWW on 127.0.0.1."""

from odoo.tests import tagged

from ..tools.didww_api_client import API_URLS, DidwwApiClient
from ..tools.didww_http import DidwwAuthError, DidwwRateLimitError
from .common import DidwwToolsCase


def make_dids(count):
    return [{"id": f"did-{i}", "number": f"1917905{i:04d}", "description": f"DID {i}",
             "features": ["voice_in", "sms_in"] if i % 2 == 0 else ["voice_in"]} for i in range(count)]


@tagged("post_install", "-at_install", "didww_connector")
class TestDidwwApiClient(DidwwToolsCase):

    def client(self, api_key=None, **kwargs):
        return DidwwApiClient(self.fake.url + "/v3", api_key or self.fake.api_key, **kwargs)

    def test_production_and_sandbox_have_didww_s_urls(self):
        self.assertEqual(API_URLS, {"production": "https://api.didww.com/v3",
                                    "sandbox": "https://sandbox-api.didww.com/v3"})

    def test_dids_reads_all_pages_with_did_groups_and_headers(self):
        self.fake.dids = make_dids(250)
        with self.client(api_version="2026-04-16") as client:
            dids = client.dids()
        self.assertEqual(len(dids), 250)
        self.assertEqual(sum(1 for did in dids if client.can_text(did)), 125)
        self.assertEqual(dids[0]["features"], ["voice_in", "sms_in"])
        pages = [r for r in self.fake.requests if r["path"] == "/v3/dids"]
        self.assertEqual(len(pages), 3)
        self.assertTrue(all(r["headers"]["X-DIDWW-API-Version"] == "2026-04-16" for r in pages))
        self.assertTrue(all(r["headers"]["Api-Key"] == self.fake.api_key for r in pages))
        self.assertEqual(pages[0]["query"]["include"], ["did_group"])

    def test_no_version_header_is_sent_when_none_is_set(self):
        with self.client() as client:
            client.balance()
        self.assertNotIn("X-DIDWW-API-Version", self.fake.requests[-1]["headers"])

    def test_balance_is_read(self):
        with self.client() as client:
            self.assertEqual(client.balance()["total_balance"], "12.50")

    def test_a_wrong_key_is_an_auth_error(self):
        with self.client("bad-key") as client, self.assertRaises(DidwwAuthError):
            client.balance()

    def test_429_is_retried_with_backoff_then_gives_up(self):
        slept = []
        self.fake.script("/v3/balance", status=429, body={"errors": [{"status": "429", "detail": "Too Many Requests"}]},
                         times=2)
        with self.client(sleep=slept.append, backoff=0.5) as client:
            self.assertEqual(client.balance()["balance"], "12.50")
        self.assertEqual(slept, [0.5, 1.0])
        self.fake.script("/v3/balance", status=429, body={"errors": [{"detail": "Too Many Requests"}]}, times=5,
                         headers={"Retry-After": "2"})
        slept.clear()
        with self.client(sleep=slept.append, max_retries=2) as client, self.assertRaises(DidwwRateLimitError):
            client.balance()
        self.assertEqual(slept, [2.0, 2.0])

    def test_clients_of_one_key_share_the_20_per_second_budget(self):
        first, second, other = self.client(), self.client(), self.client("another-key")
        self.assertIs(first.transport.limiter, second.transport.limiter)
        self.assertIsNot(first.transport.limiter, other.transport.limiter)
        self.assertEqual(first.transport.limiter.rate, 20)
