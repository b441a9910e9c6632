"""Phone number helpers (tools/phone.py) and the SIP WebSocket check (tools/sip_websocket.py)."""

import socket

from odoo.tests import tagged
from odoo.tests.common import BaseCase

from ..tools import phone, sms_keywords
from ..tools.sip_websocket import check_sip_websocket
from .fake_didww import serve_websocket_once


@tagged("post_install", "-at_install", "didww_connector")
class TestPhoneAndSip(BaseCase):

    def test_the_wire_format_is_didww_digits_and_nothing_national(self):
        self.assertEqual(phone.from_wire("37041654321"), "+37041654321")
        self.assertEqual(phone.from_wire("0037041654321"), "+37041654321")
        self.assertIsNone(phone.from_wire("06 12 34 56 78"), "national: only Odoo's formatter knows the country")
        self.assertIsNone(phone.from_wire("+37041654321"))
        self.assertIsNone(phone.from_wire("garbage"))
        self.assertEqual(phone.digits("+37041654321"), "37041654321")
        self.assertEqual(phone.country_of("+37041654321"), "LT")
        self.assertEqual(phone.loose("00 370 (41) 654-321"), "+37041654321")

    def test_keywords_match_only_a_whole_message(self):
        out_words, in_words = sms_keywords.OPT_OUT_DEFAULT, sms_keywords.OPT_IN_DEFAULT
        self.assertEqual(sms_keywords.match(" stop! ", out_words, in_words), "out")
        self.assertEqual(sms_keywords.match("Unsubscribe.", out_words, in_words), "out")
        self.assertEqual(sms_keywords.match("yes", out_words, in_words), "in")
        self.assertIsNone(sms_keywords.match("Please don't stop", out_words, in_words))
        self.assertIsNone(sms_keywords.match("", out_words, in_words))
        self.assertEqual(sms_keywords.match("arret", "STOP; Arrêt\nARRET", ""), "out")
        self.assertEqual(sms_keywords.parse_keywords(" stop , ,quit;"), {"STOP", "QUIT"})

    def test_a_sip_websocket_server_passes_the_check(self):
        port = serve_websocket_once("sip")
        ok, detail = check_sip_websocket(f"ws://127.0.0.1:{port}")
        self.assertTrue(ok, detail)

    def test_a_websocket_without_the_sip_subprotocol_fails_the_check(self):
        port = serve_websocket_once("plain")
        ok, detail = check_sip_websocket(f"ws://127.0.0.1:{port}")
        self.assertFalse(ok)
        self.assertIn("sip", detail)

    def test_a_plain_http_server_fails_the_check_with_its_status(self):
        port = serve_websocket_once("http")
        ok, detail = check_sip_websocket(f"ws://127.0.0.1:{port}")
        self.assertFalse(ok)
        self.assertIn("200", detail)

    def test_an_unreachable_server_fails_the_check(self):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        ok, detail = check_sip_websocket(f"wss://127.0.0.1:{port}", timeout=1)
        self.assertFalse(ok)
        self.assertIn("unreachable", detail)
