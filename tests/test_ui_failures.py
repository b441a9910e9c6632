"""The failure screens of issue 24 (items 3, 4, 5) in a real browser: tours on headless Chromium
(static/tests/tours/); the records behind them are checked in test_sms_failures_shown."""

from odoo.tests import tagged

from .common import DidwwHttpCase

INVALID = {"errors": [{"title": "Bad Request", "detail": "destination - is invalid", "status": "400"}]}


@tagged("post_install", "-at_install", "didww_connector", "-standard", "didww_connector_browser")
class TestUiFailures(DidwwHttpCase):

    def lead(self, name, phone="+16039955555"):
        return self.env["crm.lead"].create({"name": name, "contact_name": "Deco", "phone": phone,
                                            "type": "opportunity", "user_id": self.user_sales.id})

    def test_tour_a_salesperson_reads_the_failures_corrects_a_number_and_is_told_of_a_set_up_failure(self):
        lead = self.lead("Deco Addict Furniture Showroom Renovation")
        self.fake.script("/outbound_messages", status=400, body=INVALID)
        lead.with_user(self.user_sales)._message_sms("Number failure")
        self.company.didww_sms_password = "wrong-password-123"
        lead.with_user(self.user_sales)._message_sms("Set-up failure")
        self.company.didww_sms_password = self.fake.password
        self.fake.reset()
        self.start_tour(f"/odoo/action-crm.crm_lead_action_pipeline/{lead.id}", "didww_sms_failures_dialog_tour",
                        login=self.user_sales.login)
        (request,) = self.outbound_requests()
        self.assertEqual(request["json"]["data"]["attributes"]["destination"], "16039955556", "the corrected number")
        set_up = lead.message_ids.filtered(lambda message: "Set-up failure" in message.body)
        self.assertEqual(set_up.notification_ids.notification_status, "exception", "left for the administrator")

    def test_tour_an_admin_reads_didww_reasons_and_from_numbers_in_the_sms_list(self):
        self.fake.script("/outbound_messages", status=400, body=INVALID)
        self.partner_us.with_user(self.user_sales)._message_sms("Refused")
        self.company.didww_sms_password = "wrong-password-123"
        self.partner.with_user(self.user_sales)._message_sms("Trunk")
        self.start_tour("/odoo/action-sms.sms_sms_action", "didww_sms_list_tour", login="admin")
