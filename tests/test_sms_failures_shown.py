"""What people are shown of a failed or retried SMS (issue 24, items 3, 4, 5, 9): a salesperson can
act on it or is told an administrator was notified; administrators get one activity saying what
to fix and where; retries read in words; mass SMS keep the customer's live conversation."""

import json
from datetime import timedelta

from odoo import fields
from odoo.addons.mail.tools.discuss import Store
from odoo.tests import Form, tagged

from .common import DidwwCase, DidwwHttpCase

USER_REASON = "Sending is not set up correctly; your administrator has been notified."


class FailuresMixin:

    def send(self, body="Hello", user=None, record=None):
        message = (record or self.partner).with_user(user or self.user_sales)._message_sms(body)
        sms = self.env["sms.sms"].sudo().search([("mail_message_id", "=", message.id)])
        return message, sms

    def alerts(self, company=None):
        return self.env["mail.activity"].search([
            ("res_model", "=", "res.partner"), ("res_id", "=", (company or self.company).partner_id.id),
            ("activity_type_id", "=", self.env.ref("didww_connector.mail_activity_type_didww_sms_setup").id)])

    def admins(self):
        return self.env["res.users"].search([
            ("groups_id", "in", self.env.ref("base.group_system").id), ("share", "=", False),
            ("company_ids", "in", self.company.id), ("id", "!=", 1)])

    def resend_wizard(self, message, user):
        return self.env["sms.resend"].with_user(user).with_context(
            default_mail_message_id=message.id).create({})


@tagged("post_install", "-at_install", "didww_connector")
class TestAdminFailures(FailuresMixin, DidwwCase):
    """Item 5: a wrong trunk password is the administrator's to fix, not the salesperson's."""

    def test_a_wrong_trunk_password_tells_the_salesperson_and_alerts_administrators_once(self):
        self.company.didww_sms_password = "wrong-password-123"
        message, sms = self.send()
        notification = message.notification_ids
        self.assertEqual((notification.notification_status, notification.failure_type), ("exception", "sms_acc"))
        self.assertEqual(notification.failure_reason, USER_REASON)
        self.assertIn("Check the trunk username, password and allowed IPs", sms.didww_failure_reason)
        alerts = self.alerts()
        self.assertEqual(alerts.user_id, self.admins(), "one activity per administrator")
        self.assertTrue(alerts.user_id, "there is an administrator to tell")
        self.assertIn("Check the trunk username, password and allowed IPs", alerts[0].note)
        self.assertIn("/odoo/settings#didww_sms", alerts[0].note, "where to fix it")
        self.assertNotIn("wrong-password-123", alerts[0].note)
        # more failures in the hour, even with another reason: no more activities
        for _index in range(3):
            self.send()
        self.env["didww.sms.admin.alert"]._alert(self.company, "Another reason")
        self.assertEqual(self.alerts(), alerts)

    def test_after_an_hour_a_new_reason_alerts_again_the_same_one_does_not_while_open(self):
        self.company.didww_sms_password = "wrong-password-123"
        self.send()
        first = self.alerts()
        self.env.cr.execute("UPDATE mail_activity SET create_date = %s WHERE id IN %s",
                            (fields.Datetime.now() - timedelta(hours=2), tuple(first.ids)))
        first.invalidate_recordset(["create_date"])
        self.send()
        self.assertEqual(self.alerts(), first, "the same reason is still open: still to do")
        Alert = self.env["didww.sms.admin.alert"]
        Alert._alert(self.company, "The sending number is not allowed (code 8).")
        self.assertEqual(len(self.alerts() - first), len(first), "a new reason an hour later: told again")
        self.alerts().action_feedback()
        self.assertFalse(self.alerts())
        self.send()
        self.assertTrue(self.alerts(), "fixed (activity done), then broken again: told again")

    def test_a_missing_trunk_password_is_an_administrator_failure_too(self):
        self.company.didww_sms_password = False
        with self.assert_no_didww_request():
            message, sms = self.send()
        self.assertEqual(message.notification_ids.failure_reason, USER_REASON)
        self.assertIn("HTTP OUT trunk username and password", sms.didww_failure_reason)
        self.assertTrue(self.alerts())

    def test_a_transient_or_customer_failure_alerts_nobody(self):
        self.fake.script("/outbound_messages", status=400, body={"errors": [{"detail": "destination - is invalid"}]})
        message, _sms = self.send()
        self.assertIn("destination - is invalid", message.notification_ids.failure_reason)
        self.fake.script("/outbound_messages", status=503)
        self.send()
        self.assertFalse(self.alerts())

    def test_the_salesperson_is_not_offered_to_try_again_the_administrator_is(self):
        self.company.didww_sms_password = "wrong-password-123"
        message, _sms = self.send()
        wizard = self.resend_wizard(message, self.user_sales)
        recipient = wizard.recipient_ids
        self.assertTrue(recipient.didww_admin_issue)
        self.assertFalse(recipient.resend, "no Try Again that cannot succeed")
        self.assertFalse(wizard.can_resend, "no Send & Close")
        self.assertEqual(recipient.failure_reason, USER_REASON)
        admin_wizard = self.resend_wizard(message, self.env.ref("base.user_admin"))
        self.assertFalse(admin_wizard.recipient_ids.didww_admin_issue)
        self.assertIn("Check the trunk username", admin_wizard.recipient_ids.failure_reason, "what to fix")
        self.assertTrue(admin_wizard.can_resend)
        # fixed: the administrator sends it again from there
        self.company.didww_sms_password = self.fake.password
        admin_wizard.action_resend()
        self.assertEqual(message.notification_ids.notification_status, "pending")

    def test_a_mass_sms_on_a_broken_trunk_logs_the_salesperson_sentence(self):
        self.company.didww_sms_password = "wrong-password-123"
        lead = self.env["crm.lead"].create(
            {"name": "Mass lead", "phone": "+37041654321", "user_id": self.user_sales.id})
        self.env["sms.composer"].with_user(self.user_sales).with_context(
            default_res_model="crm.lead", default_res_ids=lead.ids, default_composition_mode="mass",
            default_mass_keep_log=False, default_body="Hi all",
        ).create({}).action_send_sms()
        self.env["sms.sms"]._process_queue()
        note = lead.message_ids.filtered(lambda message: "not sent" in (message.body or ""))
        self.assertIn("your administrator has been notified", note.body)
        self.assertNotIn("password", note.body)
        self.assertTrue(self.alerts())


