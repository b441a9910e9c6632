import base64
import importlib.util
import json
from datetime import timedelta
from pathlib import Path
from unittest.mock import patch

import psycopg2
from freezegun import freeze_time

from odoo import fields
from odoo.sql_db import connection_info_for
from odoo.tests import tagged

from ..models.didww_webhook_queue import BATCH_SIZE, CLAIM_LOCK_SPACE
from ..tools.didww_webhook import claim_key_of
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

    def cron(self):
        return self.crons()[:1]

    def crons(self):
        return self.env["didww.webhook.event"]._processing_crons()

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
        self.assertEqual(woken.cron_id, self.cron(), "a processing cron is woken up")
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
        self.assertEqual((event.state, event.attempts, event.result),
                         ("error", 1, "'from' is not a phone number (at least 3 digits)"))
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

    def post(self, text, sender, uuid):
        response = self.post_json(inbound_payload(text, sender=sender, uuid=uuid), process=False)
        return self.env["didww.webhook.event"].browse(response.json()["event"])

    def test_a_senders_texts_share_a_claim_key_and_senders_have_their_own(self):
        spellings = ("37067700001", "+37067700001", "0037067700001")
        events = self.env["didww.webhook.event"].concat(*(
            self.post(f"key {index}", sender, f"q-9-{index}") for index, sender in enumerate(spellings)))
        self.assertEqual(len(set(events.mapped("claim_key"))), 1,
                         "one sender, however spelled, is processed by one worker at a time, in order")
        others = self.env["didww.webhook.event"].concat(*(
            self.post("spread", f"3706770{index:04d}", f"q-10-{index}") for index in range(40)))
        self.assertEqual(len(set(others.mapped("claim_key"))), 40)
        self.assertNotEqual(claim_key_of(self.company.id, "sender:67700001"), claim_key_of(
            self.company.id + 1, "sender:67700001"), "companies do not share keys")

    def test_every_processing_cron_runs_the_same_claims(self):
        crons = self.crons()
        self.assertGreaterEqual(len(crons), 4)
        for cron in crons:
            self.assertTrue(cron.active)
            self.assertEqual(cron.code.strip(), "model._cron_process_pending()")

    def other_worker(self):
        """A second database connection: another cron worker, here or on another Odoo server."""
        _name, params = connection_info_for(self.env.cr.dbname)
        connection = psycopg2.connect(**params)
        self.addCleanup(connection.close)
        return connection

    def test_a_sender_another_worker_holds_is_left_for_later_and_stays_in_order(self):
        held = [self.post(f"held {index}", "37067800001", f"q-11-{index}") for index in range(3)]
        free = [self.post(f"free {index}", f"3706780{index + 2:04d}", f"q-12-{index}") for index in range(3)]
        worker = self.other_worker()
        with worker.cursor() as cr:
            cr.execute("BEGIN")
            cr.execute("SELECT pg_advisory_xact_lock(%s, %s)", [CLAIM_LOCK_SPACE, held[0].claim_key])
        cron, progress = self.cron()._add_progress()
        Event = self.env["didww.webhook.event"].with_context(ir_cron_progress_id=progress.id)
        self.assertEqual(Event._cron_process_pending(), self.env["didww.webhook.event"].concat(*free))
        self.assertEqual([event.state for event in held], ["pending"] * 3, "not taken while another holds it")
        self.assertEqual((progress.done, progress.remaining), (3, 3), "and reported as left")
        worker.rollback()  # the other worker's batch ends
        self.assertEqual(Event._cron_process_pending(), self.env["didww.webhook.event"].concat(*held))
        partner = self.env["res.partner"].search([("phone_sanitized", "=", "+37067800001")])
        self.assertEqual(len(partner), 1)
        texts = [body for body in partner.message_ids.sorted("id").mapped("body") if "held " in body]
        self.assertEqual([f"held {index}" in body for index, body in enumerate(texts)], [True] * 3)
        self.assertTrue(cron)

    def test_an_older_text_not_in_the_claim_keeps_the_later_ones_waiting(self):
        """A worker that takes a sender's key must hold its oldest due text: otherwise that text is
        another worker's (locked there, so skipped here), or was processed by one after this
        transaction's snapshot was taken, and the later ones wait for a later batch."""
        older = self.post("older", "37067800010", "q-13-0")
        later = self.post("later", "37067800010", "q-13-1")
        other = self.post("other", "37067800011", "q-13-2")
        Event = self.env["didww.webhook.event"]
        lock_oldest_due = type(Event)._lock_oldest_due

        def held_elsewhere(model, limit):
            return [row for row in lock_oldest_due(model, limit) if row[0] != older.id]

        with patch.object(type(Event), "_lock_oldest_due", held_elsewhere):
            self.assertEqual(Event._claim_due(BATCH_SIZE), (other, True))
        self.assertEqual(Event._claim_due(BATCH_SIZE), (older | later | other, False))
        # an older text waiting for its retry holds the later ones; one that failed does not
        older.write({"next_attempt": fields.Datetime.now() + timedelta(seconds=5), "attempts": 1})
        self.assertEqual(Event._claim_due(BATCH_SIZE), (other, True))
        older.write({"state": "error"})
        self.assertEqual(Event._claim_due(BATCH_SIZE), (later | other, False))

    def test_a_text_held_elsewhere_between_two_of_the_claim_keeps_the_later_ones_waiting(self):
        """Another worker locked the row of a sender's second text (it did not win the sender's key,
        and holds the row until its batch ends): this batch takes the first text only, never the
        third before the second (bench_scale.py with four cron workers posted 5 senders of 200 out
        of order before)."""
        texts = [self.post(f"text {index}", "37067800020", f"q-15-{index}") for index in range(3)]
        other = self.post("other", "37067800021", "q-15-3")
        Event = self.env["didww.webhook.event"]
        lock_oldest_due = type(Event)._lock_oldest_due

        def held_elsewhere(model, limit):
            return [row for row in lock_oldest_due(model, limit) if row[0] != texts[1].id]

        with patch.object(type(Event), "_lock_oldest_due", held_elsewhere):
            self.assertEqual(Event._claim_due(BATCH_SIZE), (texts[0] | other, True))
        self.assertEqual(Event._claim_due(BATCH_SIZE), (texts[0] | texts[1] | texts[2] | other, False))
        # processed by the worker that held it (after this transaction's snapshot: still waiting
        # here), the second text holds the third as well
        texts[0].write({"state": "done"})
        with patch.object(type(Event), "_lock_oldest_due", held_elsewhere):
            self.assertEqual(Event._claim_due(BATCH_SIZE), (other, True))

    def test_a_cron_worker_keeps_a_backlog_draining_and_wakes_more_workers(self):
        for index in range(BATCH_SIZE * 3):
            self.post(f"backlog {index}", f"3706790{index:04d}", f"q-14-{index}")
        crons = self.crons()
        since = self.env["ir.cron.trigger"].search([], order="id desc", limit=1).id
        cron, progress = crons[0]._add_progress()
        Event = self.env["didww.webhook.event"].with_context(ir_cron_progress_id=progress.id, cron_id=crons[0].id)
        self.assertEqual(len(Event._cron_process_pending()), BATCH_SIZE)
        self.assertEqual(progress.remaining, BATCH_SIZE * 2)
        triggers = self.env["ir.cron.trigger"].search([("id", ">", since)])
        now = fields.Datetime.now()
        self.assertIn(crons[0], triggers.filtered(lambda trigger: trigger.call_at <= now).cron_id,
                      "woken again past Odoo's 10 batches a run")
        self.assertEqual(len((triggers.cron_id - crons[0]) & crons), 2, "two more workers for two batches left")
        self.assertTrue(cron)

    def migration(self, version, name):
        path = Path(__file__).parent.parent / "migrations" / version / name
        spec = importlib.util.spec_from_file_location(f"didww_connector_migration_{version}_{path.stem}", path)
        migration = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(migration)
        return migration

    def test_the_upgrade_from_lanes_points_every_cron_at_the_claims(self):
        """18.0.1.1.0 had one cron, 18.0.1.2.0 a cron per lane (``noupdate`` data, rewritten by the
        migrations); events waiting at the upgrade get their claim key."""
        first, second = self.env.ref("didww_connector.ir_cron_didww_webhook_events"), self.env.ref(
            "didww_connector.ir_cron_didww_webhook_events_lane_2")
        first.write({"code": "model._cron_process_pending()"})
        second.write({"code": "model._cron_process_pending(lane=1)"})
        waiting = self.post("before the upgrade", "37067800020", "q-15")
        waiting.flush_recordset()
        self.env.cr.execute("UPDATE didww_webhook_event SET claim_key = 0 WHERE id = %s", [waiting.id])
        self.migration("18.0.1.2.0", "post-migrate.py").migrate(self.env.cr, "18.0.1.1.0")
        self.migration("18.0.1.3.0", "post-inbound2.py").migrate(self.env.cr, "18.0.1.1.0")
        self.env.invalidate_all()
        self.assertEqual((first.code, second.code), ("model._cron_process_pending()",) * 2)
        self.assertEqual(waiting.claim_key, claim_key_of(self.company.id, "sender:67800020"))
        self.assertEqual(self.env["didww.webhook.event"]._cron_process_pending(), waiting)

    def test_a_busy_batch_looks_again_and_an_idle_one_does_not(self):
        """After a batch that processed events, one more run looks at what came in meanwhile (the
        deliveries that counted on the wake-up of the run); an empty run wakes nothing."""
        self.post("one more look", "37067800030", "q-16")
        crons = self.crons()
        Event = self.env["didww.webhook.event"].with_context(cron_id=crons[0].id)
        since = self.env["ir.cron.trigger"].search([], order="id desc", limit=1).id
        self.assertEqual(len(Event._cron_process_pending()), 1)
        again = self.env["ir.cron.trigger"].search([("id", ">", since)])
        self.assertEqual(again.cron_id, crons[0])
        self.assertLessEqual(again.call_at, fields.Datetime.now())
        self.assertFalse(Event._cron_process_pending())
        self.assertEqual(self.env["ir.cron.trigger"].search([("id", ">", since)]), again, "the chain ends")
