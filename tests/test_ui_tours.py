"""The screens in a real browser: Odoo tours on headless Chromium (static/tests/tours/)."""

from odoo.tests import HttpCase, new_test_user, tagged

from .common import DidwwHttpCase


@tagged("post_install", "-at_install", "didww_connector", "-standard", "didww_connector_browser")
class TestUiTours(HttpCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env.company.write({"didww_sms_active": False, "country_id": cls.env.ref("base.us").id})
        cls.number = cls.env["didww.sms.number"].create({
            "number": "917 905 6077", "country_id": cls.env.ref("base.us").id, "name": "Tour US"})

    def test_an_admin_enables_didww_copies_the_webhook_url_and_edits_a_number(self):
        self.start_tour("/odoo/settings", "didww_connector_settings_tour", login="admin")
        company = self.env.company
        self.assertTrue(company.didww_sms_active)
        self.assertEqual(company.didww_sms_username, "tour-trunk-user")
        self.assertEqual(company.didww_sms_password, "tour-trunk-pass")
        self.assertEqual(self.number.session_stickiness, 45)

    def test_a_user_sets_their_voip_credentials_in_my_preferences(self):
        provider = self.env["didww.voip.provider"].create({"name": "Tour PBX"})
        user = new_test_user(self.env, login="didww_tour_voip", name="Vera VoIP", groups="base.group_user")
        self.assertFalse(user.has_group("base.group_system"))
        self.start_tour("/odoo", "didww_connector_voip_preferences_tour", login=user.login)
        self.assertEqual(user.didww_voip_provider_id, provider)
        self.assertEqual(user.didww_voip_username, "1001")
        self.assertEqual(user.sudo().didww_voip_secret, "s3cret-from-tour")


@tagged("post_install", "-at_install", "didww_connector", "-standard", "didww_connector_browser")
class TestUiTourSms(DidwwHttpCase):

    def test_a_user_texts_a_contact_from_the_phone_field_and_sees_the_status_on_the_chatter(self):
        contact = self.env["res.partner"].create({
            "name": "Tara Tour", "phone": "+1 212 555 0199", "country_id": self.us.id})
        self.start_tour(f"/odoo/contacts/{contact.id}", "didww_connector_sms_from_contact_tour",
                        login=self.user_sales.login)
        (request,) = self.outbound_requests()
        attributes = request["json"]["data"]["attributes"]
        self.assertEqual((attributes["source"], attributes["destination"]), ("19179056077", "12125550199"))
        self.assertEqual(attributes["content"], "Hello from the DIDWW tour")
        message = contact.message_ids.filtered(lambda m: m.message_type == "sms")
        self.assertEqual(len(message), 1)
        notification = message.notification_ids.filtered(lambda n: n.notification_type == "sms")
        self.assertEqual(notification.notification_status, "pending")


@tagged("post_install", "-at_install", "didww_connector", "-standard", "didww_connector_browser")
class TestUiTourConsent(DidwwHttpCase):

    def setUp(self):
        super().setUp()
        self.contact = self.env["res.partner"].create({
            "name": "Stella Stop", "phone": "+1 212 555 0199", "country_id": self.us.id})
        self.env["didww.sms.consent"].sudo()._didww_set(
            self.company, "+12125550199", "opted_out", "keyword", keyword="STOP", message="STOP",
            didww_number=self.number_us.number, origin="texting STOP to +19179056077 (DIDWW)")

    def test_a_salesperson_sees_the_contacts_consent_and_the_composer_warns(self):
        self.start_tour(f"/odoo/contacts/{self.contact.id}", "didww_connector_sms_consent_tour",
                        login=self.user_sales.login)

    def test_an_admin_finds_the_consent_history_to_export(self):
        action = self.env.ref("didww_connector.didww_sms_consent_event_action")
        self.start_tour(f"/odoo/action-{action.id}", "didww_connector_sms_consent_audit_tour", login="admin")
