from freezegun import freeze_time

from odoo.tests import Form, tagged

from .common import DidwwHttpCase
from .consent_common import ConsentMixin

NY = "+12125550142"
NIGHT = "2026-12-01 03:00:00"  # 22:00 in New York
BEFORE_OPENING = "2026-12-01 12:59:00"
OPENING = "2026-12-01 13:00:00"  # 08:00 in New York
HELD = "Held until 08:00 (recipient's local time)"


@tagged("post_install", "-at_install", "didww_connector")
class TestConsentEveryPath(ConsentMixin, DidwwHttpCase):
    """The consent ledger and quiet hours hold on every way an SMS leaves (one choke point)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.didww_missed_call_sms = True

    # each path texts Ursula (New York) once
    def send_composer(self, send_now=False, **context):
        composer = Form(self.env["sms.composer"].with_user(self.user_sales).with_context(
            default_res_model="res.partner", default_res_id=self.partner_us.id, default_composition_mode="comment",
            **context))
        composer.body = "by hand"
        if send_now:  # offered only when the SMS would wait
            composer.didww_send_now = True
        composer.save().action_send_sms()

    def send_phone_button(self):
        # the SMS button of a phone field opens the composer on that field
        self.send_composer(default_number_field_name="mobile")

    def send_mass(self):
        self.env["sms.composer"].with_user(self.user_sales).with_context(
            default_res_model="res.partner", default_res_ids=self.partner_us.ids, default_composition_mode="mass",
            default_mass_keep_log=True, default_body="mass").create({}).action_send_sms()

    def send_server_action(self):
        lead = self.env["crm.lead"].create({"name": "Won", "contact_name": "Ursula", "phone": NY,
                                            "user_id": self.user_sales.id})
        action = self.env.ref("didww_connector.action_server_lead_sms_won")
        action.with_context(active_model="crm.lead", active_ids=lead.ids).run()

    def send_resend(self):
        self.fake.script("/outbound_messages", status=400, body={"errors": [{"detail": "bad"}]})
        scope, self.company.didww_quiet_scope = self.company.didww_quiet_scope, "off"
        message = self.partner_us.with_user(self.user_sales)._message_sms("resend me")
        self.company.didww_quiet_scope = scope
        self.fake.scripted.clear()
        wizard = self.env["sms.resend"].with_user(self.user_sales).with_context(
            default_mail_message_id=message.id).create({})
        wizard.action_resend()

    def send_xmlrpc(self):
        admin = self.env.ref("base.user_admin")
        sms_id = self.xmlrpc_object.execute(self.env.cr.dbname, admin.id, "admin", "sms.sms", "create",
                                            {"number": NY, "body": "by RPC"})
        self.assertTrue(sms_id)

    def send_missed_call(self):
        Call = self.env["didww.call"].with_user(self.user_sales)
        Call.browse(Call.didww_incoming(NY)["id"]).didww_ended("missed", end_cause="remote")

    PATHS = ("send_composer", "send_phone_button", "send_mass", "send_server_action", "send_resend",
             "send_xmlrpc", "send_missed_call")

    def test_nothing_reaches_an_opted_out_number_on_any_path(self):
        self.keyword("STOP")
        self.run_queue()
        for path in self.PATHS:
            with self.subTest(path=path):
                self.fake.reset()
                getattr(self, path)()
                self.run_queue()
                self.assertEqual(self.sent_to(NY), [], path)

    def test_every_path_is_held_at_night_and_leaves_once_when_the_window_opens(self):
        self.company.didww_quiet_scope = "all"
        cron = self.env.ref("sms.ir_cron_sms_scheduler_action")
        for path in self.PATHS:
            with self.subTest(path=path):
                self.fake.reset()
                self.env["didww.call"].sudo().search([]).write({"call_back_sms_at": False})
                with freeze_time(NIGHT, tick=True):
                    getattr(self, path)()
                    self.run_queue()
                    self.assertEqual(self.sent_to(NY), [], path)
                    held = self.env["sms.sms"].sudo().search([("number", "=", NY), ("state", "=", "outgoing")])
                    self.assertEqual(len(held), 1, path)
                    self.assertEqual(held.didww_failure_reason, HELD)
                    notification = held.sms_tracker_id.mail_notification_id
                    if held.mail_message_id:
                        self.assertEqual(notification.failure_reason, HELD, "the chatter shows why it waits")
                        self.assertEqual(notification.notification_status, "ready")
                    self.assertTrue(self.env["ir.cron.trigger"].sudo().search(
                        [("cron_id", "=", cron.id), ("call_at", "=", "2026-12-01 13:00:00")]),
                        "the queue wakes up when the window opens")
                with freeze_time(BEFORE_OPENING, tick=True):
                    self.run_queue()
                    self.assertEqual(self.sent_to(NY), [], path)
                with freeze_time(OPENING, tick=True):
                    self.run_queue()
                    self.run_queue()
                self.assertEqual(len(self.sent_to(NY)), 1, f"{path}: held SMS leave exactly once")

    def test_by_hand_is_not_held_by_quiet_hours_for_mass_and_automated_sms(self):
        self.company.didww_quiet_scope = "automated"
        with freeze_time(NIGHT, tick=True):
            self.send_composer()
            self.assertEqual(self.sent_to(NY), ["by hand"])
            self.send_mass()
            self.run_queue()
            self.assertEqual(self.sent_to(NY), ["by hand"], "the mass SMS waits")

    def test_a_person_may_send_now_and_is_told_the_sms_would_wait(self):
        self.company.didww_quiet_scope = "all"
        with freeze_time(NIGHT, tick=True):
            composer = Form(self.env["sms.composer"].with_user(self.user_sales).with_context(
                default_res_model="res.partner", default_res_id=self.partner_us.id,
                default_composition_mode="comment"))
            self.assertIn(HELD[1:], composer.didww_hold_info)
            composer.body = "you asked for it"
            composer.didww_send_now = True
            composer.save().action_send_sms()
            self.assertEqual(self.sent_to(NY), ["you asked for it"])
            sms = self.env["sms.sms"].sudo().search([("body", "=", "you asked for it")])
            self.assertTrue(sms.didww_send_now and sms.didww_by_hand)
            # send now does not reach an opted-out number
            self.keyword("STOP")
            self.run_queue()
            self.fake.reset()
            self.env["sms.composer"].with_user(self.user_sales).with_context(
                default_res_model="res.partner", default_res_id=self.partner_us.id,
                default_composition_mode="comment").create({"body": "now!", "didww_send_now": True}).action_send_sms()
            self.run_queue()
            self.assertEqual(self.sent_to(NY), [])

    def test_send_now_is_not_for_automated_sms(self):
        self.company.didww_quiet_scope = "all"
        with freeze_time(NIGHT, tick=True):
            sms = self.env["sms.sms"].sudo().with_context(didww_send_now=True).create({"number": NY, "body": "x"})
            self.assertFalse(sms.didww_send_now, "only a person in the composer chooses to send now")
            self.run_queue()
            self.assertEqual(self.sent_to(NY), [])
