from odoo import Command
from odoo.tests import tagged

from .common import DidwwCase


@tagged("post_install", "-at_install")
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

    def notes(self, record):
        return record.message_ids.filtered(lambda m: m.subtype_id == self.env.ref("mail.mt_note"))

    def test_open_composer_action_one_and_many(self):
        one = self.run_server_action("didww_connector.action_server_lead_open_sms_composer", self.leads[0])
        self.assertEqual((one["res_model"], one["context"]["default_composition_mode"]), ("sms.composer", "comment"))
        many = self.run_server_action("didww_connector.action_server_partner_open_sms_composer",
                                      self.partner | self.partner_us)
        self.assertEqual(many["context"]["default_composition_mode"], "mass")
        self.assertEqual(many["context"]["default_res_ids"], (self.partner | self.partner_us).ids)

    def test_template_action_on_many_leads_respects_blacklist_and_logs_each_result(self):
        self.run_server_action("didww_connector.action_server_lead_sms_follow_up", self.leads)
        self.env["sms.sms"]._process_queue()
        requests = self.outbound_requests()
        self.assertEqual(sorted(r["json"]["data"]["attributes"]["destination"] for r in requests),
                         ["37041654321", "37061234567"])
        unicode_request = next(r for r in requests if r["json"]["data"]["attributes"]["destination"] == "37061234567")
        self.assertIn("Hello Žydrūnė", unicode_request["json"]["data"]["attributes"]["content"])
        self.assertIn("not sent: Missing Number", self.notes(self.leads[2])[0].body)
        self.assertIn("not sent: Blacklisted", self.notes(self.leads[3])[0].body)
        self.assertIn("Hello Ona", self.notes(self.leads[0])[0].body, "the text sent is logged too")

    def test_template_action_on_one_lead(self):
        self.run_server_action("didww_connector.action_server_lead_sms_follow_up", self.leads[0])
        self.env["sms.sms"]._process_queue()
        self.assertEqual(len(self.outbound_requests()), 1)

    def test_user_without_number_gets_a_logged_reason(self):
        (self.number_us | self.number_lt).action_archive()
        self.run_server_action("didww_connector.action_server_lead_sms_follow_up", self.leads[0])
        self.env["sms.sms"]._process_queue()
        self.assertFalse(self.outbound_requests())
        self.assertIn("No DIDWW number to send from", self.notes(self.leads[0])[0].body)

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
                "sms_method": "note"})],
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
