"""Parsing what DIDWW posts to the webhook (tools/didww_webhook.py), before any database work."""

import base64
import json

from odoo.tests import tagged
from odoo.tests.common import BaseCase

from ..tools.didww_webhook import (
    InboundSms,
    StatusEvent,
    WebhookFormatError,
    parse_event,
    parse_time,
    salvage_template,
)
from .common import b64


def callback(status="Success", code_id=None, message_id="550e8400-e29b-41d4-a716-446655440000",
             kind="outbound_message_callbacks"):
    return {"data": {"type": kind, "id": message_id, "attributes": {
        "time_start": "1997-07-16T19:20:30.45Z", "end_time": "2001-07-16T19:20:30.45Z",
        "destination": "37041654321", "source": "37041123456", "status": status,
        "code_id": code_id, "fragments_sent": 7}}}


@tagged("post_install", "-at_install", "didww_connector")
class TestDidwwWebhookParse(BaseCase):

    def test_the_documented_callback_is_a_status_event(self):
        event = parse_event(callback())
        self.assertIsInstance(event, StatusEvent)
        self.assertEqual((event.kind, event.status, event.code_id, event.fragments_sent),
                         ("callback", "success", None, 7))

    def test_code_id_is_read_from_an_integer_or_a_string(self):
        for code in (8, "8", " 8 "):
            with self.subTest(code=code):
                event = parse_event(callback("Routing Error", code))
                self.assertEqual((event.status, event.code_id), ("routing_error", 8))

    def test_a_dlr_event_is_a_delivery_status_with_its_own_dedupe_key(self):
        event = parse_event(callback("DELIVERED", kind="dlr_event"))
        self.assertEqual((event.kind, event.status), ("dlr", "delivered"))
        self.assertNotEqual(event.dedupe_key, parse_event(callback("Success")).dedupe_key)

    def test_malformed_status_documents_are_refused(self):
        for document in [
            {"data": {"type": "outbound_message_callbacks", "attributes": {"status": "Success"}}},
            {"data": {"type": "outbound_message_callbacks", "id": "x y", "attributes": {"status": "Success"}}},
            {"data": {"type": "outbound_message_callbacks", "id": "abc", "attributes": {}}},
            {"data": {"type": "dlr_event", "id": "abc", "attributes": "nope"}},
            {"data": {"type": "something_else", "id": "abc"}},
            [],
            "text",
        ]:
            with self.subTest(document=document), self.assertRaises(WebhookFormatError):
                parse_event(document)

    def test_the_ringotel_template_with_uuid_is_an_inbound_sms(self):
        event = parse_event({"to": "19179056077", "from": "37041654321", "time": "Mon, 23 Nov 2026 07:30:00 GMT",
                             "text": "hello", "data": b64("hello"), "uuid": "1f0c-42"})
        self.assertIsInstance(event, InboundSms)
        self.assertEqual((event.to, event.sender, event.text, event.uuid),
                         ("19179056077", "37041654321", "hello", "1f0c-42"))
        self.assertEqual(event.time.isoformat(), "2026-11-23T07:30:00")
        self.assertEqual(event.dedupe_key, "inbound:uuid:1f0c-42")

    def test_data_wins_when_the_raw_text_broke_on_quotes(self):
        original = 'He said "hi" \\ and left 👋'
        event = parse_event({"to": "19179056077", "from": "37041654321", "text": "He said ", "data": b64(original)})
        self.assertEqual(event.text, original)
        self.assertTrue(event.notes)

    def test_invalid_base64_falls_back_to_the_text_or_is_refused(self):
        event = parse_event({"to": "19179056077", "from": "37041654321", "text": "ok", "data": "%%%"})
        self.assertEqual(event.text, "ok")
        with self.assertRaises(WebhookFormatError):
            parse_event({"to": "19179056077", "from": "37041654321", "data": "%%%"})
        with self.assertRaises(WebhookFormatError):  # base64 of bytes that are not UTF-8
            parse_event({"to": "19179056077", "from": "37041654321",
                         "data": base64.b64encode(b"\xff\xfe").decode()})

    def test_the_dedupe_key_without_uuid_is_stable_and_content_based(self):
        params = {"to": "19179056077", "from": "37041654321", "time": "Mon, 23 Nov 2026 07:30:00 GMT", "text": "a"}
        self.assertEqual(parse_event(dict(params)).dedupe_key, parse_event(dict(params)).dedupe_key)
        self.assertNotEqual(parse_event(dict(params)).dedupe_key, parse_event(dict(params, text="b")).dedupe_key)

    def test_bad_inbound_parameters_are_refused(self):
        for params in [
            {"from": "37041654321", "text": "x"},
            {"to": "19179056077", "text": "x"},
            {"to": "<script>", "from": "37041654321"},
            {"to": "19179056077", "from": "37041654321", "text": ["list"]},
            {"to": "19179056077", "from": "37041654321", "uuid": "a b; drop"},
            {"to": "19179056077", "from": "37041654321", "text": "x" * 70000},
        ]:
            with self.subTest(params=str(params)[:80]), self.assertRaises(WebhookFormatError):
                parse_event(params)

    def test_parse_time_reads_rfc_1123_and_iso_8601(self):
        self.assertEqual(parse_time("Mon, 23 Nov 2026 07:30:00 GMT").hour, 7)
        self.assertEqual(parse_time("2026-11-23T09:30:00+02:00").hour, 7)
        self.assertIsNone(parse_time("yesterday"))
        self.assertIsNone(parse_time(""))

    def test_a_template_that_raw_text_broke_is_salvaged(self):
        text = 'She said "yes"\nand \\ left ☀️'
        body = ('{"uuid":"u-9","to":"19179056077","from":"12125550142","time":"Mon, 23 Nov 2026 08:50:00 GMT",'
                f'"text":"{text}","data":"{b64(text)}"}}')
        with self.assertRaises(ValueError):
            json.loads(body)
        event = parse_event(salvage_template(body))
        self.assertEqual((event.to, event.sender, event.uuid, event.text), ("19179056077", "12125550142", "u-9", text))
        self.assertEqual(event.time.isoformat(), "2026-11-23T08:50:00")

    def test_salvage_needs_to_from_and_decodable_data(self):
        self.assertIsNone(salvage_template('{"to":"1","from":"2","text":"a"b"}'))
        self.assertIsNone(salvage_template('{"to":"1","text":"a"b","data":"aGk="}'))
        self.assertIsNone(salvage_template('{"to":"1","from":"2","data":"%%%"'))
        self.assertIsNone(salvage_template("not json at all"))

    def test_nul_characters_are_dropped_from_the_text_since_postgresql_cannot_store_them(self):
        event = parse_event({"to": "19179056077", "from": "37041654321", "text": "a\x00b", "data": b64("c\x00d")})
        self.assertEqual(event.text, "cd")
        self.assertEqual(parse_event({"to": "19179056077", "from": "37041654321", "text": "a\x00b"}).text, "ab")