@tagged("post_install", "-at_install", "didww_connector")
class TestAdminFailuresFromDidww(FailuresMixin, DidwwHttpCase):
    """Item 5: DIDWW's code 8 (sending number not allowed on the trunk) arrives by the webhook."""

    def test_code_8_tells_the_salesperson_and_alerts_administrators_once(self):
        messages = [self.send(f"Status {index}")[0] for index in range(3)]
        for message in messages:
            tracker = message.sudo().notification_ids.sms_tracker_ids
            self.post_json(self.status_callback(tracker.didww_message_id, "Routing Error", code_id=8))
        for message in messages:
            notification = message.sudo().notification_ids
            self.assertEqual((notification.notification_status, notification.failure_reason),
                             ("exception", USER_REASON))
            self.assertIn("(code 8)", notification.sms_tracker_ids.didww_failure_reason)
        alerts = self.alerts()
        self.assertEqual(alerts.user_id, self.admins(), "once, not once per SMS")
        self.assertIn("source addresses", alerts[0].note)
        wizard = self.resend_wizard(messages[0], self.user_sales)
        self.assertFalse(wizard.can_resend)


@tagged("post_install", "-at_install", "didww_connector")
class TestRetryShown(FailuresMixin, DidwwCase):
    """Item 4: a retried SMS reads in words, its time is the reader's, and the line goes once sent."""

    def store_of(self, notification):
        store = Store()
        notification._to_store(store)
        (data,) = store.get_result()["mail.notification"]
        return data

    def test_retry_reads_in_words_with_the_next_attempt_for_the_readers_time_zone(self):
        self.fake.script("/outbound_messages", status=503, body={"errors": [{"detail": "maintenance"}]})
        message, sms = self.send()
        notification = message.notification_ids
        data = self.store_of(notification)
        self.assertEqual(data["didww_status_text"], "DIDWW is temporarily unavailable")
        self.assertEqual(data["didww_retry_at"], fields.Datetime.to_string(sms.didww_next_attempt),
                         "UTC, rendered in the reader's time zone by the popover")
        self.assertNotIn("503", data["didww_status_text"])
        # sent at the next attempt: the store says there is nothing to show any more
        sms.didww_next_attempt = fields.Datetime.now() - timedelta(seconds=1)
        self.env.cr.flush()  # the bus messages sent so far (the retry's) are written at commit
        last_bus = self.env["bus.bus"].sudo().search([], order="id desc", limit=1).id
        self.env["sms.sms"]._process_queue()
        self.env.cr.flush()
        self.assertEqual(notification.notification_status, "pending")
        data = self.store_of(notification)
        self.assertIs(data["didww_status_text"], False)
        self.assertIs(data["didww_retry_at"], False)
        # the bus tells the sender's browser, which drops the line (no reload)
        sent = [json.loads(bus.message) for bus in self.env["bus.bus"].sudo().search([("id", ">", last_bus)])]
        records = [record for payload in sent if payload["type"] == "mail.record/insert"
                   for record in payload["payload"].get("mail.notification", [])]
        self.assertIn({"id": notification.id, "didww_status_text": False, "notification_status": "pending"},
                      [{key: record.get(key) for key in ("id", "didww_status_text", "notification_status")}
                       for record in records])

    def test_each_transient_failure_has_its_own_words(self):
        for script, words in (({"status": 429}, "DIDWW asked to slow down"),
                              ({"drop": True}, "The connection to DIDWW dropped"),
                              ({"status": 502}, "DIDWW is temporarily unavailable")):
            with self.subTest(words=words):
                self.fake.reset()
                self.fake.script("/outbound_messages", **script)
                message, _sms = self.send()
                self.assertTrue(message.notification_ids.failure_reason.startswith(words))


