
from odoo.tests import Form, tagged

from .common import DidwwHttpCase, b64


@tagged("post_install", "-at_install", "didww_connector")
class TestOptOut(DidwwHttpCase):
    """Inbound STOP / START keywords, the confirmation reply, and where opted-out numbers are skipped."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.number_lt.write({
            "optout_reply": "You will no longer receive SMS from us. Text START to opt back in.",
            "optin_reply": "Welcome back!",
        })

    def inbound(self, text, sender="37041654321", to="37041123456", uuid=None):
        payload = {"to": to, "from": sender, "time": "Mon, 23 Nov 2026 07:30:00 GMT", "text": text, "data": b64(text)}
        if uuid:
            payload["uuid"] = uuid
        response = self.post_json(payload)
        self.assertEqual(response.status_code, 200, response.text)
        return response

    def blacklist(self, number="+37041654321"):
        return self.env["phone.blacklist"].with_context(active_test=False).search([("number", "=", number)])

    def send_queue(self):
        self.env["sms.sms"].sudo()._process_queue()
        return self.outbound_requests()

    def test_stop_blacklists_the_sender_notes_it_and_replies_once_from_the_number_texted(self):
        self.inbound("  Stop! ")
        entry = self.blacklist()
        self.assertTrue(entry.active)
        self.assertTrue(self.partner.phone_sanitized_blacklisted, "Odoo's own blacklist flag on the contact")
        notes = self.partner.message_ids.mapped("body")
        self.assertTrue(any("texted STOP to +37041123456" in body for body in notes), notes)
        self.assertIn("Opted out by texting STOP", " ".join(entry.message_ids.mapped("body")))
        (request,) = self.send_queue()
        self.assertEqual(request["json"]["data"]["attributes"], {
            "destination": "37041654321", "source": "37041123456",
            "content": "You will no longer receive SMS from us. Text START to opt back in."})
        reply = self.partner.message_ids.filtered(lambda m: m.message_type == "sms" and m.author_id != self.partner)
        self.assertIn("no longer receive SMS", reply.body, "the reply is on the chatter")

    def test_the_reply_leaves_from_the_number_texted_even_when_the_sender_has_another(self):
        self.number_us.optout_reply = "US: unsubscribed."
        self.number_lt.session_stickiness = 0  # no live conversation to pick the number from
        self.inbound("STOP", to="19179056077")
        (request,) = self.send_queue()
        self.assertEqual(request["json"]["data"]["attributes"]["source"], "19179056077")
        self.assertEqual(request["json"]["data"]["attributes"]["content"], "US: unsubscribed.")

    def test_the_same_stop_delivered_twice_makes_one_entry_and_one_reply(self):
        self.inbound("STOP", uuid="s-1")
        self.inbound("STOP", uuid="s-1")  # DIDWW retrying the same delivery
        self.inbound("stop", uuid="s-2")  # the customer sending it again
        self.assertEqual(len(self.blacklist()), 1)
        self.assertEqual(len(self.send_queue()), 1, "one confirmation only")
        self.assertTrue(any("Already the case" in body for body in self.partner.message_ids.mapped("body")))

    def test_a_keyword_inside_a_sentence_is_an_ordinary_message(self):
        for text in ("Please don't STOP sending me offers", "stop by tomorrow?", "YES please, the big one"):
            with self.subTest(text=text):
                self.inbound(text)
        self.assertFalse(self.blacklist())
        self.assertFalse(self.send_queue())
        self.assertIn("stop by tomorrow?", " ".join(self.partner.message_ids.mapped("body")))

    def test_every_default_keyword_in_any_case_with_punctuation(self):
        for index, keyword in enumerate(("stopall", "Unsubscribe.", "CANCEL", " end ", "quit!!")):
            with self.subTest(keyword=keyword):
                sender = f"3706111100{index}"
                self.inbound(keyword, sender=sender)
                self.assertTrue(self.blacklist("+" + sender).active)

    def test_start_unstop_yes_take_the_number_off_and_reply(self):
        for index, keyword in enumerate(("START", "unstop", "Yes.")):
            with self.subTest(keyword=keyword):
                sender = f"3706222200{index}"
                self.inbound("STOP", sender=sender)
                self.inbound(keyword, sender=sender)
                self.assertFalse(self.blacklist("+" + sender).active)
        contents = [r["json"]["data"]["attributes"]["content"] for r in self.send_queue()]
        self.assertEqual(contents.count("Welcome back!"), 3)

    def test_start_from_a_number_never_blacklisted_changes_nothing_and_sends_nothing(self):
        self.inbound("START")
        self.assertFalse(self.blacklist())
        self.assertFalse(self.send_queue())

    def test_no_confirmation_text_means_no_reply(self):
        self.number_lt.optout_reply = False
        self.inbound("STOP")
        self.assertTrue(self.blacklist().active)
        self.assertFalse(self.send_queue())

    def test_stop_from_a_short_code_is_noted_and_loses_nothing(self):
        self.number_lt.reformat_inbound = False
        self.inbound("STOP", sender="12345", uuid="short-1")
        event = self.env["didww.webhook.event"].search([("dedupe_key", "=", "inbound:uuid:short-1")])
        self.assertEqual(event.state, "done")
        partner = self.env["res.partner"].browse(event.res_id)
        bodies = " ".join(partner.message_ids.mapped("body"))
        self.assertIn("STOP", bodies)
        self.assertIn("not a phone number the SMS blacklist can hold", bodies)
        self.assertFalse(self.env["phone.blacklist"].with_context(active_test=False).search([]).filtered(
            lambda entry: "12345" in entry.number))
        self.assertFalse(self.send_queue())

    def test_keyword_lists_are_editable_per_number(self):
        self.number_lt.write({"optout_keywords": "ATSISAKYTI, Stop", "optin_keywords": "PRADETI"})
        self.inbound("atsisakyti")
        self.assertTrue(self.blacklist().active)
        self.inbound("Pradeti")
        self.assertFalse(self.blacklist().active)
        self.number_lt.optout_keywords = "ATSISAKYTI"
        self.inbound("QUIT")
        self.assertFalse(self.blacklist().active, "QUIT is no longer a keyword of this number")

    def test_composer_warns_when_texting_an_opted_out_number_by_hand(self):
        self.env["phone.blacklist"].sudo().add("+37041654321")
        composer = Form(self.env["sms.composer"].with_user(self.user_sales).with_context(
            default_res_model="res.partner", default_res_id=self.partner.id, default_composition_mode="comment"))
        self.assertIn("+37041654321 opted out of SMS", composer.didww_optout_warning)
        composer.body = "Sorry, one last thing"
        composer.save().action_send_sms()
        self.assertEqual(len(self.outbound_requests()), 1, "warned, the user decides")
        other = Form(self.env["sms.composer"].with_user(self.user_sales).with_context(
            default_res_model="res.partner", default_res_id=self.partner_us.id, default_composition_mode="comment"))
        self.assertFalse(other.didww_optout_warning)

    def test_automated_sms_with_note_skips_an_opted_out_number_and_says_why(self):
        self.env["phone.blacklist"].sudo().add("+37041654321")
        lead = self.env["crm.lead"].create({"name": "Won deal", "contact_name": "Ona", "phone": "+37041654321",
                                            "user_id": self.user_sales.id})
        ok_lead = self.env["crm.lead"].create({"name": "Other deal", "contact_name": "Jonas",
                                               "phone": "+37061234567", "user_id": self.user_sales.id})
        action = self.env.ref("didww_connector.action_server_lead_sms_won").copy({"sms_method": "comment"})
        action.with_context(active_model="crm.lead", active_ids=(lead | ok_lead).ids).run()
        self.send_queue()
        destinations = [r["json"]["data"]["attributes"]["destination"] for r in self.outbound_requests()]
        self.assertEqual(destinations, ["37061234567"])
        self.assertIn("the customer opted out", lead.message_ids[0].body)

    def test_mass_sms_skips_an_opted_out_number_and_logs_it(self):
        self.inbound("STOP")
        self.send_queue()  # the confirmation
        self.fake.reset()
        composer = self.env["sms.composer"].with_user(self.user_sales).with_context(
            default_res_model="res.partner", default_res_ids=(self.partner | self.partner_us).ids,
            default_composition_mode="mass", default_body="Big sale").create({})
        composer.action_send_sms()
        self.send_queue()
        destinations = [r["json"]["data"]["attributes"]["destination"] for r in self.outbound_requests()]
        self.assertEqual(destinations, ["12125550142"])
        self.assertIn("not sent", self.partner.message_ids[0].body)
