import importlib.util

from odoo.exceptions import UserError
from odoo.tests import Form, tagged
from odoo.tools.misc import file_path

from .common import DidwwCase
from .consent_common import ConsentMixin


@tagged("post_install", "-at_install", "didww_connector")
class TestConsentLedger(ConsentMixin, DidwwCase):
    """STOP / START per company, the append-only history, Odoo's blacklist as the union, HELP."""

    def test_stop_to_a_opts_out_of_a_only_and_start_to_b_does_not_touch_a(self):
        self.keyword("STOP")
        self.assertEqual(self.consent(self.company).state, "opted_out")
        self.assertFalse(self.consent(self.company_b), "B's ledger has never heard of the number")
        self.keyword("START", number=self.number_b)
        self.assertEqual(self.consent(self.company).state, "opted_out", "START to B does not touch A")
        self.assertEqual(self.consent(self.company_b).state, "opted_in")
        self.run_queue()
        self.fake.reset()
        # A may not text the number, on any path; B may
        self.partner_us.with_user(self.user_sales)._message_sms("A's offer")
        lead_b = self.env["crm.lead"].create({"name": "B lead", "phone": "+12125550142",
                                              "company_id": self.company_b.id})
        lead_b._message_sms("B's offer")
        self.run_queue()
        self.assertEqual(self.sent_to("+12125550142"), ["B's offer"])
        failed = self.env["sms.sms"].sudo().search([("body", "=", "A's offer")])
        self.assertEqual(failed.state, "error")
        self.assertEqual(failed.failure_type, "sms_blacklist")
        self.assertIn("opted out of SMS from", failed.didww_failure_reason)

    def test_stop_to_b_after_a_keeps_the_blacklist_until_both_opt_back_in(self):
        Blacklist = self.env["phone.blacklist"].sudo().with_context(active_test=False)
        self.keyword("STOP")
        self.keyword("STOP", number=self.number_b)
        entry = Blacklist.search([("number", "=", "+12125550142")])
        self.assertTrue(entry.active and entry.didww_consent)
        self.keyword("START")
        self.assertTrue(entry.active, "B still has the number opted out: Odoo's own flows keep skipping it")
        self.keyword("START", number=self.number_b)
        self.assertFalse(entry.active, "no company has it opted out any more")

    def test_a_number_blacklisted_by_hand_stays_blacklisted_after_start(self):
        self.env["phone.blacklist"].sudo().add("+12125550142")
        self.keyword("STOP")
        self.keyword("START")
        entry = self.env["phone.blacklist"].sudo().search([("number", "=", "+12125550142")])
        self.assertTrue(entry.active, "an administrator's entry is taken off by a person only")
        self.assertFalse(entry.didww_consent)

    def test_history_records_each_keyword_with_message_id_and_cannot_be_changed(self):
        self.keyword(" stop! ")
        self.keyword("STOP")
        self.keyword("Start")
        consent = self.consent(self.company)
        events = consent.event_ids.sorted("id")
        self.assertEqual(events.mapped("keyword"), ["STOP", "STOP", "START"])
        self.assertEqual(events.mapped("state"), ["opted_out", "opted_out", "opted_in"])
        self.assertEqual(events[0].message, " stop! ")
        self.assertTrue(events[0].didww_message_id.startswith("kw-"))
        self.assertEqual(events[0].didww_number, self.number_us.number)
        self.assertIn("texting STOP to +19179056077", events[0].origin)
        for record in (events[0], events[0].sudo()):
            with self.assertRaises(UserError):
                record.write({"keyword": "START"})
            with self.assertRaises(UserError):
                record.unlink()
        with self.assertRaises(UserError):
            consent.sudo().write({"state": "opted_in"})
        with self.assertRaises(UserError):
            consent.sudo().unlink()
        self.assertEqual(len(consent.event_ids), 3, "nothing was lost")

    def test_a_sales_manager_records_a_consent_change_with_their_name(self):
        self.keyword("STOP")
        consent = self.consent(self.company)
        with self.assertRaises(UserError):
            consent.with_user(self.user_sales).action_opt_in()
        manager = self.env["res.users"].create({
            "name": "Mia Manager", "login": "mia_consent", "company_id": self.company.id,
            "company_ids": [(4, self.company.id)],
            "groups_id": [(6, 0, [self.env.ref("sales_team.group_sale_manager").id])]})
        consent.with_user(manager).action_opt_in()
        self.assertEqual(consent.state, "opted_in")
        event = consent.event_ids[:1]
        self.assertEqual((event.action, event.user_id), ("manual", manager))
        self.assertIn("Mia Manager", event.origin)

    def test_help_and_info_answered_once_per_conversation_a_day(self):
        self.company.didww_sms_help_text = False
        self.keyword("HELP")
        self.keyword("info")
        self.run_queue()
        self.assertEqual(self.sent_to("+12125550142"), [
            f"{self.company.name}: reply STOP to stop receiving texts, START to receive them again."])
        self.company_b.didww_sms_help_text = "B Corp help: text STOP to stop."
        self.keyword("HELP", number=self.number_b)
        self.run_queue()
        self.assertEqual(self.sent_to("+12125550142")[-1], "B Corp help: text STOP to stop.",
                         "another conversation: answered")
        events = self.env["didww.sms.consent.event"].sudo().search([("action", "=", "help")])
        self.assertEqual(sorted(events.mapped("replied")), [False, True, True])
        self.assertEqual(self.consent(self.company).state, "opted_in", "HELP changes no consent")

    def test_help_is_answered_even_when_opted_out_and_at_night(self):
        self.keyword("STOP")
        self.company.write({"didww_quiet_scope": "all", "didww_quiet_start": 0.0, "didww_quiet_end": 0.01})
        self.run_queue()
        self.fake.reset()
        self.keyword("HELP")
        self.run_queue()
        self.assertEqual(len(self.sent_to("+12125550142")), 1)

    def test_the_contact_form_shows_consent_per_company_and_history(self):
        self.keyword("STOP")
        self.keyword("START", number=self.number_b)
        partner = self.partner_us.with_user(self.user_sales)
        self.assertEqual(set(partner.didww_consent_ids.mapped(lambda c: (c.company_id.name, c.state))),
                         {(self.company.name, "opted_out"), ("B Corp", "opted_in")})
        self.assertEqual(len(partner.didww_consent_event_ids), 2)
        form = Form(self.partner_us.with_user(self.user_sales))
        self.assertEqual(len(form.didww_consent_ids), 2)

    def test_the_ledger_exports_for_an_audit(self):
        self.keyword("STOP")
        self.keyword("START")
        events = self.env["didww.sms.consent.event"].search([("number", "=", "+12125550142")])
        rows = events.export_data(["date", "number", "company_id", "action", "keyword", "state", "didww_number",
                                   "origin", "didww_message_id"])["datas"]
        self.assertEqual([row[4] for row in rows], ["START", "STOP"])
        self.assertEqual({row[1] for row in rows}, {"+12125550142"})

    def test_a_user_of_another_company_does_not_see_its_ledger(self):
        self.keyword("STOP", number=self.number_b)
        other = self.env["res.users"].create({
            "name": "Only A", "login": "only_a_consent", "company_id": self.company.id,
            "company_ids": [(6, 0, self.company.ids)], "groups_id": [(6, 0, [self.env.ref("base.group_user").id])]})
        self.assertFalse(self.env["didww.sms.consent"].with_user(other).search([]))
        self.assertFalse(self.env["didww.sms.consent.event"].with_user(other).search([]))


