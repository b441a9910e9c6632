import pytest
from didww_tools.didww_api_client import API_URLS, DidwwApiClient
from didww_tools.didww_http import DidwwAuthError, DidwwRateLimitError


def make_dids(count):
    return [{"id": f"did-{i}", "number": f"1917905{i:04d}", "description": f"DID {i}",
             "features": ["voice_in", "sms_in"] if i % 2 == 0 else ["voice_in"]} for i in range(count)]


def test_environments():
    assert API_URLS == {"production": "https://api.didww.com/v3", "sandbox": "https://sandbox-api.didww.com/v3"}


def test_all_pages_with_did_groups_and_headers(fake):
    fake.dids = make_dids(250)
    with DidwwApiClient(fake.url + "/v3", fake.api_key, api_version="2026-04-16") as client:
        dids = client.dids()
    assert len(dids) == 250
    assert sum(1 for did in dids if client.can_text(did)) == 125
    assert dids[0]["features"] == ["voice_in", "sms_in"]
    pages = [r for r in fake.requests if r["path"] == "/v3/dids"]
    assert len(pages) == 3
    assert all(r["headers"]["X-DIDWW-API-Version"] == "2026-04-16" for r in pages)
    assert all(r["headers"]["Api-Key"] == fake.api_key for r in pages)
    assert pages[0]["query"]["include"] == ["did_group"]


def test_no_version_header_when_not_set(fake):
    with DidwwApiClient(fake.url + "/v3", fake.api_key) as client:
        client.balance()
    assert "X-DIDWW-API-Version" not in fake.requests[-1]["headers"]


def test_balance(fake):
    with DidwwApiClient(fake.url + "/v3", fake.api_key) as client:
        assert client.balance()["total_balance"] == "12.50"


def test_401(fake):
    with DidwwApiClient(fake.url + "/v3", "bad-key") as client, pytest.raises(DidwwAuthError):
        client.balance()


def test_429_is_retried_with_backoff_then_gives_up(fake):
    slept = []
    fake.script("/v3/balance", status=429, body={"errors": [{"status": "429", "detail": "Too Many Requests"}]},
                times=2)
    with DidwwApiClient(fake.url + "/v3", fake.api_key, sleep=slept.append, backoff=0.5) as client:
        assert client.balance()["balance"] == "12.50"
    assert slept == [0.5, 1.0]
    fake.script("/v3/balance", status=429, body={"errors": [{"detail": "Too Many Requests"}]}, times=5,
                headers={"Retry-After": "2"})
    slept.clear()
    with DidwwApiClient(fake.url + "/v3", fake.api_key, sleep=slept.append, max_retries=2) as client, \
            pytest.raises(DidwwRateLimitError):
        client.balance()
    assert slept == [2.0, 2.0]


def test_clients_of_one_key_share_the_20_per_second_budget(fake):
    first = DidwwApiClient(fake.url + "/v3", fake.api_key)
    second = DidwwApiClient(fake.url + "/v3", fake.api_key)
    other = DidwwApiClient(fake.url + "/v3", "another-key")
    assert first.transport.limiter is second.transport.limiter
    assert first.transport.limiter is not other.transport.limiter
    assert first.transport.limiter.rate == 20
