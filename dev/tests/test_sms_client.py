import base64
import json

import pytest
from didww_tools import didww_http
from didww_tools.didww_sms_client import DidwwSmsClient, e164_digits


def client_for(fake, **kwargs):
    return DidwwSmsClient(fake.url, fake.username, fake.password, **kwargs)


def test_send_is_exactly_the_documented_request(fake):
    with client_for(fake) as client:
        message_id = client.send("+37041123456", "+370 416 54321", "Hello World!")
    request = fake.requests[-1]
    assert request["method"] == "POST" and request["path"] == "/outbound_messages"
    assert request["headers"]["Content-Type"] == "application/vnd.api+json"
    assert request["headers"]["Authorization"] == "Basic " + base64.b64encode(b"trunk-user:trunk-pass").decode()
    assert request["json"] == {"data": {"type": "outbound_messages", "attributes": {
        "destination": "37041654321", "source": "37041123456", "content": "Hello World!"}}}
    assert fake.sent[0]["id"] == message_id


def test_unicode_content_travels_as_utf8(fake):
    with client_for(fake) as client:
        client.send("+37041123456", "+37041654321", 'Ačiū "quoted" \\ 🎉')
    assert json.loads(fake.requests[-1]["body"].decode("utf-8"))["data"]["attributes"]["content"] == \
        'Ačiū "quoted" \\ 🎉'


@pytest.mark.parametrize("status,error_class,transient", [
    (400, didww_http.DidwwBadRequestError, False),
    (401, didww_http.DidwwAuthError, False),
    (415, didww_http.DidwwBadRequestError, False),
    (429, didww_http.DidwwRateLimitError, True),
    (500, didww_http.DidwwServerError, True),
    (503, didww_http.DidwwServerError, True),
])
def test_error_statuses_are_typed(fake, status, error_class, transient):
    fake.script("/outbound_messages", status=status,
                body={"errors": [{"title": "T", "detail": f"detail {status}", "status": str(status)}]})
    with client_for(fake) as client, pytest.raises(error_class) as caught:
        client.send("+37041123456", "+37041654321", "x")
    assert caught.value.transient is transient
    assert caught.value.status == status
    assert f"detail {status}" in str(caught.value)


def test_wrong_credentials_are_a_401_without_the_password_in_the_message(fake):
    client = DidwwSmsClient(fake.url, "trunk-user", "wrong-secret-password")
    with client, pytest.raises(didww_http.DidwwAuthError) as caught:
        client.send("+37041123456", "+37041654321", "x")
    assert "wrong-secret-password" not in str(caught.value)
    assert "Authorization failed" in str(caught.value)


def test_timeout_is_transient(fake):
    fake.script("/outbound_messages", delay=1.0, status=201)
    client = DidwwSmsClient(fake.url, fake.username, fake.password, timeout=0.2)
    with client, pytest.raises(didww_http.DidwwNetworkError) as caught:
        client.send("+37041123456", "+37041654321", "x")
    assert caught.value.transient


def test_dropped_connection_is_transient(fake):
    fake.script("/outbound_messages", drop=True)
    with client_for(fake) as client, pytest.raises(didww_http.DidwwNetworkError):
        client.send("+37041123456", "+37041654321", "x")


def test_refused_connection_is_transient():
    client = DidwwSmsClient("http://127.0.0.1:9", "u", "p", timeout=0.5)
    with client, pytest.raises(didww_http.DidwwNetworkError):
        client.send("+37041123456", "+37041654321", "x")


def test_201_without_id_is_a_server_error(fake):
    fake.script("/outbound_messages", status=201, body={"data": {"type": "outbound_messages"}})
    with client_for(fake) as client, pytest.raises(didww_http.DidwwServerError):
        client.send("+37041123456", "+37041654321", "x")


def test_invalid_number_is_refused_before_sending(fake):
    with client_for(fake) as client, pytest.raises(didww_http.DidwwBadRequestError):
        client.send("+37041123456", "not a number", "x")
    assert not fake.requests


def test_send_many_keeps_order_runs_concurrently_and_reports_each_result(fake):
    fake.response_delay = 0.05
    fake.script("/outbound_messages", status=500, body={"errors": [{"detail": "boom"}]})
    messages = [(i, "+37041123456", f"+3704165{i:04d}", f"m{i}") for i in range(12)]
    with client_for(fake, max_workers=4, rate=1000) as client:
        results = client.send_many(messages)
    assert [key for key, _id, _err in results] == list(range(12))
    assert sum(1 for _k, message_id, _e in results if message_id) == 11
    assert sum(1 for _k, _m, error in results if error and error.transient) == 1
    assert 2 <= fake.max_in_flight <= 4


def test_e164_digits():
    assert e164_digits("+1 (917) 905-6077") == "19179056077"
    assert e164_digits("0037041654321") == "37041654321"
    with pytest.raises(ValueError):
        e164_digits("+0123")


def test_rate_limiter_spaces_requests():
    now = [0.0]
    slept = []

    def sleep(seconds):
        slept.append(seconds)
        now[0] += seconds

    limiter = didww_http.RateLimiter(rate=10, burst=2, clock=lambda: now[0], sleep=sleep)
    for _ in range(6):
        limiter.acquire()
    # 2 from the burst, then one every 0.1 s
    assert sum(slept) == pytest.approx(0.4)


def test_network_errors_say_what_happened():
    refused = DidwwSmsClient("http://127.0.0.1:9", "u", "p", timeout=0.5)
    with refused, pytest.raises(didww_http.DidwwNetworkError) as caught:
        refused.send("+37041123456", "+37041654321", "x")
    assert (caught.value.kind, caught.value.transient) == ("refused", True)
    assert "refused" in str(caught.value)
    unresolvable = DidwwSmsClient("http://sms-out.didww.invalid", "u", "p", timeout=2)
    with unresolvable, pytest.raises(didww_http.DidwwNetworkError) as caught:
        unresolvable.send("+37041123456", "+37041654321", "x")
    assert (caught.value.kind, caught.value.transient) == ("dns", False)


def test_tls_failure_is_not_transient(fake):
    client = DidwwSmsClient(fake.url.replace("http://", "https://"), fake.username, fake.password, timeout=2)
    with client, pytest.raises(didww_http.DidwwNetworkError) as caught:
        client.send("+37041123456", "+37041654321", "x")
    assert (caught.value.kind, caught.value.transient) == ("tls", False)


def test_timeout_and_dropped_connection_kinds(fake):
    fake.script("/outbound_messages", delay=1.0, status=201)
    fake.script("/outbound_messages", drop=True)
    with DidwwSmsClient(fake.url, fake.username, fake.password, timeout=0.3) as client:
        kinds = []
        for _ in range(2):
            with pytest.raises(didww_http.DidwwNetworkError) as caught:
                client.send("+37041123456", "+37041654321", "x")
            kinds.append(caught.value.kind)
    assert kinds == ["timeout", "dropped"]


def test_submit_keeps_requests_in_flight_on_a_persistent_pool(fake):
    fake.response_delay = 0.05
    with DidwwSmsClient(fake.url, fake.username, fake.password, rate=1000, max_workers=8) as client:
        futures = [client.submit("+37041123456", f"+3706{i:07d}", "x") for i in range(16)]
        results = [future.result() for future in futures]
    assert all(message_id and error is None for message_id, error in results)
    assert fake.max_in_flight == 8
