import json
import os
import socket
import tempfile
from unittest.mock import patch

from odoo.exceptions import AccessError, ValidationError
from odoo.tests import HttpCase, new_test_user, tagged

from .fake_didww import self_signed_certificate, serve_websocket_once


@tagged("post_install", "-at_install", "didww_connector")
class TestVoip(HttpCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.provider = cls.env.ref("didww_connector.didww_voip_provider_didww")
        cls.alice = new_test_user(cls.env, login="didww_alice", password="didww_alice_pw1", groups="base.group_user")
        cls.bob = new_test_user(cls.env, login="didww_bob", password="didww_bob_pw12",
                              groups="base.group_user,base.group_allow_export")
        cls.portal = new_test_user(cls.env, login="didww_portal_v", groups="base.group_portal")
        cls.alice.write({"didww_voip_provider_id": cls.provider.id, "didww_voip_username": "alice100",
                         "didww_voip_secret": "s3cret-alice"})

    def test_didww_provider_created_on_install(self):
        self.assertEqual((self.provider.name, self.provider.ws_server, self.provider.pbx_server),
                         ("DIDWW", "wss://sip.phone.systems", "sip.phone.systems"))

    def test_validation(self):
        Provider = self.env["didww.voip.provider"]
        for ws in ("https://sip.phone.systems", "ws://sip.phone.systems", "wss://", "sip.phone.systems"):
            with self.subTest(ws=ws), self.assertRaisesRegex(ValidationError, "secure WebSocket URL"):
                Provider.create({"name": "x", "ws_server": ws})
        for pbx in ("sip phone", "https://sip.phone.systems", "-bad-.example"):
            with self.subTest(pbx=pbx), self.assertRaisesRegex(ValidationError, "host name or an IP"):
                Provider.create({"name": "x", "pbx_server": pbx})
        ok = Provider.create({"name": "ok", "ws_server": "wss://10.0.0.5:7443/ws", "pbx_server": "10.0.0.5:5060"})
        self.assertTrue(ok)

    def test_user_edits_own_credentials_in_preferences(self):
        me = self.bob.with_user(self.bob)
        me.write({"didww_voip_provider_id": self.provider.id, "didww_voip_username": "bob200",
                  "didww_voip_secret": "bob-secret"})
        values = me.read(["didww_voip_username", "didww_voip_secret", "didww_voip_provider_id"])[0]
        self.assertEqual(values["didww_voip_secret"], "bob-secret")
        self.assertEqual(values["didww_voip_provider_id"][0], self.provider.id)
        # the preferences form loads for the user
        self.assertTrue(me.get_views([(self.env.ref("base.view_users_form_simple_modif").id, "form")]))

    def test_other_users_never_read_the_secret(self):
        as_bob = self.alice.with_user(self.bob)
        values = as_bob.read(["didww_voip_secret"])[0]
        self.assertFalse(values["didww_voip_secret"])
        self.assertFalse(as_bob.search_read([("id", "=", self.alice.id)], ["didww_voip_secret"])[0]
                         ["didww_voip_secret"])
        self.assertFalse(as_bob.web_read({"didww_voip_secret": {}})[0]["didww_voip_secret"])
        self.assertNotIn("s3cret-alice", json.dumps(as_bob.export_data(["didww_voip_secret"])))
        with self.assertRaises(AccessError):  # nobody searches on it
            self.env["res.users"].with_user(self.bob).search([("didww_voip_secret", "=", "s3cret-alice")])
        with self.assertRaises(AccessError):
            as_bob.write({"didww_voip_secret": "hijack"})

    def test_portal_users_have_no_voip_fields(self):
        with self.assertRaises(AccessError):
            self.alice.with_user(self.portal).read(["didww_voip_secret"])

    def test_admin_reads_and_sets_credentials(self):
        admin_view = self.alice.with_user(self.env.ref("base.user_admin"))
        self.assertEqual(admin_view.didww_voip_secret, "s3cret-alice")

    def test_softphone_config_endpoint_is_for_self_only(self):
        self.authenticate("didww_alice", "didww_alice_pw1")
        response = self.url_open("/didww/voip/config", data=json.dumps({"jsonrpc": "2.0", "params": {}}),
                                 headers={"Content-Type": "application/json"})
        result = response.json()["result"]
        self.assertEqual(result["websocket_url"], "wss://sip.phone.systems")
        self.assertEqual((result["username"], result["secret"]), ("alice100", "s3cret-alice"))
        self.assertEqual(result["uri"], "sip:alice100@sip.phone.systems")
        self.authenticate("didww_bob", "didww_bob_pw12")
        result = self.url_open("/didww/voip/config", data=json.dumps({"jsonrpc": "2.0", "params": {}}),
                               headers={"Content-Type": "application/json"}).json()["result"]
        self.assertFalse(result["secret"])
        self.authenticate(None, None)
        response = self.url_open("/didww/voip/config", data=json.dumps({"jsonrpc": "2.0", "params": {}}),
                                 headers={"Content-Type": "application/json"})
        self.assertIn("error", response.json(), "anonymous users get no configuration")

    def test_connection_test_reports_unreachable_server(self):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        provider = self.env["didww.voip.provider"].create({"name": "local", "ws_server": f"wss://127.0.0.1:{port}"})
        params = provider.action_test_connection()["params"]
        self.assertEqual(params["type"], "danger")
        self.assertIn("unreachable", params["message"])

    def test_connection_test_against_a_local_sip_websocket_over_tls(self):
        with tempfile.TemporaryDirectory() as directory:
            key_path, cert_path = self_signed_certificate(directory)
            port = serve_websocket_once("sip", tls=(key_path, cert_path))
            provider = self.env["didww.voip.provider"].create({
                "name": "local", "ws_server": f"wss://127.0.0.1:{port}/ws"})
            # the code path is production's (default TLS context, certificate checked): the test
            # only makes OpenSSL trust the throwaway certificate
            with patch.dict(os.environ, {"SSL_CERT_FILE": cert_path}):
                params = provider.action_test_connection()["params"]
        self.assertEqual(params["type"], "success", params["message"])
        self.assertIn("accepted a SIP WebSocket", params["message"])

    def test_connection_test_reports_an_untrusted_certificate(self):
        with tempfile.TemporaryDirectory() as directory:
            port = serve_websocket_once("sip", tls=self_signed_certificate(directory))
            provider = self.env["didww.voip.provider"].create({"name": "local", "ws_server": f"wss://127.0.0.1:{port}"})
            params = provider.action_test_connection()["params"]
        self.assertEqual(params["type"], "danger")
        self.assertIn("TLS failed", params["message"])
