"""API v3 version 2026-11-19: bearer tokens of the token service (tools/didww_api_client.py)
against the fake DIDWW on 127.0.0.1."""

from odoo.tests import tagged

from ..tools.didww_api_client import (
    TOKEN_URLS,
    DidwwApiClient,
    DidwwTokenError,
    TokenCache,
    renewal_margin,
)
from ..tools.didww_http import DidwwAuthError, DidwwBadRequestError
from .common import DidwwToolsCase
from .test_didww_api_client import make_dids


@tagged("post_install", "-at_install", "didww_connector")
class TestDidwwApiTokens(DidwwToolsCase):

    def setUp(self):
        super().setUp()
        self.fake.account_version = "2026-11-19"
        self.cache = TokenCache()

    def client(self, api_key=None, version="2026-11-19", cache=None, **kwargs):
        return DidwwApiClient(self.fake.url + "/v3", api_key or self.fake.api_key, api_version=version,
                              token_url=self.fake.url + "/token", token_cache_key=("db", 1),
                              token_cache=cache if cache is not None else self.cache, **kwargs)

    def api_requests(self, path=None):
        return [r for r in self.fake.requests if r["path"].startswith(path or "/v3/")]

    def assert_key_only_sent_to_the_token_service(self):
        for request in self.fake.requests:
            if request["path"] != "/token":
                self.assertNotIn("Api-Key", request["headers"], request["path"])
                self.assertNotIn(self.fake.api_key, json_dump(request))

    def test_token_urls_are_didww_s(self):
        self.assertEqual(TOKEN_URLS, {"production": "https://auth.didww.com/token",
                                      "sandbox": "https://auth-sandbox.didww.com/token"})

    def test_a_token_is_minted_for_the_api_audience_and_version_then_sent_as_bearer(self):
        with self.client() as client:
            self.assertEqual(client.balance()["balance"], "12.50")
            self.assertEqual(client.check()["api_version"], "2026-11-19")
        (mint,) = [r for r in self.fake.requests if r["path"] == "/token"]
        self.assertEqual(mint["method"], "POST")
        self.assertEqual(mint["headers"]["Api-Key"], self.fake.api_key)
        self.assertEqual(mint["headers"]["Content-Type"], "application/json")
        self.assertEqual(mint["json"], {"aud": "api.didww.com", "scope": "full", "api_version": "2026-11-19",
                                        "expires_in": 900})
        token = self.fake.minted[0]["token"]
        for request in self.api_requests():
            self.assertEqual(request["headers"]["Authorization"], f"Bearer {token}")
            self.assertNotIn("X-DIDWW-API-Version", request["headers"])
        self.assert_key_only_sent_to_the_token_service()
        self.assertEqual(len(self.fake.minted), 1, "the token is reused while it is fresh")

    def test_clients_of_a_company_share_its_token_other_companies_do_not(self):
        with self.client() as client:
            client.balance()
        with self.client() as client:
            client.balance()
        self.assertEqual(len(self.fake.minted), 1)
        other = DidwwApiClient(self.fake.url + "/v3", self.fake.api_key, api_version="2026-11-19",
                               token_url=self.fake.url + "/token", token_cache_key=("db", 2), token_cache=self.cache)
        with other:
            other.balance()
        self.assertEqual(len(self.fake.minted), 2)

    def test_token_expiring_mid_import_is_minted_again_before_it_expires(self):
        now = [1000.0]

        def tick(path):
            if path.startswith("/v3/"):
                now[0] += 400  # each page takes DIDWW's 400 s (of a 900 s token)

        self.fake.clock = lambda: now[0]
        self.fake.fault = tick
        self.fake.dids = make_dids(250)
        with self.client(clock=lambda: now[0]) as client:
            self.assertEqual(len(client.dids()), 250)
        pages = self.api_requests("/v3/dids")
        self.assertEqual(len(pages), 3, "no page was refused and asked again")
        self.assertEqual(len(self.fake.minted), 2, "a new token before page 3, not a 401")
        self.assertEqual(pages[2]["headers"]["Authorization"], f"Bearer {self.fake.minted[1]['token']}")
        self.assertEqual(renewal_margin(900), 180)
        self.assertEqual(renewal_margin(60), 30)

    def test_a_401_on_a_stale_token_mints_once_and_retries_once(self):
        with self.client() as client:
            client.balance()
            self.fake.revoke_tokens()  # e.g. DIDWW forgot it, or the clocks disagree
            self.assertEqual(client.balance()["balance"], "12.50")
        self.assertEqual(len(self.fake.minted), 2)
        self.assertEqual(len(self.api_requests("/v3/balance")), 3)
        # refused again with a fresh token: stop, do not loop
        self.fake.script("/v3/balance", status=401, body={"errors": [{"detail": "Unauthorized"}]}, times=5)
        with self.client() as client, self.assertRaises(DidwwAuthError):
            client.balance()
        self.assertEqual(len(self.fake.minted), 3)
        self.assertEqual(len(self.api_requests("/v3/balance")), 5)

    def test_a_refused_key_is_a_token_error_and_nothing_reaches_the_api(self):
        with self.client("WRONG-KEY") as client, self.assertRaises(DidwwTokenError) as caught:
            client.balance()
        self.assertEqual((caught.exception.status, caught.exception.code), (401, "invalid_client"))
        self.assertNotIn("WRONG-KEY", str(caught.exception))
        self.assertEqual(self.api_requests(), [])

    def test_429_of_the_token_service_carries_retry_after(self):
        self.fake.script("/token", status=429, headers={"Retry-After": "30"},
                         body={"error": "rate_limit_exceeded", "error_description": "Too many token requests"})
        with self.client() as client, self.assertRaises(DidwwTokenError) as caught:
            client.balance()
        self.assertEqual((caught.exception.status, caught.exception.retry_after, caught.exception.code),
                         (429, 30.0, "rate_limit_exceeded"))
        self.assertEqual(self.api_requests(), [])
        with self.client() as client:  # once the service lets us, it works
            client.balance()

    def test_400_of_the_token_service(self):
        self.fake.script("/token", status=400, body={"error": "invalid_request", "error_description": "aud"})
        with self.client() as client, self.assertRaises(DidwwTokenError) as caught:
            client.balance()
        self.assertEqual((caught.exception.status, caught.exception.code), (400, "invalid_request"))

    def test_a_token_without_access_token_is_an_error(self):
        self.fake.script("/token", status=200, body={"token_type": "Bearer"})
        with self.client() as client, self.assertRaises(DidwwTokenError):
            client.balance()

    def test_the_api_key_scheme_is_refused_by_an_account_on_2026_11_19(self):
        with self.client(version="2026-04-16") as client, self.assertRaises(DidwwAuthError):
            client.balance()
        self.assertEqual(self.fake.minted, [])
        self.fake.account_version = "2026-04-16"
        with self.client(version="2026-04-16") as client:
            self.assertEqual(client.check(), {"api_version": "2026-04-16", "scheme": "api_key"})
        self.assertEqual(self.api_requests()[-1]["headers"]["X-DIDWW-API-Version"], "2026-04-16")

    def test_token_repr_and_errors_never_show_secrets(self):
        with self.client() as client:
            client.balance()
            token = self.cache.get(client.token_key)
        self.assertNotIn(token.value, repr(token))
        self.assertNotIn(self.fake.api_key, repr(client.token_key))

    def test_export_file_outside_the_api_is_not_fetched(self):
        with self.client() as client, self.assertRaises(DidwwBadRequestError):
            client.download_export("https://evil.example.test/v3/exports/x.csv.gz")
        self.assertEqual(self.fake.requests, [])


def json_dump(request):
    return repr({key: value for key, value in request.items() if key != "headers"})
