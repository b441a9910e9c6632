from datetime import timedelta

from odoo import fields
from odoo.tests import Form, tagged

from .common import DidwwCase

FAKE_IAP_ERROR = {"errors": [{"title": "Bad Request", "detail": "destination - is invalid", "status": "400"}]}


@tagged("post_install", "-at_install", "didww_connector")
class TestSmsOutbound(DidwwCase):

    def send_to_partner(self, body="Hello from Odoo", partner=None, user=None):
        partner = (partner or self.partner).with_user(user or self.user_sales)
        return partner._message_sms(body)

    # ------------------------------------------------------------
    # The documented request, from each place people text from
    # ------------------------------------------------------------

    def test_partner_sms_reaches_didww_as_documented_and_shows_sent(self):
        message = self.send_to_partner("Labas! Ačiū 👋")
        (request,) = self.outbound_requests()
        self.assertEqual(request["headers"]["Content-Type"], "application/vnd.api+json")
        self.assertEqual(request["json"], {"data": {"type": "outbound_messages", "attributes": {
            "destination": "37041654321", "source": "37041123456", "content": "Labas! Ačiū 👋"}}})
        notification = message.notification_ids
        self.assertEqual(notification.notification_status, "pending")  # shown "Sent"
        tracker = notification.sudo().sms_tracker_ids  # technical records, admins only
        self.assertEqual(tracker.didww_message_id, self.fake.sent[0]["id"])
        self.assertEqual(tracker.didww_status, "accepted")
        sms = self.env["sms.sms"].sudo().search([("uuid", "=", tracker.sms_uuid)])
        self.assertEqual(sms.state, "pending")
        self.assertTrue(sms.to_delete, "sent SMS are garbage-collected, the tracker stays")
        self.assertEqual(sms.didww_company_id, self.company)
        self.assertEqual(sms.didww_user_id, self.user_sales)

    def test_composer_on_a_lead_with_a_template(self):
        lead = self.env["crm.lead"].create({
            "name": "Solar panels", "contact_name": "Jonas", "phone": "+37041654321", "user_id": self.user_sales.id})
        template = self.env.ref("didww_connector.sms_template_lead_follow_up")
        composer = Form(self.env["sms.composer"].with_user(self.user_sales).with_context(
            default_res_model="crm.lead", default_res_id=lead.id, default_composition_mode="comment",
            default_template_id=template.id))
        self.assertIn("+37041123456", composer.didww_source_info)
        composer.save().action_send_sms()
        (request,) = self.outbound_requests()
        content = request["json"]["data"]["attributes"]["content"]
        self.assertIn("Hello Jonas", content)
        self.assertIn("Sally Sales", content)
        self.assertEqual(self.last_notification(lead).notification_status, "pending")

    def test_sms_to_a_typed_number_uses_the_company_country(self):
        self.send_to_partner(partner=self.partner_us)
        (request,) = self.outbound_requests()
        self.assertEqual(request["json"]["data"]["attributes"]["destination"], "12125550142")
        self.assertEqual(request["json"]["data"]["attributes"]["source"], "19179056077",
                         "a number in the destination's country first")

    # ------------------------------------------------------------
    # Source number selection
    # ------------------------------------------------------------

    def test_source_live_sticky_session_first(self):
        self.env["didww.sms.session"].create({
            "number_id": self.number_us.id, "remote_number": "+37041654321", "user_id": self.user_other.id,
            "last_outbound": fields.Datetime.now()})
        self.send_to_partner()
        self.assertEqual(self.outbound_requests()[0]["json"]["data"]["attributes"]["source"], "19179056077")

    def test_source_expired_session_is_ignored(self):
        self.env["didww.sms.session"].create({
            "number_id": self.number_us.id, "remote_number": "+37041654321", "user_id": self.user_other.id,
            "last_outbound": fields.Datetime.now() - timedelta(minutes=61),
            "last_activity": fields.Datetime.now() - timedelta(minutes=61)})
        self.send_to_partner()
        self.assertEqual(self.outbound_requests()[0]["json"]["data"]["attributes"]["source"], "37041123456")

    def test_source_company_first_number_when_the_user_has_none(self):
        self.send_to_partner(user=self.user_other)
        self.assertEqual(self.outbound_requests()[0]["json"]["data"]["attributes"]["source"], "19179056077")

    def test_source_all_users_number(self):
        shared = self.env["didww.sms.number"].create({
            "number": "+37052000000", "all_users": True, "sequence": 99})
        self.send_to_partner(user=self.user_other)
        self.assertEqual(self.outbound_requests()[0]["json"]["data"]["attributes"]["source"],
                         shared.number.lstrip("+"))

    def test_sending_starts_a_sticky_session_for_the_sender(self):
        self.send_to_partner()
        session = self.env["didww.sms.session"].search([("remote_number", "=", "+37041654321")])
        self.assertEqual(session.number_id, self.number_lt)
        self.assertEqual(session.user_id, self.user_sales)
        self.assertEqual((session.res_model, session.res_id), ("res.partner", self.partner.id))
        self.assertTrue(session._is_sticky())

    def test_no_number_at_all_fails_with_a_reason(self):
        (self.number_us | self.number_lt).action_archive()
        with self.assert_no_didww_request():
            message = self.send_to_partner()
        notification = message.notification_ids
        self.assertEqual(notification.notification_status, "exception")
        self.assertIn("No DIDWW number to send from", notification.failure_reason)

    def test_invalid_destination_fails_at_once(self):
        self.partner.phone = "12"
        with self.assert_no_didww_request():
            message = self.send_to_partner()
        self.assertEqual(message.notification_ids.notification_status, "exception")

    # ------------------------------------------------------------
    # Errors
    # ------------------------------------------------------------

    def test_400_fails_with_didww_reason(self):
        self.fake.script("/outbound_messages", status=400, body=FAKE_IAP_ERROR)
        message = self.send_to_partner()
        notification = message.notification_ids
        self.assertEqual(notification.notification_status, "exception")
        self.assertIn("destination - is invalid", notification.failure_reason)

    def test_401_fails_with_a_credentials_reason_and_no_secret(self):
        self.company.didww_sms_password = "wrong-password-123"
        message = self.send_to_partner()
        notification = message.notification_ids
        self.assertEqual(notification.failure_type, "sms_acc")
        self.assertEqual(notification.failure_reason,
                         "Sending is not set up correctly; your administrator has been notified.")
        sms = self.env["sms.sms"].sudo().search([("mail_message_id", "=", message.id)])
        self.assertIn("credentials", sms.didww_failure_reason, "the administrator's reason, in the SMS list")
        self.assertNotIn("wrong-password-123", sms.didww_failure_reason)

    def test_missing_credentials_fail_clearly(self):
        self.company.didww_sms_password = False
        with self.assert_no_didww_request():
            message = self.send_to_partner()
        self.assertIn("administrator has been notified", message.notification_ids.failure_reason)
        sms = self.env["sms.sms"].sudo().search([("mail_message_id", "=", message.id)])
        self.assertIn("HTTP OUT trunk username and password", sms.didww_failure_reason)

    def test_transient_errors_stay_queued_with_backoff_then_send(self):
        for script in ({"status": 429, "body": {"errors": [{"detail": "Too Many Requests"}]}},
                       {"status": 503, "body": None}, {"drop": True}):
            with self.subTest(**{k: v for k, v in script.items() if k != "body"}):
                self.fake.reset()
                self.fake.script("/outbound_messages", **script)
                message = self.send_to_partner()
                sms = self.env["sms.sms"].sudo().search([("mail_message_id", "=", message.id)])
                self.assertEqual(sms.state, "outgoing", "left in the queue")
                self.assertEqual(sms.didww_attempts, 1)
                self.assertGreater(sms.didww_next_attempt, fields.Datetime.now())
                self.assertEqual(message.notification_ids.notification_status, "ready")
                # not due yet: the queue leaves it alone
                self.env["sms.sms"]._process_queue()
                self.assertEqual(len(self.outbound_requests()), 1)
                sms.didww_next_attempt = fields.Datetime.now() - timedelta(seconds=1)
                self.env["sms.sms"]._process_queue()
                self.assertEqual(len(self.outbound_requests()), 2)
                self.assertEqual(sms.state, "pending")
                self.assertEqual(len(self.fake.sent), 1, "sent exactly once")

    def test_timeout_is_retried(self):
        # Odoo's test mode raises timeouts under 10 s to 10 s: DIDWW answers after 11 s
        self.fake.script("/outbound_messages", delay=11, status=201, body={"data": {"id": "late"}})
        self.env["ir.config_parameter"].sudo().set_param("didww_connector.timeout", "10")
        message = self.send_to_partner()
        sms = self.env["sms.sms"].sudo().search([("mail_message_id", "=", message.id)])
        self.assertEqual((sms.state, sms.didww_attempts), ("outgoing", 1))
        self.assertIn("in time", sms.didww_failure_reason)

    def test_retries_are_bounded(self):
        self.fake.script("/outbound_messages", status=500, times=10)
        message = self.send_to_partner()
        sms = self.env["sms.sms"].sudo().search([("mail_message_id", "=", message.id)])
        for _attempt in range(10):
            if sms.state != "outgoing":
                break
            sms.didww_next_attempt = fields.Datetime.now() - timedelta(seconds=1)
            self.env["sms.sms"]._process_queue()
        self.assertEqual(sms.state, "error")
        self.assertEqual(len(self.outbound_requests()), 6)
        self.assertEqual(message.notification_ids.failure_type, "sms_server")
        self.assertIn("after 6 attempts", message.notification_ids.failure_reason)

    def test_sms_left_in_process_by_a_dead_queue_run_fails_visibly_and_is_not_resent(self):
        message = self.partner.with_user(self.user_sales)._message_sms("Hi", put_in_queue=True)
        sms = self.env["sms.sms"].sudo().search([("mail_message_id", "=", message.id)])
        sms.state = "process"  # marked and committed, then the worker died before the results
        sms.flush_recordset()
        self.env.cr.execute("UPDATE sms_sms SET write_date = now() - interval '11 minutes' WHERE id = %s", [sms.id])
        sms.invalidate_recordset()
        self.env["sms.sms"]._process_queue()
        self.assertFalse(self.outbound_requests(), "never sent twice")
        self.assertEqual(sms.state, "error")
        notification = message.sudo().notification_ids
        self.assertEqual(notification.notification_status, "exception")
        self.assertIn("may or may not have received", notification.failure_reason)

    def test_recent_process_rows_are_left_alone(self):
        message = self.partner.with_user(self.user_sales)._message_sms("Hi", put_in_queue=True)
        sms = self.env["sms.sms"].sudo().search([("mail_message_id", "=", message.id)])
        sms.state = "process"
        self.env["sms.sms"]._process_queue()
        self.assertEqual(sms.state, "process", "a queue run may still be sending it")

    def test_already_sent_sms_is_never_sent_again(self):
        self.send_to_partner()
        self.env["sms.sms"]._process_queue()
        self.env["sms.sms"].sudo().search([]).send()
        self.assertEqual(len(self.outbound_requests()), 1)

    # ------------------------------------------------------------
    # Companies
    # ------------------------------------------------------------

    def test_iap_companies_are_untouched(self):
        self.company.didww_sms_active = False
        message = self.send_to_partner()
        self.assertFalse(self.fake.requests, "nothing went to DIDWW")
        # Odoo's IAP client refuses to run in tests ("Unavailable during tests"): the SMS took the
        # IAP path and got IAP's own outcome for an unreachable server
        sms = self.env["sms.sms"].sudo().search([("mail_message_id", "=", message.id)])
        self.assertEqual((sms.state, sms.failure_type), ("error", "sms_server"))
        self.assertFalse(sms.didww_failure_reason)

    def test_multi_company_each_company_its_own_provider_and_numbers(self):
        company_b = self.env["res.company"].create({
            "name": "B Corp", "country_id": self.lt.id, "didww_sms_active": True,
            "didww_sms_username": "b-user", "didww_sms_password": "b-pass", "didww_sms_api_url": self.fake.url,
            "didww_quiet_scope": "off"})  # not held whatever the hour the suite runs (as the main company)
        self.env["didww.sms.number"].create({"number": "+37052999999", "company_id": company_b.id,
                                             "all_users": True})
        self.user_sales.write({"company_ids": [(4, company_b.id)]})
        lead_b = self.env["crm.lead"].create({"name": "B lead", "phone": "+37041654321", "company_id": company_b.id,
                                              "user_id": self.user_sales.id})
        lead_b.with_user(self.user_sales).with_context(
            allowed_company_ids=[company_b.id, self.company.id])._message_sms("from B")
        (request,) = self.outbound_requests()
        self.assertEqual(request["json"]["data"]["attributes"]["source"], "37052999999")
        self.assertEqual(self.last_notification(lead_b).failure_type, "sms_acc",
                         "B's own (wrong) trunk credentials were used")

    # ------------------------------------------------------------
    # Sending many
    # ------------------------------------------------------------

    def test_mass_sms_is_queued_then_sent_concurrently(self):
        partners = self.env["res.partner"].create([
            {"name": f"P{i}", "mobile": f"+3706{i:07d}", "country_id": self.lt.id} for i in range(16)])
        self.fake.response_delay = 0.05
        composer = self.env["sms.composer"].with_user(self.user_sales).with_context(
            default_res_model="res.partner", default_res_ids=partners.ids,
            default_composition_mode="mass").create({"body": "Hi {{ object.name }}"})
        composer.action_send_sms()
        self.assertFalse(self.outbound_requests(), "mass SMS wait for the queue")
        self.env["sms.sms"]._process_queue()
        requests = self.outbound_requests()
        self.assertEqual(len(requests), 16)
        self.assertEqual({r["json"]["data"]["attributes"]["content"] for r in requests},
                         {f"Hi P{i}" for i in range(16)})
        self.assertGreater(self.fake.max_in_flight, 1, "requests were sent in parallel")
        self.assertLessEqual(self.fake.max_in_flight, 4)


    def test_a_batch_of_transient_failures_wakes_the_queue_once(self):
        cron = self.env.ref("sms.ir_cron_sms_scheduler_action")
        triggers_before = self.env["ir.cron.trigger"].search_count([("cron_id", "=", cron.id)])
        partners = self.env["res.partner"].create([
            {"name": f"R{i}", "mobile": f"+3706{i:07d}", "country_id": self.lt.id} for i in range(5)])
        self.fake.script("/outbound_messages", status=429, body={"errors": [{"detail": "Too Many Requests"}]},
                         times=5)
        composer = self.env["sms.composer"].with_context(
            default_res_model="res.partner", default_res_ids=partners.ids, default_composition_mode="mass",
        ).create({"body": "Hi"})
        composer.action_send_sms()  # queued: one trigger to send now
        self.env["sms.sms"]._process_queue()
        triggers = self.env["ir.cron.trigger"].search([("cron_id", "=", cron.id)], order="id")
        self.assertEqual(len(triggers) - triggers_before, 2, "one to send now, one for the retry")
        sms = self.env["sms.sms"].sudo().search([("partner_id", "in", partners.ids)])
        self.assertEqual(set(sms.mapped("state")), {"outgoing"})
        self.assertEqual(triggers[-1].call_at, min(sms.mapped("didww_next_attempt")))
