import base64
import importlib.util
import json
from datetime import timedelta
from pathlib import Path

from freezegun import freeze_time

from odoo import fields
from odoo.tests import tagged

from ..models.didww_webhook_event import LANE_CRONS
from .common import DidwwHttpCase


def inbound_payload(text, sender="37041654321", to="37041123456", uuid=None):
    payload = {"to": to, "from": sender, "time": "Mon, 23 Nov 2026 07:30:00 GMT", "text": text,
               "data": base64.b64encode(text.encode()).decode()}
    if uuid:
        payload["uuid"] = uuid
    return payload


@tagged("post_install", "-at_install", "didww_connector")
class TestWebhookQueue(DidwwHttpCase):
    """The webhook stores and answers; the events cron processes out of the request."""

    def received(self, record, text):
        return record.message_ids.filtered(lambda message: text in (message.body or ""))

    def cron(self, lane=0):
        return self.env.ref(LANE_CRONS[lane])

    def crons(self):
        return self.env["ir.cron"].concat(*(self.env.ref(xmlid) for xmlid in LANE_CRONS))

    def triggers(self):
        return self.env["ir.cron.trigger"].search([("cron_id", "in", self.crons().ids)])

    def test_a_delivery_is_answered_once_stored_and_posted_by_the_cron(self):
        triggers_before = self.triggers()
        response = self.post_json(inbound_payload("stored first", uuid="q-1"), process=False)
        self.assertEqual(response.status_code, 200, response.text)
        event = self.env["didww.webhook.event"].browse(response.json()["event"])
        self.assertEqual(response.json(), {"status": "queued", "event": event.id})
        self.assertEqual((event.state, event.attempts), ("pending", 0))
        self.assertFalse(self.received(self.partner, "stored first"), "not processed in the request")
        woken = self.triggers() - triggers_before
        self.assertEqual(woken.cron_id, self.cron(event.lane), "the cron of the event's lane is woken up")
        self.assertEqual(len(woken), 1)
        self.process_events()
        self.assertEqual((event.state, event.attempts, event.res_id), ("done", 1, self.partner.id))
        self.assertEqual(len(self.received(self.partner, "stored first")), 1)

    def test_repeated_delivery_before_and_after_processing_is_posted_once(self):
        payload = inbound_payload("exactly once", uuid="q-2")
        first = self.post_json(payload, process=False)
        second = self.post_json(payload, process=False)
        self.assertEqual((first.status_code, second.status_code), (200, 200))
        self.assertEqual(second.json(), {"status": "duplicate", "event": first.json()["event"]})
        self.process_events()
        self.process_events()
        third = self.post_json(payload)
        self.assertEqual(third.json()["status"], "duplicate")
        self.assertEqual(len(self.received(self.partner, "exactly once")), 1)
        self.assertEqual(self.env["didww.webhook.event"].browse(first.json()["event"]).attempts, 1)

    def test_one_batch_posts_a_senders_texts_in_order_on_one_new_contact(self):
        for index in range(3):
            self.post_json(inbound_payload(f"text {index}", sender="37067777777", uuid=f"q-3-{index}"),
                           process=False)
        self.post_json(inbound_payload("other sender", sender="37067777778", uuid="q-3-x"), process=False)
        events = self.process_events()
        self.assertEqual(events.mapped("state"), ["done"] * 4)
        partner = self.env["res.partner"].search([("phone_sanitized", "=", "+37067777777")])
        self.assertEqual(len(partner), 1, "a new sender gets one contact")
        texts = [body for body in partner.message_ids.sorted("id").mapped("body") if "text " in body]
        self.assertEqual([f"text {index}" in body for index, body in enumerate(texts)], [True] * 3)

    def test_a_batch_reports_what_is_left_and_the_cron_runs_again(self):
        for index in range(5):
            self.post_json(inbound_payload(f"batch {index}", uuid=f"q-4-{index}"), process=False)
        cron, progress = self.cron()._add_progress()
        Event = self.env["didww.webhook.event"].with_context(ir_cron_progress_id=progress.id)
        self.assertEqual(len(Event._cron_process_pending(batch_size=2)), 2)
        self.assertEqual((progress.done, progress.remaining), (2, 3))
        Event._cron_process_pending(batch_size=10)
        self.assertEqual((progress.done, progress.remaining), (3, 0))
        self.assertEqual(len(self.partner.message_ids.filtered(lambda m: "batch " in (m.body or ""))), 5)
        self.assertTrue(cron)

    def test_unknown_number_is_404_stored_without_waking_the_cron_then_queued_when_it_exists(self):
        triggers_before = self.triggers()
        payload = inbound_payload("to a number added later", to="37052222223", uuid="q-5")
        response = self.post_json(payload, process=False)
        self.assertEqual(response.status_code, 404)
        event = self.env["didww.webhook.event"].browse(response.json()["event"])
        self.assertEqual(response.json(), {"status": "unknown_number", "event": event.id,
                                           "error": "unknown DIDWW number 37052222223"})
        self.assertEqual(event.state, "error")
        self.assertFalse(self.triggers() - triggers_before)
        self.assertEqual(self.post_json(payload).status_code, 404, "DIDWW retries: still unknown")
        self.env["didww.sms.number"].create({"number": "+37052222223", "all_users": True})
        response = self.post_json(payload)
        self.assertEqual(response.json(), {"status": "queued", "event": event.id})
        self.assertEqual(event.state, "done")
        self.assertEqual(len(self.received(self.partner, "to a number added later")), 1)

    def test_a_failing_event_is_retried_with_a_backoff_and_given_up_after_50_attempts(self):
        response = self.post_json(inbound_payload("will break", uuid="q-6"), process=False)
        event = self.env["didww.webhook.event"].browse(response.json()["event"])
        event.write({"payload": json.dumps({"to": "37041123456", "from": "not a number"})})  # damaged
        now = fields.Datetime.now()
        self.process_events()
        self.assertEqual((event.state, event.attempts, event.result), ("error", 1, "'from' is not a phone number"))
        self.assertEqual(event.next_attempt, now + timedelta(seconds=5))
        self.process_events()
        self.assertEqual(event.attempts, 1, "not due yet")
        delays = []
        for _attempt in range(60):
            with freeze_time(event.next_attempt):
                before = event.next_attempt
                self.process_events()
                delays.append((event.next_attempt - before).total_seconds())
        self.assertEqual(event.attempts, 50)
        self.assertEqual(delays[:4], [30, 60, 300, 900])
        self.assertEqual(event.state, "error", "kept for a person to look at")
        # the button still processes it, now
        event.write({"payload": json.dumps(inbound_payload("repaired", uuid="q-6"))})
        event.action_process()
        self.assertEqual(event.state, "done")

    def test_status_callbacks_go_through_the_same_queue(self):
        message = self.partner.with_user(self.user_sales)._message_sms("Status please")
        tracker = message.sudo().notification_ids.sms_tracker_ids
        response = self.post_json(self.status_callback(tracker.didww_message_id, "DELIVERED", kind="dlr_event"),
                                  process=False)
        self.assertEqual(response.json()["status"], "queued")
        self.assertNotEqual(tracker.didww_status, "delivered")
        self.process_events()
        self.assertEqual(tracker.didww_status, "delivered")

    def test_a_batch_cut_short_before_its_commit_is_processed_again_and_posted_once(self):
        """The short version of dev/faults_inbound.py: the worker dies (here: the transaction is
        rolled back) after posting but before committing; the events stay queued."""
        responses = [self.post_json(inbound_payload(f"crash {index}", sender="37067777779", uuid=f"q-8-{index}"),
                                    process=False) for index in range(3)]
        events = self.env["didww.webhook.event"].browse([response.json()["event"] for response in responses])

        class WorkerDied(Exception):
            pass

        with self.assertRaises(WorkerDied), self.env.cr.savepoint():
            self.process_events()
            self.assertEqual(events.mapped("state"), ["done"] * 3)
            raise WorkerDied
        self.env.invalidate_all()
        self.assertEqual(events.mapped("state"), ["pending"] * 3)
        self.assertFalse(self.env["res.partner"].search([("phone_sanitized", "=", "+37067777779")]))
        # DIDWW retries meanwhile: still one event each
        self.assertEqual(self.post_json(inbound_payload("crash 0", sender="37067777779", uuid="q-8-0"),
                                        process=False).json()["status"], "duplicate")
        self.process_events()
        partner = self.env["res.partner"].search([("phone_sanitized", "=", "+37067777779")])
        self.assertEqual(len(partner), 1)
        self.assertEqual(len(partner.message_ids.filtered(lambda m: "crash " in (m.body or ""))), 3)

    def test_a_senders_texts_share_a_lane_and_senders_are_spread_over_the_lanes(self):
        spellings = ("37067700001", "+37067700001", "0037067700001")
        lanes = {self.post_json(inbound_payload(f"lane {index}", sender=sender, uuid=f"q-9-{index}"),
                                process=False).json()["event"] for index, sender in enumerate(spellings)}
        self.assertEqual(len(set(self.env["didww.webhook.event"].browse(lanes).mapped("lane"))), 1,
                         "one sender, however spelled, is processed by one cron, in order")
        senders = [f"3706770{index:04d}" for index in range(40)]
        events = self.env["didww.webhook.event"].browse([
            self.post_json(inbound_payload("spread", sender=sender, uuid=f"q-10-{sender}"), process=False)
            .json()["event"] for sender in senders])
        self.assertEqual(set(events.mapped("lane")), set(range(len(LANE_CRONS))))

    def test_each_lanes_cron_processes_its_own_lane_only(self):
        events = self.env["didww.webhook.event"].browse([
            self.post_json(inbound_payload("by lane", sender=f"3706780{index:04d}", uuid=f"q-11-{index}"),
                           process=False).json()["event"] for index in range(12)])
        first, second = (events.filtered(lambda event, lane=lane: event.lane == lane) for lane in (0, 1))
        self.assertTrue(first and second)
        Event = self.env["didww.webhook.event"]
        self.assertEqual(Event._cron_process_pending(lane=1), second.sorted("id"))
        self.assertEqual(set(first.mapped("state")), {"pending"})
        self.assertEqual(Event._cron_process_pending(lane=0), first.sorted("id"))
        self.assertEqual(set(events.mapped("state")), {"done"})

    def test_each_lane_has_a_cron_that_processes_it(self):
        for lane, cron in enumerate(self.crons()):
            self.assertTrue(cron.active)
            self.assertEqual(cron.code.strip(), f"model._cron_process_pending(lane={lane})")

    def test_the_upgrade_points_the_first_cron_at_the_first_lane(self):
        """18.0.1.1.0 had one cron for every event; its code is noupdate data, rewritten by the migration."""
        path = Path(__file__).parent.parent / "migrations" / "18.0.1.2.0" / "post-migrate.py"
        spec = importlib.util.spec_from_file_location("didww_connector_post_migrate_1_2", path)
        migration = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(migration)
        self.cron().write({"code": "model._cron_process_pending()"})
        migration.migrate(self.env.cr, "18.0.1.1.0")
        self.assertEqual(self.cron().code, "model._cron_process_pending(lane=0)")
