"""An administrator's screens in a real browser (static/tests/tours/): the DIDWW settings' buttons
and layout, the Calls menu, the number form."""

from odoo.tests import tagged

from .common import DidwwHttpCase


@tagged("post_install", "-at_install", "didww_connector", "-standard", "didww_connector_browser")
class TestUiAdminTours(DidwwHttpCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # the API key is typed in the tour; the fake answers API v3 for the sandbox environment
        cls.company.write({"didww_api_key": False, "didww_api_environment": "sandbox",
                           "didww_api_version": "2026-04-16", "didww_webhook_secret": "tour-old-secret"})
        cls.env["ir.config_parameter"].sudo().set_param("didww_connector.api_url.sandbox", cls.fake.url + "/v3")

    def test_settings_buttons_act_in_one_click_and_keep_the_admin_where_they_are(self):
        self.fake.dids = [
            {"id": "did-new", "number": "12125550777", "description": "Tour line", "features": ["sms_in", "p2p"]},
            {"id": "did-voice", "number": "12125550778", "description": "Voice only", "features": ["voice_in"]},
        ]
        self.start_tour("/odoo/settings", "didww_connector_settings_buttons_tour", login="admin")
        company = self.company
        self.assertEqual(company.didww_api_key, "API-KEY-1", "the key typed was saved by the first click")
        self.assertTrue(self.env["didww.sms.number"].search([("didww_did_id", "=", "did-new")]))
        self.assertIn("$", company.didww_balance)
        self.assertNotEqual(company.didww_webhook_secret, "tour-old-secret")
        self.assertFalse(self.fake.sent, "testing the trunk sends nothing")
        checks = [r for r in self.outbound_requests() if r["json"]["data"]["attributes"] == {}]
        self.assertEqual(len(checks), 1, "one harmless authenticated call")

    def test_the_calls_app_shows_to_softphone_users_and_admins_only(self):
        self.start_tour("/odoo", "didww_connector_calls_menu_user_tour", login=self.user_sales.login)
        self.start_tour("/odoo", "didww_connector_calls_menu_admin_tour", login="admin")

    def test_the_sms_counter_says_the_sms_go_through_didww(self):
        url = "/odoo/action-sms.sms_template_action/new"
        self.start_tour(url, "didww_connector_sms_counter_tour", login="admin")
        self.company.didww_sms_active = False
        self.start_tour(url, "didww_connector_sms_counter_iap_tour", login="admin")
