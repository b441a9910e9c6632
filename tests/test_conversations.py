
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
        self.assertFalse(line.customer_name or line.document_name, "not the lead's name, nor its customer")
        self.assertEqual(line.remote_display, "+370 611 11111", "the number the customer texted from")
        self.assertFalse(line.last_message_preview, "not the text")
        self.assertFalse(line.opt_keyword)
        self.assertFalse(line.is_unread)
        otto = self.conversations(self.user_other, [("remote_number", "=", "+37061111111")])
        self.assertEqual(otto.last_message_preview, "My secret budget is 50k")
        self.assertEqual((otto.customer_name, otto.document_name), (False, lead.display_name))

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

    def test_the_customer_is_the_documents_contact_and_the_document_is_named_apart(self):
        lead = self.env["crm.lead"].create({"name": "Blue bike", "partner_id": self.partner.id,
                                            "user_id": self.user_sales.id, "type": "opportunity"})
        # Sally texted the lead's customer at another number of theirs
        self.env["didww.sms.session"]._touch_outbound_many(
            [(self.number_lt, "+37061111111", self.user_sales, lead, "Your bike is ready")])
        self.env["crm.lead"].create({"name": "Web form", "phone": "+37061111113", "contact_name": "Jonas Web",
                                     "user_id": self.user_sales.id})
        self.inbound("about the web form", sender="37061111113")
        bike = self.conversations(self.user_sales, [("remote_number", "=", "+37061111111")])
        self.assertEqual((bike.customer_name, bike.document_name, bike.remote_display, bike.direction),
                         ("Ona Customer", "Blue bike", "+370 611 11111", "out"))
        web = self.conversations(self.user_sales, [("remote_number", "=", "+37061111113")])
        self.assertEqual((web.customer_name, web.document_name, web.direction), ("Jonas Web", "Web form", "in"))
        self.inbound("contact itself")
        contact = self.conversations(self.user_sales, [("remote_number", "=", "+37041654321")])
        self.assertEqual((contact.customer_name, contact.document_name), ("Ona Customer", False))

    def test_stop_and_start_lines_say_so(self):
        self.inbound("Stop")
        line = self.conversations(self.user_sales)
        self.assertEqual((line.direction, line.opt_keyword), ("in", "out"))
        # the number's confirmation, texted back: the line still says the customer opted out
        self.env["didww.sms.session"]._touch_outbound_many(
            [(self.number_lt, "+37041654321", self.env["res.users"], None, "You will receive no more SMS.")])
        line.invalidate_recordset()
        self.assertEqual((line.direction, line.opt_keyword), ("out", "out"))
        self.inbound("START")
        line.invalidate_recordset()
        self.assertEqual(line.opt_keyword, "in")
        self.inbound("please don't stop")
        line.invalidate_recordset()
        self.assertFalse(line.opt_keyword, "a keyword inside a sentence is an ordinary message")
        arch = self.env["didww.sms.session"].with_user(self.user_sales).get_views(
            [(False, "list")])["views"]["list"]["arch"]
        self.assertIn("decoration-muted=\"opt_keyword == 'out'\"", arch)

    def test_a_mass_sms_makes_one_line_per_customer_texted_each_named(self):
        leads = self.env["crm.lead"].create([
            {"name": f"Spring offer {name}", "contact_name": name, "phone": phone, "user_id": self.user_sales.id}
            for name, phone in [("Ana", "+37061000001"), ("Ben", "+37061000002"), ("Cid", "+37061000003"),
                                ("Dan", "+37061000003"), ("Eve", False)]])  # Dan shares Cid's number
        for _round in range(2):  # the same mass SMS sent twice adds no line
            self.env["sms.composer"].with_user(self.user_sales).with_context(
                default_res_model="crm.lead", default_res_ids=leads.ids, default_composition_mode="mass",
                default_mass_keep_log=True,
            ).create({"body": "Spring offer: 10% off"}).action_send_sms()
            self.env["sms.sms"].sudo()._process_queue()
            lines = self.conversations(self.user_sales, [("remote_number", "like", "+3706100000")])
            self.assertEqual(sorted(lines.mapped("remote_display")),
                             ["+370 610 00001", "+370 610 00002", "+370 610 00003"], "one line per number texted")
            self.assertEqual(set(lines.mapped("direction")), {"out"})
            self.assertEqual(len(set(zip(lines.mapped("customer_name"), lines.mapped("remote_display"),
                                         strict=True))), 3, "each line names its customer")

    def test_a_line_whose_document_was_deleted_says_so_when_opened(self):
        lead = self.env["crm.lead"].create({"name": "Gone", "phone": "+37061111114", "user_id": self.user_sales.id})
        self.inbound("hello?", sender="37061111114")
        line = self.conversations(self.user_admin, [("remote_number", "=", "+37061111114")])
        lead.unlink()
        action = line.with_user(self.user_admin).action_open_document()
        self.assertEqual((action["tag"], action["params"]["type"]), ("display_notification", "warning"))

    def test_administrators_and_users_have_one_list_whose_lines_open_the_document(self):
        action = self.env.ref("didww_connector.didww_sms_conversation_action")
        self.assertEqual(self.env.ref("didww_connector.didww_sms_session_menu").action, action)
        self.assertEqual(self.env.ref("didww_connector.didww_sms_session_menu").name,
                         self.env.ref("didww_connector.didww_sms_conversation_menu").name)
        self.assertFalse(self.env.ref("didww_connector.didww_sms_session_action", raise_if_not_found=False))
        for user in (self.user_admin, self.user_sales):
            arch = self.env["didww.sms.session"].with_user(user).get_views([(False, "list")])["views"]["list"]["arch"]
            self.assertIn('action="action_open_document"', arch)

    def test_the_menu_is_in_crm_for_internal_users(self):
        menu = self.env.ref("didww_connector.didww_sms_conversation_menu")
        self.assertEqual(menu.parent_id, self.env.ref("crm.crm_menu_sales"))
        self.assertIn(menu, self.env["ir.ui.menu"].with_user(self.user_sales).search([("id", "=", menu.id)]))
