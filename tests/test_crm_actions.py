from odoo import Command
from odoo.tests import tagged

from .common import DidwwCase


@tagged("post_install", "-at_install", "didww_connector")
class TestCrmActions(DidwwCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.leads = cls.env["crm.lead"].create([
            {"name": f"Lead {i}", "contact_name": name, "phone": phone, "user_id": cls.user_sales.id}
            for i, (name, phone) in enumerate([("Ona", "+37041654321"), ("Žydrūnė", "+37061234567"),
                                               ("Nobody", False), ("Blocked", "+37069876543")])])
        cls.env["phone.blacklist"].sudo().add("+37069876543")

    def run_server_action(self, xmlid, records, user=None):
        action = self.env.ref(xmlid).with_user(user or self.user_sales)
        return action.with_context(active_model=records._name, active_ids=records.ids, active_id=records[:1].id).run()

    def follow_up(self, leads, user=None):
        """The Action menu entry: the composer opens with the template, the person presses Send."""
        user = user or self.user_sales
        action = self.run_server_action("didww_connector.action_server_lead_sms_follow_up", leads, user)
        composer = self.env["sms.composer"].with_user(user).with_context(**action["context"]).create({})
        return composer, composer.action_send_sms()

    def sms_notification(self, lead):
        return lead.message_ids.notification_ids.filtered(lambda n: n.notification_type == "sms")

    def test_the_follow_up_action_opens_the_composer_with_the_template_before_texting(self):
        action = self.run_server_action("didww_connector.action_server_lead_sms_follow_up", self.leads)
        self.assertEqual(action["res_model"], "sms.composer")
        self.assertEqual(action["context"]["default_composition_mode"], "mass")
        self.assertEqual(action["context"]["default_template_id"],
                         self.env.ref("didww_connector.sms_template_lead_follow_up").id)
        self.assertFalse(self.env["sms.sms"].sudo().search([("didww_res_model", "=", "crm.lead")]),
                         "nothing is texted before the person confirms")
        one = self.run_server_action("didww_connector.action_server_lead_sms_follow_up", self.leads[0])
        self.assertEqual(one["context"]["default_composition_mode"], "comment")

    def test_one_entry_point_per_task_in_the_action_menu(self):
        for model in ("crm.lead", "res.partner"):
            bound = self.env["ir.actions.actions"].search([("binding_model_id.model", "=", model)])
            self.assertNotIn("Send SMS (DIDWW)", bound.mapped("name"))
            for view_type in ("list", "form"):
                names = [a.name for a in bound if view_type in (a.binding_view_types or "list,form").split(",")]
                self.assertEqual(len(names), len(set(names)), f"{model} {view_type}: {names}")
                self.assertIn("Send SMS", names, "Odoo's own entry point stays")

    def test_follow_up_on_many_leads_texts_each_with_its_status_on_the_lead_and_says_so(self):
        _composer, answer = self.follow_up(self.leads)
        self.assertEqual(answer["tag"], "display_notification")
        self.assertIn("2 SMS on their way", answer["params"]["message"])
        self.assertIn("2 not sent", answer["params"]["message"])
        self.assertIn("Opted out (1)", answer["params"]["message"])
        self.env["sms.sms"]._process_queue()
        requests = self.outbound_requests()
        self.assertEqual(sorted(r["json"]["data"]["attributes"]["destination"] for r in requests),
                         ["37041654321", "37061234567"])
        unicode_request = next(r for r in requests if r["json"]["data"]["attributes"]["destination"] == "37061234567")
        self.assertIn("Hello Žydrūnė", unicode_request["json"]["data"]["attributes"]["content"])
        sent = self.sms_notification(self.leads[0])
        self.assertEqual(sent.notification_status, "pending", "Sent, shown on the message's SMS icon")
        self.assertIn("Hello Ona", sent.mail_message_id.body, "the text sent is on the message")
        self.assertEqual(sent.mail_message_id.message_type, "sms")
        missing = self.sms_notification(self.leads[2])
        self.assertEqual((missing.notification_status, missing.failure_type), ("exception", "sms_number_missing"),
                         "a lead without number is a failure to fix and resend")
        self.assertFalse(self.sms_notification(self.leads[3]), "a blacklisted number is not texted")
        self.assertIn("not sent: the customer opted out", self.leads[3].message_ids[0].body, "and the lead says so")
        self.assertFalse(self.leads[0].message_ids.filtered(lambda m: "not sent" in (m.body or "")))

    def test_a_failed_follow_up_shows_in_red_and_is_resent_the_usual_way(self):
        (self.number_us | self.number_lt).action_archive()
        self.follow_up(self.leads[:2])
        self.env["sms.sms"]._process_queue()
        self.assertFalse(self.outbound_requests())
        failed = self.sms_notification(self.leads[0])
        self.assertEqual(failed.notification_status, "exception")
        self.assertIn("No DIDWW number to send from", failed.failure_reason)
        self.assertFalse(self.leads[0].message_ids.filtered(lambda m: "not sent" in (m.body or "")),
                         "the failure is on the SMS icon, not in a separate note")
        (self.number_us | self.number_lt).action_unarchive()
        resend = self.env["sms.resend"].with_user(self.user_sales).with_context(
            default_mail_message_id=failed.mail_message_id.id).create({})
        resend.action_resend()
        self.env["sms.sms"]._process_queue()
        (request,) = self.outbound_requests()
        self.assertEqual(request["json"]["data"]["attributes"]["destination"], "37041654321")
        self.assertEqual(self.sms_notification(self.leads[0]).notification_status, "pending")

    def test_follow_up_on_one_lead_posts_it_with_its_status(self):
        self.follow_up(self.leads[0])
        self.env["sms.sms"]._process_queue()
        self.assertEqual(len(self.outbound_requests()), 1)
        self.assertEqual(self.sms_notification(self.leads[0]).notification_status, "pending")

    def test_the_shipped_won_action_says_it_sends_the_sms(self):
        action = self.env.ref("didww_connector.action_server_lead_sms_won")
        self.assertEqual(action.sms_method, "comment", "SMS (with note): sent and posted on the lead")
        self.run_server_action("didww_connector.action_server_lead_sms_won", self.leads)
        self.env["sms.sms"]._process_queue()
        self.assertEqual(len(self.outbound_requests()), 2, "blacklisted and missing numbers skipped, no error")
        self.assertEqual(self.sms_notification(self.leads[1]).notification_status, "pending")

    def test_automated_action_texts_the_customer_from_the_salespersons_number_when_won(self):
        if "base.automation" not in self.env:
            self.skipTest("base_automation is not installed (the test runner installs it)")
        self.number_us.user_ids = [Command.set(self.user_other.ids)]  # Otto's number
        lead = self.env["crm.lead"].create({"name": "Big deal", "contact_name": "Ona", "phone": "+37041654321",
                                            "user_id": self.user_other.id})
        won_stage = self.env["crm.stage"].search([("is_won", "=", True)], limit=1)
        self.env["base.automation"].create({
            "name": "Text the customer when a lead is won",
            "model_id": self.env.ref("crm.model_crm_lead").id,
            "trigger": "on_stage_set",
            "trg_field_ref": won_stage.id,
            "action_server_ids": [Command.create({
                "name": "Thank-you SMS", "model_id": self.env.ref("crm.model_crm_lead").id, "state": "sms",
                "sms_template_id": self.env.ref("didww_connector.sms_template_lead_won").id,
                "sms_method": "comment"})],
        })
        # a sales manager (not Otto) moves Otto's lead to Won
        manager = self.env["res.users"].create({
            "name": "Mia Manager", "login": "didww_manager",
            "groups_id": [Command.set(self.env.ref("sales_team.group_sale_manager").ids)]})
        lead.with_user(manager).write({"stage_id": won_stage.id})
        self.env["sms.sms"]._process_queue()
        (request,) = self.outbound_requests()
        attributes = request["json"]["data"]["attributes"]
        self.assertEqual(attributes["source"], "19179056077", "the salesperson's number")
        self.assertEqual(attributes["destination"], "37041654321")
        self.assertIn("Thank you Ona", attributes["content"])
        session = self.env["didww.sms.session"].search([("remote_number", "=", "+37041654321")])
        self.assertEqual((session.user_id, session.res_model, session.res_id), (self.user_other, "crm.lead", lead.id))
