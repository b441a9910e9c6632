from datetime import timedelta

from odoo import fields

from .common import DidwwHttpCase


class TestMissedCallRescue(DidwwHttpCase):
    """An incoming softphone call nobody answered: a call back activity, and a text to the caller."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.didww_missed_call_sms = True
        cls.Call = cls.env["didww.call"].with_user(cls.user_sales)

    def missed(self, number, state="missed"):
        call = self.Call.browse(self.Call.didww_incoming(number)["id"])
        call.didww_ended(state, end_cause="remote")
        return call

    def call_backs(self, record):
        return record.activity_ids.filtered(lambda a: a.summary == "Call back")

    def test_a_missed_call_is_a_call_back_activity_and_a_text_from_the_user_number(self):
        call = self.missed("+12125550142")
        activity = self.call_backs(self.partner_us)
        self.assertEqual(len(activity), 1)
        self.assertEqual(activity.user_id, self.user_sales)
        self.assertEqual(activity.activity_type_id, self.env.ref("mail.mail_activity_data_call"))
        self.assertTrue(call.call_back_sms_at)
        self.env["sms.sms"].sudo()._process_queue()
        sent = self.outbound_requests()
        self.assertEqual(len(sent), 1)
        body = sent[0]["json"]["data"]["attributes"]
        self.assertEqual(body["destination"], "12125550142")
        self.assertEqual(body["source"], "19179056077")  # Sally's number
        self.assertIn("Sorry we missed your call", body["content"])
        # the reply lands in the same conversation: Sally's, on Ursula's contact
        session = self.env["didww.sms.session"].search([("remote_number", "=", "+12125550142")])
        self.assertEqual((session.user_id, session.res_model, session.res_id),
                         (self.user_sales, "res.partner", self.partner_us.id))

    def test_declined_and_busy_calls_too_once_an_hour_per_caller_one_activity(self):
        self.missed("+12125550142", "declined")
        self.missed("+12125550142", "busy")
        self.assertEqual(len(self.call_backs(self.partner_us)), 1)
        self.env["sms.sms"].sudo()._process_queue()
        self.assertEqual(len(self.outbound_requests()), 1)
        # an hour later, the caller gets a new text
        self.env["didww.call"].search([]).write({"call_back_sms_at": fields.Datetime.now() - timedelta(hours=2)})
        self.missed("+12125550142")
        self.env["sms.sms"].sudo()._process_queue()
        self.assertEqual(len(self.outbound_requests()), 2)

    def test_an_unknown_caller_becomes_a_contact(self):
        call = self.missed("+37041999888")
        partner = call.partner_id
        self.assertEqual((partner.name, partner.phone, partner.country_id), ("+37041999888", "+37041999888", self.lt))
        self.assertEqual(len(self.call_backs(partner)), 1)

    def test_never_to_an_opted_out_number_and_not_when_the_company_keeps_it_off(self):
        self.env["phone.blacklist"].sudo().add("+12125550142")
        self.missed("+12125550142")
        self.assertEqual(len(self.call_backs(self.partner_us)), 1)  # the activity still
        self.company.didww_missed_call_sms = False
        self.missed("+37041654321")
        self.env["sms.sms"].sudo()._process_queue()
        self.assertEqual(self.outbound_requests(), [])
        self.assertEqual(len(self.call_backs(self.partner)), 1)

    def test_answered_or_outgoing_calls_need_no_call_back(self):
        answered = self.Call.browse(self.Call.didww_incoming("+12125550142")["id"])
        answered.didww_answered()
        answered.didww_ended("done", end_cause="remote")
        outgoing = self.Call.browse(self.Call.didww_outgoing("+12125550142")["id"])
        outgoing.didww_ended("busy")
        extension = self.missed("1002")  # an internal extension nobody has: nobody to call back
        self.assertFalse(self.call_backs(self.partner_us))
        self.assertFalse(extension.partner_id)
        self.assertFalse(self.env["sms.sms"].sudo().search([]))

    def test_a_call_back_for_a_ringing_call_whose_browser_vanished(self):
        call = self.Call.browse(self.Call.didww_incoming("+12125550142")["id"])
        call.sudo().start = fields.Datetime.now() - timedelta(minutes=10)
        self.env["didww.call"]._cron_close_interrupted()
        self.assertEqual(call.state, "interrupted")
        self.assertEqual(len(self.call_backs(self.partner_us)), 1)
