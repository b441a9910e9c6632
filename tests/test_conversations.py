
from odoo.tests import new_test_user, tagged
from odoo.tools.safe_eval import safe_eval

from .common import DidwwHttpCase, b64


@tagged("post_install", "-at_install", "didww_connector")
class TestConversations(DidwwHttpCase):
    """CRM > Sales > SMS Conversations: one line per customer and number, for the users of the number."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.user_admin = new_test_user(cls.env, login="didww_admin", name="Ada Admin",
                                       groups="base.group_user,base.group_system", company_id=cls.company.id)
        cls.user_outsider = new_test_user(cls.env, login="didww_outsider", name="Olga Outsider",
                                          groups="base.group_user,sales_team.group_sale_salesman_all_leads",
                                          company_id=cls.company.id, notification_type="inbox")
        cls.number_shared = cls.env["didww.sms.number"].create({"number": "+37052000000", "all_users": True})

    def inbound(self, text, sender="37041654321", to="37041123456"):
        payload = {"to": to, "from": sender, "time": "Mon, 23 Nov 2026 07:30:00 GMT", "text": text, "data": b64(text)}
        response = self.post_json(payload)
        self.assertEqual(response.status_code, 200, response.text)

    def conversations(self, user, domain=()):
        return self.env["didww.sms.session"].with_user(user).search(
            [("last_message_date", "!=", False), *domain])

    def test_a_line_shows_customer_number_holder_time_and_first_words(self):
        self.inbound("Hello, is the  blue\nmodel still available? " + "x" * 100)
        line = self.conversations(self.user_sales)
        self.assertEqual(len(line), 1)
        self.assertEqual((line.customer_name, line.remote_number, line.number_id),
                         ("Ona Customer", "+37041654321", self.number_lt))
        self.assertFalse(line.user_id, "nobody holds it until someone replies")
        self.assertTrue(line.last_message_date)
        self.assertTrue(line.last_message_inbound)
        self.assertTrue(line.last_message_preview.startswith("Hello, is the blue model still available? xxx"))
        self.assertLessEqual(len(line.last_message_preview), 80)
        self.assertTrue(line.is_unread)

        self.partner.with_user(self.user_sales)._message_sms("Yes it is!")
        line.invalidate_recordset()
        self.assertEqual((line.user_id, line.last_message_preview, line.last_message_inbound),
                         (self.user_sales, "Yes it is!", False))

    def test_filters_mine_unread_unassigned(self):
        self.inbound("first customer")
        self.inbound("second customer", sender="37061234567")
        partner_2 = self.env["res.partner"].search([("phone_sanitized", "=", "+37061234567")])
        partner_2.with_user(self.user_sales)._message_sms("Hi!")
        first = self.conversations(self.user_sales, [("remote_number", "=", "+37041654321")])
        second = self.conversations(self.user_sales, [("remote_number", "=", "+37061234567")])
        self.assertEqual(self.conversations(self.user_sales, [("user_id", "=", self.user_sales.id)]), second)
        self.assertEqual(self.conversations(self.user_sales, [("user_id", "=", False)]), first)
        self.assertEqual(self.conversations(self.user_sales, [("is_unread", "=", True)]), first | second)
        # reading the message in the Inbox clears Unread for Sally only
        first.sudo().last_inbound_message_id.with_user(self.user_sales).set_message_done()
        self.assertEqual(self.conversations(self.user_sales, [("is_unread", "=", True)]), second)
        self.assertEqual(self.conversations(self.user_sales, [("is_unread", "=", False)]), first)

    def test_users_see_conversations_of_their_numbers_and_all_users_numbers_admins_all(self):
        self.inbound("to Sally's number")
        self.inbound("to the shared number", to="37052000000")
        sally = self.conversations(self.user_sales)
        self.assertEqual(sally.number_id, self.number_lt | self.number_shared)
        self.assertEqual(self.conversations(self.user_outsider).number_id, self.number_shared)
        self.assertEqual(self.conversations(self.user_admin).number_id, self.number_lt | self.number_shared)

    def test_another_companys_conversations_stay_hidden(self):
        other_company = self.env["res.company"].create({"name": "Other Co", "country_id": self.us.id})
        number = self.env["didww.sms.number"].create({
            "number": "+37052111111", "all_users": True, "company_id": other_company.id})
        session = self.env["didww.sms.session"]._get_or_create(number, "+37041654321")
        session.write({"last_message_date": "2026-11-23 08:00:00"})
        self.user_admin.company_ids |= other_company
        self.assertFalse(self.conversations(self.user_sales))
        self.assertFalse(self.env["didww.sms.session"].with_user(self.user_admin).with_context(
            allowed_company_ids=[self.company.id]).search([("id", "=", session.id)]),
            "only the companies selected in the switcher")
        self.assertEqual(self.env["didww.sms.session"].with_user(self.user_admin).with_context(
            allowed_company_ids=[self.company.id, other_company.id]).search([("id", "=", session.id)]), session)

    def test_opening_a_line_opens_the_chatter_and_the_reply_leaves_from_the_same_number(self):
        self.inbound("Question for the US office", to="19179056077")
        line = self.conversations(self.user_sales)
        self.assertTrue(line.is_unread)
        action = line.with_user(self.user_sales).action_open_document()
        self.assertEqual((action["res_model"], action["res_id"]), ("res.partner", self.partner.id))
        line.invalidate_recordset(["is_unread"])
        self.assertFalse(line.is_unread, "opening it reads it")
        self.env[action["res_model"]].browse(action["res_id"]).with_user(self.user_sales)._message_sms("Answer")
        self.assertEqual(self.outbound_requests()[-1]["json"]["data"]["attributes"]["source"], "19179056077")

    def test_an_sms_for_a_document_the_user_cannot_read_does_not_leak_to_them(self):
        # a lead of Otto's; Sally (own leads only) is assigned to the number, Otto too
        self.number_lt.user_ids |= self.user_other
        lead = self.env["crm.lead"].create({"name": "Otto's deal", "phone": "+37061111111",
                                            "user_id": self.user_other.id})
        self.assertFalse(lead.with_user(self.user_sales).has_access("read"))
        self.inbound("My secret budget is 50k", sender="37061111111")
        message = lead.message_ids[0]
        self.assertIn("My secret budget", message.body)
        notified = message.notification_ids.res_partner_id
        self.assertIn(self.user_other.partner_id, notified)
        self.assertNotIn(self.user_sales.partner_id, notified, "no Inbox notification carrying the text")
        line = self.conversations(self.user_sales, [("remote_number", "=", "+37061111111")])
        self.assertEqual(line.customer_name, "+37061111111", "not the lead's name")
        self.assertFalse(line.last_message_preview, "not the text")
        self.assertFalse(line.is_unread)
        otto = self.conversations(self.user_other, [("remote_number", "=", "+37061111111")])
        self.assertEqual(otto.last_message_preview, "My secret budget is 50k")
        self.assertEqual(otto.customer_name, lead.display_name)

    def test_the_list_loads_for_a_salesperson_as_the_web_client_asks_it(self):
        self.inbound("Hello")
        action = self.env["ir.actions.act_window"]._for_xml_id("didww_connector.didww_sms_conversation_action")
        Session = self.env["didww.sms.session"].with_user(self.user_sales)
        views = Session.get_views([(action["view_id"][0], "list"), (action["search_view_id"][0], "search")])
        fields_in_list = views["models"]["didww.sms.session"]["fields"]
        result = Session.web_search_read(
            safe_eval(action["domain"] or "[]"),
            specification={name: {} for name in fields_in_list})
        self.assertEqual(result["length"], 1)
        self.assertEqual(result["records"][0]["last_message_preview"], "Hello")
        for name in ("mine", "unread", "unassigned"):
            self.assertIn(f'name="{name}"', views["views"]["search"]["arch"])

    def test_the_menu_is_in_crm_for_internal_users(self):
        menu = self.env.ref("didww_connector.didww_sms_conversation_menu")
        self.assertEqual(menu.parent_id, self.env.ref("crm.crm_menu_sales"))
        self.assertIn(menu, self.env["ir.ui.menu"].with_user(self.user_sales).search([("id", "=", menu.id)]))