@tagged("post_install", "-at_install", "didww_connector")
class TestFailureColumns(FailuresMixin, DidwwCase):
    """Item 3: Settings > Technical > SMS reads DIDWW's reason and the number it left from."""

    def test_the_sms_list_shows_didww_reason_and_the_from_number(self):
        self.fake.script("/outbound_messages", status=400, body={"errors": [{"detail": "destination - is invalid"}]})
        _message, sms = self.send()
        self.assertEqual(sms.failure_type, "unknown")
        self.assertEqual(sms.didww_reason, "DIDWW refused this SMS: destination - is invalid",
                         "not IAP's 'Unknown error'")
        self.assertEqual(sms.didww_source, "+37041123456")
        self.company.didww_sms_password = "wrong-password-123"
        _message, sms = self.send()
        self.assertIn("Check the trunk username", sms.didww_reason, "not IAP's 'Unregistered Account'")
        self.assertEqual(sms.didww_source, "+37041123456")

    def test_an_sms_of_another_provider_keeps_odoo_label(self):
        sms = self.env["sms.sms"].create({"number": "+37041654321", "body": "x", "state": "error",
                                          "failure_type": "sms_credit", "didww_company_id": False})
        self.assertEqual(sms.didww_reason, "Insufficient Credit")


@tagged("post_install", "-at_install", "didww_connector")
class TestMassSmsConversation(FailuresMixin, DidwwCase):
    """Item 9: a mass SMS continues the customer's live conversation, whoever sends it."""

    def test_a_mass_sms_leaves_from_the_live_conversation_of_a_colleague(self):
        marc_number = self.env["didww.sms.number"].create({
            "number": "+37052000111", "user_ids": [(6, 0, self.user_other.ids)], "sequence": 5})
        self.send("Hi from Otto", user=self.user_other)  # Otto's live conversation with the customer
        session = self.env["didww.sms.session"].search([("remote_number", "=", "+37041654321")])
        self.assertEqual((session.number_id, session.user_id), (marc_number, self.user_other))
        self.fake.reset()
        composer = Form(self.env["sms.composer"].with_user(self.user_sales).with_context(
            default_res_model="res.partner", default_res_ids=(self.partner | self.partner_us).ids,
            default_composition_mode="mass", default_mass_keep_log=True))
        composer.body = "Our summer offer"
        self.assertIn("Recipients in a live conversation get their SMS from that conversation's number",
                      composer.didww_source_info)
        composer.save().action_send_sms()
        self.env["sms.sms"]._process_queue()
        sources = {request["json"]["data"]["attributes"]["destination"]: request["json"]["data"]["attributes"]["source"]
                   for request in self.outbound_requests()}
        self.assertEqual(sources, {"37041654321": "37052000111", "12125550142": "19179056077"},
                         "the conversation's number; the sender's own for a customer in no conversation")
        self.assertEqual(session.user_id, self.user_other, "replies still reach the conversation's holder")

    def test_a_single_sms_of_another_user_keeps_their_own_number(self):
        self.env["didww.sms.number"].create({
            "number": "+37052000111", "user_ids": [(6, 0, self.user_other.ids)], "sequence": 5})
        self.send("Hi from Otto", user=self.user_other)
        self.fake.reset()
        self.send("Hi from Sally")
        self.assertEqual(self.outbound_requests()[0]["json"]["data"]["attributes"]["source"], "37041123456")