@tagged("post_install", "-at_install", "didww_connector")
class TestConsentMigration(ConsentMixin, DidwwCase):
    """18.0.1.4.0: the blacklist's opt-outs move into the companies' ledgers."""

    def migrate(self):
        path = file_path("didww_connector/migrations/18.0.1.4.0/post-consent.py")
        spec = importlib.util.spec_from_file_location("didww_post_consent", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        module.migrate(self.env.cr, "18.0.1.3.0")
        self.env.invalidate_all()

    def test_the_addons_entries_go_to_the_numbers_company_the_others_to_every_company(self):
        Blacklist = self.env["phone.blacklist"].sudo()
        # as 18.0.1.3.0 left them: an opt-out texted to company B's number, one added by hand
        by_text = Blacklist._add(["+12125550142"], message="Opted out by texting STOP to +13125550100 (DIDWW).")
        by_hand = Blacklist._add(["+14155550123"])
        archived = Blacklist._add(["+13125550111"])
        archived.action_archive()
        self.migrate()
        self.assertEqual(self.consent(self.company_b).state, "opted_out")
        self.assertFalse(self.consent(self.company), "texted to B only")
        event = self.consent(self.company_b).event_ids
        self.assertEqual((event.action, event.keyword, event.didww_number), ("migrated", "STOP", "+13125550100"))
        for company in (self.company, self.company_b):
            self.assertEqual(self.consent(company, "+14155550123").state, "opted_out")
        self.assertFalse(self.env["didww.sms.consent"].sudo().search([("number", "=", "+13125550111")]))
        self.assertTrue(by_text.didww_consent and by_hand.didww_consent, "the ledger keeps them now")
        # as before the upgrade, START takes the number back (here: once both companies heard it)
        self.keyword("START", sender="+14155550123")
        self.assertTrue(by_hand.active)
        self.keyword("START", sender="+14155550123", number=self.number_b)
        self.assertFalse(by_hand.active)
