import base64
import json

from odoo.tests import new_test_user, tagged

from .common import DidwwHttpCase


def b64(text):
    return base64.b64encode(text.encode()).decode()


@tagged("post_install", "-at_install", "didww_connector")
class TestSmsReceived(DidwwHttpCase):
    """A customer's SMS on the chatter: an SMS by the customer, shown live on open chatters."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Odoo's default preference for new users: "Handle by Emails"
        cls.user_email = new_test_user(
            cls.env, login="didww_emma", name="Emma Email", email="emma@example.com",
            groups="base.group_user,sales_team.group_sale_salesman", company_id=cls.company.id,
            notification_type="email")

    def inbound(self, text, sender="37041654321", to="37041123456"):
        response = self.post_json({"to": to, "from": sender, "time": "Mon, 23 Nov 2026 07:30:00 GMT",
                                   "text": text, "data": b64(text)})
        self.assertEqual(response.status_code, 200, response.text)
        return self.env["didww.webhook.event"].search([], limit=1)

    def pushes(self):
        """``{partner: [payload]}`` of the 'SMS received' pushes this transaction would send."""
        self.env.cr.precommit.run()  # Odoo writes bus notifications just before the commit
        pushes = {}
        for row in self.env["bus.bus"].sudo().search([("message", "like", "didww_connector/sms_received")]):
            _db, model, partner_id = json.loads(row.channel)
            self.assertEqual(model, "res.partner")
            pushes.setdefault(self.env["res.partner"].browse(partner_id), []).append(
                json.loads(row.message)["payload"])
        return pushes

    def test_a_received_sms_is_an_sms_by_the_customer_with_its_text_as_body(self):
        self.inbound("Is the blue one\nstill available? https://example.com/blue")
        message = self.partner.message_ids[0]
        self.assertEqual((message.message_type, message.author_id, message.subtype_id),
                         ("sms", self.partner, self.env.ref("mail.mt_note")), "as Odoo shows an SMS")
        self.assertTrue(message.body.startswith("<p>Is the blue one<br>still available? "), message.body)
        self.assertIn('href="https://example.com/blue"', message.body, "links are clickable, as in Odoo's SMS")
        self.assertNotIn("SMS received", message.body, "no technical header")
        self.assertNotIn("<strong>", message.body)
        self.assertIn("Texted to +370 41 123456", message.body, "the DIDWW number, on a discreet line")
        self.assertIn("text-muted", message.body)

    def test_users_are_told_by_their_preference_and_nobody_is_texted(self):
        self.number_lt.user_ids |= self.user_email
        self.inbound("Who answers?")
        message = self.partner.message_ids[0]
        kinds = {notice.res_partner_id: notice.notification_type for notice in message.notification_ids}
        self.assertEqual(kinds, {self.user_sales.partner_id: "inbox", self.user_email.partner_id: "email"})
        self.assertFalse(self.env["sms.sms"].sudo().search([("mail_message_id", "=", message.id)]))
        self.assertFalse(self.outbound_requests(), "nothing is texted back")

    def test_a_lead_customer_following_the_lead_is_not_texted_back(self):
        lead = self.env["crm.lead"].create({"name": "Blue bike", "phone": "+37061111111",
                                            "user_id": self.user_sales.id})
        lead.message_subscribe(partner_ids=self.partner.ids)  # a customer following the lead
        self.inbound("about the bike", sender="37061111111")
        message = lead.message_ids[0]
        self.assertEqual(message.message_type, "sms")
        self.assertFalse(message.notification_ids.filtered(lambda n: n.notification_type == "sms"))
        self.assertFalse(self.outbound_requests())

    def test_open_chatters_of_followers_and_told_users_show_it_whatever_their_preference(self):
        follower = new_test_user(self.env, login="didww_fred", name="Fred Follower", groups="base.group_user",
                                 company_id=self.company.id, notification_type="email")
        bystander = new_test_user(self.env, login="didww_bob", name="Bob Bystander", groups="base.group_user",
                                  company_id=self.company.id)
        self.partner.message_subscribe(partner_ids=follower.partner_id.ids)
        self.number_lt.user_ids |= self.user_email
        self.inbound("Live please")
        pushes = self.pushes()
        expected = {"model": "res.partner", "id": self.partner.id}
        for user in (self.user_sales, self.user_email, follower):
            self.assertEqual(pushes.get(user.partner_id), [expected], user.name)
        self.assertNotIn(bystander.partner_id, pushes)
        self.assertNotIn(self.partner, pushes, "the customer is no user")
        self.assertEqual(set(expected), {"model", "id"}, "the push says where, never what")

    def test_an_sms_from_a_sender_without_contact_on_a_lead_shows_their_number_as_author(self):
        lead = self.env["crm.lead"].create({"name": "Web lead", "phone": "+37061111112", "user_id": self.user_sales.id})
        self.inbound("no contact yet", sender="37061111112")
        message = lead.message_ids[0]
        self.assertEqual((message.message_type, message.author_id.id, message.email_from),
                         ("sms", False, "+37061111112"))
