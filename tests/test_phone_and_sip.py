"""Phone number helpers (tools/phone.py) and the SIP WebSocket check (tools/sip_websocket.py)."""

import socket

from odoo.tests import tagged
from odoo.tests.common import BaseCase

from ..tools import phone
from ..tools.sip_websocket import check_sip_websocket
from .fake_didww import serve_websocket_once


@tagged("post_install", "-at_install")
class TestPhoneAndSip(BaseCase):

    def test_to_e164_reads_national_international_and_didww_formats(self):
        for raw, country, expected in [
            ("9179056077", "US", "+19179056077"),
            ("19179056077", "US", "+19179056077"),
            ("37041654321", "US", "+37041654321"),  # DIDWW digits of another country
            ("+370 416 54321", None, "+37041654321"),
            ("0037041654321", None, "+37041654321"),
            ("06 12 34 56 78", "FR", "+33612345678"),
            ("garbage", "US", None),
        ]:
            with self.subTest(raw=raw):
                self.assertEqual(phone.to_e164(raw, country) if country else phone.to_e164(raw), expected)
        self.assertEqual(phone.country_of("+37041654321"), "LT")

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
