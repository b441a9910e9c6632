from odoo.exceptions import UserError
from odoo.tests import tagged

from ..tools.public_url import unreachable_reason
from .common import DidwwCase


@tagged("post_install", "-at_install", "didww_connector")
class TestSettingsAdmin(DidwwCase):
    """The DIDWW settings' buttons answer in place (a notification, then the form reloaded where the
    admin is), and each problem with a clear sentence."""

    def settings(self, **values):
        return self.env["res.config.settings"].create(values)

    def test_testing_the_trunk_sends_nothing_and_says_so(self):
        action = self.settings().action_didww_test_sms_trunk()
        self.assertEqual(action["tag"], "display_notification")
        self.assertIn("accepted the trunk username and password", action["params"]["message"])
        self.assertTrue(action["params"]["sticky"])
        self.assertEqual(action["params"]["next"], {"type": "ir.actions.act_window_close"},
                         "the settings reload in place, not the whole web client")
        (request,) = self.outbound_requests()
        self.assertEqual(request["json"], {"data": {"type": "outbound_messages", "attributes": {}}})
        self.assertTrue(request["headers"]["Authorization"].startswith("Basic "))
        self.assertFalse(self.fake.sent)

    def test_testing_the_trunk_uses_what_the_admin_just_typed(self):
        settings = self.settings(didww_sms_password="typo")
        with self.assertRaisesRegex(UserError, r"refused the trunk username and password \(401\).*allowed IP"):
            settings.action_didww_test_sms_trunk()
        self.assertEqual(self.company.didww_sms_password, "typo", "what was typed is kept")

    def test_testing_the_trunk_on_a_wrong_url_says_so(self):
        self.company.didww_sms_api_url = "http://127.0.0.1:9"  # nothing listens there
        with self.assertRaisesRegex(UserError, "could not reach http://127.0.0.1:9.*API URL"):
            self.settings().action_didww_test_sms_trunk()
        self.company.didww_sms_api_url = self.fake.url + "/nowhere"
        with self.assertRaisesRegex(UserError, "could not be checked.*404"):
            self.settings().action_didww_test_sms_trunk()

    def test_testing_the_trunk_without_credentials_says_what_to_enter(self):
        self.company.didww_sms_password = False
        with self.assertRaisesRegex(UserError, "enter the HTTP OUT trunk username and password"):
            self.settings().action_didww_test_sms_trunk()
        self.assertFalse(self.fake.requests)

    def test_check_balance_shows_dollars_and_reloads_in_place(self):
        self.company.write({"didww_api_key": self.fake.api_key, "didww_api_environment": "sandbox",
                            "didww_api_version": "2026-04-16"})
        self.env["ir.config_parameter"].sudo().set_param("didww_connector.api_url.sandbox", self.fake.url + "/v3")
        action = self.settings().action_didww_check_balance()
        self.assertEqual(action["params"]["next"], {"type": "ir.actions.act_window_close"})
        self.assertEqual(self.company.didww_balance, "$\xa012.50 (credit $\xa00.00, total $\xa012.50)")

    def test_buttons_without_an_api_key_say_to_enter_it(self):
        self.company.didww_api_key = False
        for button in ("action_didww_import_numbers", "action_didww_check_balance",
                       "action_didww_test_connection"):
            with self.subTest(button=button), self.assertRaisesRegex(UserError, "Enter the DIDWW API v3 key"):
                getattr(self.settings(), button)()

    def test_regenerating_the_secret_keeps_the_admin_on_the_settings(self):
        secret = self.company.didww_webhook_secret
        action = self.settings().action_didww_regenerate_webhook_secret()
        self.assertNotEqual(self.company.didww_webhook_secret, secret)
        self.assertEqual(action["params"]["next"], {"type": "ir.actions.act_window_close"})
        self.assertIn("old URL no longer works", action["params"]["message"])

    def test_the_webhook_url_warns_when_didww_cannot_reach_it(self):
        parameters = self.env["ir.config_parameter"].sudo()
        for base_url, expected in [
            ("http://127.0.0.1:8069", "points at this machine"),
            ("http://localhost:8069", "points at this machine"),
            ("http://192.168.1.20:8069", "private network address"),
            ("https://odoo.lan", "private network address"),
            ("http://odoo.example.com", "plain HTTP"),
            ("https://odoo.example.com", False),
        ]:
            parameters.set_param("web.base.url", base_url)
            warning = self.settings().didww_webhook_url_warning
            with self.subTest(base_url=base_url):
                if expected:
                    self.assertIn(expected, warning)
                else:
                    self.assertFalse(warning)

    def test_unreachable_reasons(self):
        self.assertEqual(unreachable_reason(""), "missing")
        self.assertEqual(unreachable_reason("http://[::1]:8069"), "local")
        self.assertEqual(unreachable_reason("http://0.0.0.0:8069"), "local")
        self.assertEqual(unreachable_reason("https://10.0.0.5"), "private")
        self.assertEqual(unreachable_reason("https://odoo"), "private")
        self.assertEqual(unreachable_reason("https://odoo.local"), "private")
        self.assertEqual(unreachable_reason("https://8.8.8.8"), None)
        self.assertEqual(unreachable_reason("http://8.8.8.8"), "http")
