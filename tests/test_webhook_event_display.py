import base64
from datetime import timedelta

from odoo import fields
from odoo.tests import tagged

from ..models.didww_webhook_queue import MAX_ATTEMPTS
from .common import DidwwHttpCase


@tagged("post_install", "-at_install", "didww_connector")
class TestWebhookEventDisplay(DidwwHttpCase):
    """Settings > DIDWW > Webhook events: what each event came to, in words, and what to do."""

    def inbound(self, uuid, to="37041123456", **params):
        payload = dict({"to": to, "from": "37069111222", "time": "Mon, 23 Nov 2026 07:30:00 GMT", "uuid": uuid},
                       **params)
        self.post_json(payload)
        return self.env["didww.webhook.event"].search([("dedupe_key", "=", f"inbound:uuid:{uuid}")])

    def status(self, message_id, status, kind="outbound_message_callbacks", code_id=None):
        self.post_json(self.status_callback(message_id, status, code_id=code_id, kind=kind))
        return self.env["didww.webhook.event"].search([("kind", "=", "status")], limit=1)

    def sms_to_ona(self, text="Status please"):
        message = self.partner.with_user(self.user_sales)._message_sms(text)
        return message.sudo().notification_ids.sms_tracker_ids.didww_message_id

    def test_an_sms_to_a_number_not_yet_added_says_which_and_what_to_do_then_is_posted(self):
        event = self.inbound("u-1", to="37037200003", data=base64.b64encode(b"Labas, ar dar turite?").decode())
        self.assertEqual(event.state, "error")
        self.assertEqual(event.sms_to, "+370 37 200003", "the number formatted, not DIDWW's digits")
        self.assertEqual(event.sms_text, "Labas, ar dar turite?", "the text decoded")
        self.assertEqual(event.result_display, "Sent to +370 37 200003, which is not one of your DIDWW numbers")
        self.assertEqual(event.hint, "Add +370 37 200003 in Settings > DIDWW > SMS numbers (or import your numbers "
                                     "from DIDWW), then press Process again to post the SMS.")

        self.env["didww.sms.number"].create({"number": "+37037200003", "all_users": True})
        event.invalidate_recordset()
        self.assertEqual(event.hint, "+370 37 200003 is one of your SMS numbers now: press Process again to post "
                                     "the SMS.")
        action = event.action_process_again()
        self.assertEqual(event.state, "done")
        params = action["params"]
        self.assertEqual((action["tag"], params["type"], params["title"]), ("display_notification", "success",
                                                                            "Processed"))
        self.assertEqual(params["message"], "SMS from +370 691 11222 posted on Contact +37069111222")
        self.assertEqual(params["next"], {"type": "ir.actions.client", "tag": "soft_reload"}, "the form shows it")
        self.assertFalse(event.hint)
        self.assertFalse(event.next_attempt_display, "nothing more to do")
        document = event.action_open_document()
        self.assertEqual((document["res_model"], document["res_id"]), ("res.partner", event.res_id))

        again = event.action_process_again()
        self.assertEqual((again["params"]["title"], again["params"]["type"]), ("Already processed", "info"))

    def test_process_again_that_fails_again_says_so(self):
        event = self.inbound("u-2", to="37037200004", text="still nobody")
        action = event.action_process_again()
        self.assertEqual((event.state, action["params"]["type"], action["params"]["title"]),
                         ("error", "warning", "Not processed yet"))
        self.assertEqual(action["params"]["message"], "Sent to +370 37 200004, which is not one of your DIDWW numbers")

    def test_the_next_attempt_shows_only_when_there_will_be_one(self):
        event = self.inbound("u-3", to="37037200005", text="retry me")
        later = fields.Datetime.now() + timedelta(minutes=5)
        event.write({"next_attempt": later, "attempts": 3})
        self.assertTrue(event.will_retry)
        self.assertEqual(event.next_attempt_display, later)
        event.write({"next_attempt": fields.Datetime.now() - timedelta(minutes=1)})
        self.assertFalse(event.next_attempt_display, "a due time in the past is not shown")
        event.write({"attempts": MAX_ATTEMPTS, "next_attempt": later})
        self.assertFalse(event.will_retry)
        self.assertFalse(event.next_attempt_display, "no attempt is left")

        broken = self.inbound("u-4", text="x")
        broken.write({"state": "error", "result": "ValueError: boom", "attempts": MAX_ATTEMPTS})
        self.assertEqual(broken.result_display, "Not posted: ValueError: boom")
        self.assertEqual(broken.hint, "No automatic attempt is left: press Process again once the cause is fixed.")

    def test_a_delivery_receipt_links_the_sms_and_says_it_in_words(self):
        message_id = self.sms_to_ona()
        event = self.status(message_id, "DELIVRD", kind="dlr_event")
        self.assertEqual(event.result_display, "Delivered: the SMS to +370 41 654321")
        self.assertEqual((event.didww_report, event.sms_text, event.target_name),
                         ("DELIVRD", "Status please", "Contact Ona Customer"))
        action = event.action_open_document()
        self.assertEqual((action["res_model"], action["res_id"]), ("res.partner", self.partner.id))

    def test_a_failure_gives_didwws_reason_in_its_words_and_ours(self):
        message_id = self.sms_to_ona()
        event = self.status(message_id, "Routing Error", code_id=1)
        self.assertEqual(event.result_display, "Not delivered: the SMS to +370 41 654321. DIDWW has no route to this "
                                               "destination (code 1).")
        self.assertEqual(event.didww_report, "Routing Error, code 1: No routes found")
        self.assertTrue(event.hint)

    def test_success_and_unknown_message_ids(self):
        event = self.status(self.sms_to_ona(), "Success")
        self.assertEqual(event.result_display, "Handed to the carrier: the SMS to +370 41 654321")
        waiting = self.status("no-such-sms", "Success")
        self.assertEqual(waiting.state, "pending")
        self.assertEqual(waiting.result_display, "Waiting for the SMS with this DIDWW message id")
        self.assertIn("then ignored", waiting.hint)
        self.assertFalse(waiting.target_name)
        self.assertFalse(waiting.action_open_document())
