import base64
import json

import pytest
from didww_tools.didww_webhook import (
    InboundSms,
    StatusEvent,
    WebhookFormatError,
    parse_event,
    parse_time,
    salvage_template,
)


def b64(text):
    return base64.b64encode(text.encode()).decode()


def callback(status="Success", code_id=None, message_id="550e8400-e29b-41d4-a716-446655440000",
             kind="outbound_message_callbacks"):
    return {"data": {"type": kind, "id": message_id, "attributes": {
        "time_start": "1997-07-16T19:20:30.45Z", "end_time": "2001-07-16T19:20:30.45Z",
        "destination": "37041654321", "source": "37041123456", "status": status,
        "code_id": code_id, "fragments_sent": 7}}}


def test_documented_callback():
    event = parse_event(callback())
    assert isinstance(event, StatusEvent)
    assert (event.kind, event.status, event.code_id, event.fragments_sent) == ("callback", "success", None, 7)


@pytest.mark.parametrize("code", [8, "8", " 8 "])
def test_code_id_integer_or_string(code):
    event = parse_event(callback("Routing Error", code))
    assert event.status == "routing_error" and event.code_id == 8


def test_dlr_event():
    event = parse_event(callback("DELIVERED", kind="dlr_event"))
    assert (event.kind, event.status) == ("dlr", "delivered")
    assert event.dedupe_key != parse_event(callback("Success")).dedupe_key


@pytest.mark.parametrize("document", [
    {"data": {"type": "outbound_message_callbacks", "attributes": {"status": "Success"}}},
    {"data": {"type": "outbound_message_callbacks", "id": "x y", "attributes": {"status": "Success"}}},
    {"data": {"type": "outbound_message_callbacks", "id": "abc", "attributes": {}}},
    {"data": {"type": "dlr_event", "id": "abc", "attributes": "nope"}},
    {"data": {"type": "something_else", "id": "abc"}},
    [],
    "text",
])
def test_malformed_status_documents(document):
    with pytest.raises(WebhookFormatError):
        parse_event(document)


def test_inbound_ringotel_template_with_uuid():
    event = parse_event({"to": "19179056077", "from": "37041654321", "time": "Mon, 23 Nov 2026 07:30:00 GMT",
                         "text": "hello", "data": b64("hello"), "uuid": "1f0c-42"})
    assert isinstance(event, InboundSms)
    assert (event.to, event.sender, event.text, event.uuid) == ("19179056077", "37041654321", "hello", "1f0c-42")
    assert event.time.isoformat() == "2026-11-23T07:30:00"
    assert event.dedupe_key == "inbound:uuid:1f0c-42"


def test_data_wins_when_raw_text_broke_on_quotes():
    original = 'He said "hi" \\ and left 👋'
    event = parse_event({"to": "19179056077", "from": "37041654321", "text": "He said ", "data": b64(original)})
    assert event.text == original
    assert event.notes


def test_invalid_base64_falls_back_to_text_or_is_refused():
    event = parse_event({"to": "19179056077", "from": "37041654321", "text": "ok", "data": "%%%"})
    assert event.text == "ok"
    with pytest.raises(WebhookFormatError):
        parse_event({"to": "19179056077", "from": "37041654321", "data": "%%%"})
    with pytest.raises(WebhookFormatError):  # base64 of bytes that are not UTF-8
        parse_event({"to": "19179056077", "from": "37041654321", "data": base64.b64encode(b"\xff\xfe").decode()})


def test_dedupe_key_without_uuid_is_stable_and_content_based():
    params = {"to": "19179056077", "from": "37041654321", "time": "Mon, 23 Nov 2026 07:30:00 GMT", "text": "a"}
    assert parse_event(dict(params)).dedupe_key == parse_event(dict(params)).dedupe_key
    assert parse_event(dict(params)).dedupe_key != parse_event(dict(params, text="b")).dedupe_key


@pytest.mark.parametrize("params", [
    {"from": "37041654321", "text": "x"},
    {"to": "19179056077", "text": "x"},
    {"to": "<script>", "from": "37041654321"},
    {"to": "19179056077", "from": "37041654321", "text": ["list"]},
    {"to": "19179056077", "from": "37041654321", "uuid": "a b; drop"},
    {"to": "19179056077", "from": "37041654321", "text": "x" * 70000},
])
def test_bad_inbound(params):
    with pytest.raises(WebhookFormatError):
        parse_event(params)


def test_parse_time_formats():
    assert parse_time("Mon, 23 Nov 2026 07:30:00 GMT").hour == 7
    assert parse_time("2026-11-23T09:30:00+02:00").hour == 7
    assert parse_time("yesterday") is None
    assert parse_time("") is None


def test_salvage_a_template_that_raw_text_broke():
    text = 'She said "yes"\nand \\ left ☀️'
    body = ('{"uuid":"u-9","to":"19179056077","from":"12125550142","time":"Mon, 23 Nov 2026 08:50:00 GMT",'
            f'"text":"{text}","data":"{b64(text)}"}}')
    with pytest.raises(ValueError):
        json.loads(body)
    params = salvage_template(body)
    event = parse_event(params)
    assert (event.to, event.sender, event.uuid, event.text) == ("19179056077", "12125550142", "u-9", text)
    assert event.time.isoformat() == "2026-11-23T08:50:00"


def test_salvage_needs_to_from_and_decodable_data():
    assert salvage_template('{"to":"1","from":"2","text":"a"b"}') is None
    assert salvage_template('{"to":"1","text":"a"b","data":"aGk="}') is None
    assert salvage_template('{"to":"1","from":"2","data":"%%%"') is None
    assert salvage_template("not json at all") is None


def test_nul_characters_are_dropped_from_the_text_since_postgresql_cannot_store_them():
    event = parse_event({"to": "19179056077", "from": "37041654321", "text": "a\x00b", "data": b64("c\x00d")})
    assert event.text == "cd"
    assert parse_event({"to": "19179056077", "from": "37041654321", "text": "a\x00b"}).text == "ab"
