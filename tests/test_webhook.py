import json
from datetime import timedelta

from freezegun import freeze_time

from odoo import fields
from odoo.tests import tagged

from ..tools.didww_webhook import MAX_BODY_BYTES
from .common import DidwwHttpCase


@tagged("post_install", "-at_install", "didww_connector")
class TestWebhookStatus(DidwwHttpCase):

    def send_one(self):
        message = self.partner.with_user(self.user_sales)._message_sms("Status please")
        notification = message.sudo().notification_ids
        return notification, notification.sms_tracker_ids

    def events(self):
        return self.env["didww.webhook.event"].search([("company_id", "=", self.company.id)])

    def test_success_then_delivered(self):
        notification, tracker = self.send_one()
        response = self.post_json(self.status_callback(tracker.didww_message_id, "Success"))
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(notification.notification_status, "pending")
        self.assertEqual((tracker.didww_status, tracker.didww_fragments_sent), ("sent", 2))
        response = self.post_json(self.status_callback(tracker.didww_message_id, "DELIVERED", kind="dlr_event"))
        self.assertEqual(response.status_code, 200)
        self.assertEqual(notification.notification_status, "sent")  # shown "Delivered"
        self.assertEqual(tracker.didww_status, "delivered")
        # a late failure does not undo a delivery
        self.post_json(self.status_callback(tracker.didww_message_id, "Failed", code_id=4))
        self.assertEqual(notification.notification_status, "sent")

    def test_delivered_before_success_stays_delivered(self):
        notification, tracker = self.send_one()
        self.post_json(self.status_callback(tracker.didww_message_id, "DELIVERED", kind="dlr_event"))
        self.post_json(self.status_callback(tracker.didww_message_id, "Success"))
        self.assertEqual(notification.notification_status, "sent")

    def test_every_code_id_gives_a_failure_type_and_a_readable_reason(self):
        expected = {1: "sms_country_not_supported", 2: "sms_country_not_supported", 3: "sms_country_not_supported",
                    4: "sms_server", 5: "sms_acc", 6: "sms_server", 7: "sms_acc", 8: "sms_acc",
                    100: "sms_credit", 101: "sms_not_delivered"}
        for code, failure_type in expected.items():
            for as_string in (False, True):
                with self.subTest(code=code, as_string=as_string):
                    notification, tracker = self.send_one()
                    status = "Routing Error" if code in (1, 2, 3, 8) else "Failed"
                    response = self.post_json(self.status_callback(
                        tracker.didww_message_id, status, code_id=str(code) if as_string else code))
                    self.assertEqual(response.status_code, 200, response.text)
                    self.assertEqual(notification.notification_status, "exception")
                    self.assertEqual(notification.failure_type, failure_type)
                    sms_reason = tracker.didww_failure_reason
                    self.assertIn(f"(code {code})", sms_reason)
                    if failure_type in ("sms_acc", "sms_credit"):  # only an administrator can fix these
                        self.assertEqual(notification.failure_reason, "Sending is not set up correctly; "
                                                                      "your administrator has been notified.")
                    else:
                        self.assertEqual(notification.failure_reason, sms_reason)
                    self.assertEqual(tracker.didww_status, "error")

    def test_sending_failures_dialog_shows_didww_reason_without_iap_buttons(self):
        notification, tracker = self.send_one()
        self.post_json(self.status_callback(tracker.didww_message_id, "Routing Error", code_id=8))
        # an administrator reads what to fix and may try again once fixed (a salesperson cannot:
        # see test_sms_failures_shown)
        wizard = self.env["sms.resend"].with_user(self.env.ref("base.user_admin")).with_context(
            default_mail_message_id=notification.mail_message_id.id).create({})
        self.assertTrue(wizard.didww_active)
        self.assertIn("not allowed on your DIDWW HTTP OUT trunk", wizard.recipient_ids.failure_reason)
        self.assertEqual(wizard.recipient_ids.failure_type, "sms_acc")
        self.assertFalse(wizard.has_unregistered_account, "no IAP 'Set up an account' for DIDWW")
        self.assertTrue(wizard.can_resend)
        # "Send & Close" sends it again through DIDWW
        self.fake.reset()
        wizard.action_resend()
        self.assertEqual(len(self.outbound_requests()), 1)
        self.assertEqual(notification.notification_status, "pending")

    def test_unknown_code_and_dlr_failures(self):
        notification, tracker = self.send_one()
        self.post_json(self.status_callback(tracker.didww_message_id, "Failed", code_id=999))
        self.assertEqual(notification.failure_type, "sms_not_delivered")
        self.assertIn("999", notification.failure_reason)
        for status, failure_type in (("FAILED", "sms_not_delivered"), ("EXPIRED", "sms_expired")):
            with self.subTest(status=status):
                notification, tracker = self.send_one()
                self.post_json(self.status_callback(tracker.didww_message_id, status, kind="dlr_event"))
                self.assertEqual((notification.notification_status, notification.failure_type),
                                 ("exception", failure_type))

    def test_duplicate_callback_is_processed_once(self):
        _notification, tracker = self.send_one()
        payload = self.status_callback(tracker.didww_message_id, "Success")
        first, second = self.post_json(payload), self.post_json(payload)
        self.assertEqual((first.status_code, second.status_code), (200, 200))
        self.assertEqual(second.json()["status"], "duplicate")
        self.assertEqual(len(self.events()), 1)

    def test_callback_before_its_sms_is_kept_and_applied_later(self):
        response = self.post_json(self.status_callback("11111111-2222-3333-4444-555555555555", "Success"))
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.json()["status"], "queued")
        event = self.events()
        self.assertEqual((event.state, event.attempts), ("pending", 1))
        self.assertGreater(event.next_attempt, fields.Datetime.now(), "retried a little later")
        # the SMS it is about gets committed a moment later
        _notification, tracker = self.send_one()
        tracker.didww_message_id = "11111111-2222-3333-4444-555555555555"
        self.process_events()
        self.assertEqual(event.state, "pending", "not due yet")
        with freeze_time(fields.Datetime.now() + timedelta(seconds=10)):
            self.process_events()
        self.assertEqual(event.state, "done")
        self.assertEqual(tracker.didww_status, "sent")

    def test_another_companys_webhook_cannot_change_a_status(self):
        notification, tracker = self.send_one()
        company_b = self.env["res.company"].create({"name": "B Corp"})
        response = self.post_json(self.status_callback(tracker.didww_message_id, "Failed", code_id=4),
                                  url=self.webhook_url(company=company_b))
        self.assertEqual(response.status_code, 200)
        self.assertEqual(self.env["didww.webhook.event"].browse(response.json()["event"]).state, "pending",
                         "kept, waiting for an SMS of B with that id")
        self.assertEqual(notification.notification_status, "pending")
        self.assertEqual(tracker.didww_company_id, self.company)

    def test_processed_events_are_deleted_after_90_days(self):
        _notification, tracker = self.send_one()
        self.post_json(self.status_callback(tracker.didww_message_id, "Success"))
        self.post_json(self.status_callback("unknown-id", "Success"))
        events = self.events()
        self.env.cr.execute("UPDATE didww_webhook_event SET create_date = now() - interval '91 days' WHERE id IN %s",
                            [tuple(events.ids)])
        events.invalidate_recordset()
        self.env["didww.webhook.event"]._gc_processed_events()
        self.assertEqual(self.events().mapped("state"), ["pending"], "waiting events are kept")

    def test_wrong_secret_or_company_is_403_and_stores_nothing(self):
        payload = self.status_callback("abc", "Success")
        for url in (self.webhook_url(secret="x" * 43), self.webhook_url(secret="short"),
                    f"/didww/webhook/999999/{self.company.didww_webhook_secret}"):
            with self.subTest(url=url):
                response = self.post_json(payload, url=url)
                self.assertEqual(response.status_code, 403)
                self.assertEqual(response.json(), {"error": "invalid webhook URL"})
        self.assertFalse(self.events())

    def test_regenerated_secret_invalidates_the_old_url(self):
        old_url = self.webhook_url()
        self.company.action_didww_regenerate_webhook_secret()
        self.assertEqual(self.post_json(self.status_callback("abc"), url=old_url).status_code, 403)
        self.assertIn(self.company.didww_webhook_secret, self.company.didww_webhook_url)

    def test_bad_bodies_get_a_clear_4xx(self):
        cases = [
            (b"{not json", "application/json", 400, "malformed JSON"),
            (b"[1, 2]", "application/json", 400, "must be an object"),
            (b"\xff\xfe{}", "application/json", 400, "not UTF-8"),
            (b"", "application/json", 400, "empty request"),
            (json.dumps({"data": {"type": "dids", "id": "1"}}).encode(), "application/vnd.api+json", 400,
             "unknown JSON:API type"),
            (json.dumps({"data": {"type": "outbound_message_callbacks", "attributes": {}}}).encode(),
             "application/vnd.api+json", 400, "data.id"),
            (b"hello", "text/plain", 415, "unsupported body type"),
            (b"{" + b" " * (MAX_BODY_BYTES + 10) + b"}", "application/json", 413, "larger than"),
        ]
        for body, content_type, status, text in cases:
            with self.subTest(status=status, text=text):
                response = self.post_json(body, content_type=content_type)
                self.assertEqual(response.status_code, status, response.text)
                self.assertIn(text, response.json()["error"])
        self.assertFalse(self.events(), "nothing malformed is stored")

    def test_ip_allow_list(self):
        self.company.didww_webhook_allowed_ips = "46.19.209.214, 185.238.173.74"
        response = self.post_json(self.status_callback("abc"))
        self.assertEqual(response.status_code, 403)
        self.company.didww_webhook_allowed_ips = "46.19.209.214 127.0.0.0/8"
        self.assertEqual(self.post_json(self.status_callback("abc")).status_code, 200)

    def test_secrets_are_admin_only(self):
        user = self.user_sales
        company = self.company.with_user(user)
        for fname in ("didww_sms_password", "didww_webhook_secret", "didww_webhook_url", "didww_api_key"):
            with self.subTest(field=fname):
                self.assertNotIn(fname, company.fields_get())
