from odoo.tests import tagged

from ..tools.didww_sms_api import SMS_API_HOOK, DidwwSmsApi
from .common import DidwwCase


@tagged("post_install", "-at_install", "didww_connector")
class TestSmsProvider(DidwwCase):
    """The same behaviour on 18.0 with the provider hook (``_get_sms_api_class``) and without it."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company_iap = cls.env["res.company"].create({"name": "IAP Corp", "country_id": cls.lt.id})
        cls.partner_iap = cls.env["res.partner"].create({
            "name": "Ieva IAP", "mobile": "+37061111111", "company_id": cls.company_iap.id})

    def queue_both_companies(self):
        """One queue run holding SMS of a DIDWW company and of an IAP company."""
        Sms = self.env["sms.sms"].sudo()
        didww_sms = Sms.create([{"number": f"+3706{i:07d}", "body": f"D{i}", "didww_company_id": self.company.id,
                                 "didww_user_id": self.user_sales.id} for i in range(3)])
        iap_sms = Sms.create([{"number": f"+3706{i:07d}", "body": f"I{i}", "didww_company_id": self.company_iap.id,
                               "didww_user_id": self.user_sales.id, "partner_id": self.partner_iap.id}
                              for i in range(3, 5)])
        return didww_sms, iap_sms

    def test_a_queue_run_sends_didww_companies_through_didww_and_iap_companies_through_iap(self):
        didww_sms, iap_sms = self.queue_both_companies()
        (didww_sms | iap_sms).send()
        self.assertEqual(sorted(r["json"]["data"]["attributes"]["content"] for r in self.outbound_requests()),
                         ["D0", "D1", "D2"], "only the DIDWW company's SMS reached DIDWW")
        self.assertEqual(set(didww_sms.mapped("state")), {"pending"})
        # Odoo's test base refuses IAP's outgoing request: IAP's own "server error" outcome, not ours
        self.assertEqual(set(iap_sms.mapped("state")), {"error"})
        self.assertEqual(set(iap_sms.mapped("failure_type")), {"sms_server"})
        self.assertFalse(any(iap_sms.mapped("didww_failure_reason")))

    def test_the_provider_hook_names_didww_for_didww_companies_only(self):
        self.assertIs(self.company._get_sms_api_class(), DidwwSmsApi)
        if not SMS_API_HOOK:
            return  # 18.0 as first released has no hook: the _send split routes
        self.assertIsNot(self.company_iap._get_sms_api_class(), DidwwSmsApi)
        didww_sms, iap_sms = self.queue_both_companies()
        batches = [(type(api), sms) for api, sms in (didww_sms | iap_sms)._split_by_api()]
        self.assertEqual(batches[0], (DidwwSmsApi, didww_sms))
        self.assertEqual(batches[1][1], iap_sms)
        self.assertIsNot(batches[1][0], DidwwSmsApi)

    def test_the_provider_class_sends_through_the_one_didww_path(self):
        """What mass mailing's "test SMS" wizard does with ``_get_sms_api_class`` on the hooked tree."""
        sms = self.env["sms.sms"].sudo().create([{"number": "+37061234567", "body": "test SMS"},
                                                 {"number": "12", "body": "test SMS"}])
        api = DidwwSmsApi(self.env)
        api._set_company(self.company)
        results = api._send_sms_batch([{"content": "test SMS", "numbers": [
            {"uuid": record.uuid, "number": record.number} for record in sms]}])
        self.assertEqual((results[0]["uuid"], results[0]["state"]), (sms[0].uuid, "success"))
        self.assertEqual(results[0]["didww_message_id"], sms[0].didww_message_id)
        self.assertEqual(results[1]["state"], "sms_number_format")
        self.assertEqual(api.PROVIDER_TO_SMS_FAILURE_TYPE[results[1]["state"]], "sms_number_format")
        self.assertIn("not a valid phone number", results[1]["failure_reason"])
        (request,) = self.outbound_requests()
        self.assertEqual(request["json"]["data"]["attributes"]["destination"], "37061234567")
        self.assertEqual(sms[0].state, "pending", "recorded by the same code as the queue")

    def test_resend_from_the_failure_dialog_goes_through_didww(self):
        self.fake.script("/outbound_messages", status=400, body={"errors": [{"detail": "source - is invalid"}]})
        message = self.partner.with_user(self.user_sales)._message_sms("Hi")
        notification = message.notification_ids
        self.assertEqual(notification.notification_status, "exception")
        wizard = self.env["sms.resend"].with_user(self.user_sales).with_context(
            default_mail_message_id=message.id).create({})
        wizard.action_resend()
        self.assertEqual(len(self.outbound_requests()), 2)
        self.assertEqual(notification.notification_status, "pending")
        self.assertEqual(len(self.fake.sent), 1)
