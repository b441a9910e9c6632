import json
import logging
from dataclasses import dataclass
from datetime import timedelta

from psycopg2 import IntegrityError
from psycopg2.errors import LockNotAvailable, SerializationFailure

from odoo import api, fields, models
from odoo.tools import SQL, mute_logger

from ..tools.didww_webhook import StatusEvent, WebhookFormatError, lane_of, parse_event
from .didww_sms_session import ConversationBusy

_logger = logging.getLogger(__name__)

STATUS_WAIT = timedelta(hours=1)  # a callback may beat the commit of the SMS it is about
KEEP_DAYS = 90  # processed events older than this are deleted by the autovacuum
BATCH_SIZE = 20  # events per cron batch: one commit each, so a message is on its chatter within a batch
# One processing cron per lane, run side by side by Odoo's cron workers (two by default): an event's
# lane is a hash of its sender (of its SMS for a status), so one sender's texts stay in order
LANE_CRONS = ("didww_connector.ir_cron_didww_webhook_events", "didww_connector.ir_cron_didww_webhook_events_lane_2")
MAX_ATTEMPTS = 50
RETRY_DELAYS = (5, 30, 60, 300)  # seconds before retrying an event that waits or failed, then every 15 min
# Coalesced wake-ups (see _wake_cron); trigger dates are whole seconds, "now" rounded down
WAKE_FRESH = timedelta(seconds=2)  # a due wake-up this young is being honoured: no new one
WAKE_AHEAD = timedelta(seconds=5)  # a delivery that sends none relies on a trigger at least this far ahead
WAKE_FALLBACK = timedelta(seconds=10)  # ... and stores one this far ahead when there is none

# What storing a delivery came to; the webhook maps each code to its HTTP answer
OUTCOME_QUEUED = "queued"  # stored and committed, processed by the cron right after
OUTCOME_DUPLICATE = "duplicate"  # the same event was stored before
OUTCOME_UNKNOWN_NUMBER = "unknown_number"  # stored, but the company has no such DIDWW number


@dataclass
class StoreOutcome:
    code: str
    event: object  # a didww.webhook.event recordset, empty for a duplicate a concurrent request stores
    message: str = ""


class DidwwWebhookEvent(models.Model):
    """The inbox of a company's webhook: every event DIDWW posted, stored before anything else.

    Storing is all the webhook request does; the ``Process webhook events`` crons, triggered on
    each store, process them in batches out of the request (an inbound SMS is routed by its
    conversation, :meth:`didww.sms.session._route_inbound`; a status updates its SMS). Each event
    belongs to one lane, a hash of its sender: the crons of the lanes run side by side, and one
    sender's texts are processed one after the other, in the order they came. The unique
    ``(company_id, dedupe_key)`` makes a repeated delivery a no-op; events that cannot be
    processed yet (unknown message id, unknown number, an error) stay and are retried with a
    backoff, so nothing DIDWW delivered is ever lost.
    """

    _name = "didww.webhook.event"
    _description = "DIDWW webhook event"
    _order = "id DESC"

    company_id = fields.Many2one("res.company", required=True, index=True, ondelete="cascade", readonly=True)
    kind = fields.Selection([("inbound", "Inbound SMS"), ("status", "SMS status")], required=True, readonly=True)
    dedupe_key = fields.Char(required=True, readonly=True)
    payload = fields.Text(required=True, readonly=True)
    state = fields.Selection([
        ("pending", "Waiting"),
        ("done", "Processed"),
        ("error", "Error"),
        ("ignored", "Ignored"),
    ], default="pending", required=True, index=True, readonly=True)
    result = fields.Char(readonly=True)
    attempts = fields.Integer(readonly=True, default=0)
    next_attempt = fields.Datetime(
        "Next attempt", readonly=True, default=fields.Datetime.now,
        help="A waiting or failed event is processed again from then on.")
    remote_addr = fields.Char("From IP", readonly=True)
    lane = fields.Integer(
        readonly=True, default=0,
        help="Which processing cron takes the event: the texts of one sender share a lane, so they are "
             "processed in the order they came, while other senders' are processed side by side.")
    sms_time = fields.Datetime("Sent at (DIDWW)", readonly=True, help="DIDWW's time of an inbound SMS (RFC 1123).")
    res_model = fields.Char("Document model", readonly=True)
    res_id = fields.Many2oneReference("Document", model_field="res_model", readonly=True)

    _sql_constraints = [
        ("company_dedupe_unique", "unique(company_id, dedupe_key)", "This DIDWW event was already received."),
    ]

    def init(self):
        # the cron's queue: waiting or failed events, oldest first
        self.env.cr.execute("""
            CREATE INDEX IF NOT EXISTS didww_webhook_event_todo_idx
            ON didww_webhook_event (id) WHERE state IN ('pending', 'error')
        """)

    @api.depends("kind", "dedupe_key")
    def _compute_display_name(self):
        labels = dict(self._fields["kind"].selection)
        for event in self:
            event.display_name = f"{labels.get(event.kind, '')} #{event.id}"

    # ------------------------------------------------------------
    # Storing (in the webhook request)
    # ------------------------------------------------------------

    @api.model
    def _store(self, company, params, remote_addr=None):
        """Parse and store one delivery, and wake the processing cron. Return a :class:`StoreOutcome`.

        An inbound SMS to a number the company does not have is stored too (as an error, processed
        again when DIDWW retries once the number exists), with the ``unknown_number`` code.

        :raises WebhookFormatError: the body is not a DIDWW event (nothing is stored).
        """
        event_data = parse_event(params)
        kind = "status" if isinstance(event_data, StatusEvent) else "inbound"
        unknown = kind == "inbound" and not self.env["didww.sms.number"]._find_by_number(company, event_data.to)
        vals = {
            "company_id": company.id,
            "kind": kind,
            "dedupe_key": event_data.dedupe_key,
            "payload": json.dumps(params, ensure_ascii=False, sort_keys=True),
            "remote_addr": remote_addr,
            "sms_time": getattr(event_data, "time", None) or False,
            "lane": lane_of(company.id, event_data.order_key, len(LANE_CRONS)),
        }
        if unknown:
            vals.update(state="error", result=self._unknown_number_text(event_data.to))
        try:
            with mute_logger("odoo.sql_db"), self.env.cr.savepoint():
                event = self.create(vals)
        except IntegrityError:
            # stored before; empty when a concurrent delivery of it committed after our snapshot
            event = self.search([("company_id", "=", company.id), ("dedupe_key", "=", vals["dedupe_key"])])
            if event and event.kind == "inbound" and event.state == "error":
                if unknown:
                    return StoreOutcome(OUTCOME_UNKNOWN_NUMBER, event, event.result)
                # DIDWW retries a delivery that failed (e.g. to a number that exists now): again, now
                event.write({"state": "pending", "next_attempt": fields.Datetime.now()})
                event._wake_processing()
                return StoreOutcome(OUTCOME_QUEUED, event)
            return StoreOutcome(OUTCOME_DUPLICATE, event)
        if unknown:
            return StoreOutcome(OUTCOME_UNKNOWN_NUMBER, event, event.result)
        event._wake_processing()
        return StoreOutcome(OUTCOME_QUEUED, event)

    def _unknown_number_text(self, to):
        return self.env._("unknown DIDWW number %(number)s", number=to)

    def _processing_crons(self):
        """The crons that process these events (all of them for none), as superuser."""
        lanes = sorted(set(self.mapped("lane"))) if self else range(len(LANE_CRONS))
        crons = self.env["ir.cron"]
        for lane in lanes:
            cron = self.env.ref(LANE_CRONS[lane % len(LANE_CRONS)], raise_if_not_found=False)
            crons |= cron or crons
        # sudo: the webhook runs as the public user; waking a cron is technical
        crons = crons.sudo()
        crons.fetch(["active"])  # all _trigger reads: not the whole cron and its server action
        return crons

    def _wake_processing(self, at=None):
        """Wake the crons of these events' lanes (now, or ``at``)."""
        for cron_sudo in self._processing_crons():
            self._wake_cron(cron_sudo, at)

    @api.model
    def _wake_cron(self, cron_sudo, at=None):
        """Wake ``cron_sudo`` as Odoo does (``ir.cron._trigger``), unless a wake-up is already under way.

        Odoo's wake-up stores a trigger and, after the commit, notifies the cron workers over a new
        PostgreSQL connection (PostgreSQL forks a process for it): once per delivery of a burst. A
        delivery skips it while a wake-up of the cron sent less than ``WAKE_FRESH`` ago is due (the
        workers were told and run, or are about to run, the cron). Skipping must not leave the event
        behind a run that is finishing: at its end Odoo deletes the cron's triggers dated before the
        run started, and the run's last batch may have looked before this event was committed. So a
        delivery that skips makes sure a trigger dated at least ``WAKE_AHEAD`` after now exists (one
        every few seconds, dated ``WAKE_FALLBACK`` ahead; Odoo does not notify for a future trigger):
        no run that starts before that date deletes it, and a run that starts after it sees this
        event, committed long before.
        """
        if at:
            return cron_sudo._trigger(at)
        now = fields.Datetime.now()
        self.env.cr.execute(SQL(
            "SELECT bool_or(call_at BETWEEN %s AND %s), bool_or(call_at >= %s) FROM ir_cron_trigger WHERE cron_id = %s",
            now - WAKE_FRESH, now, now + WAKE_AHEAD, cron_sudo.id))
        woken, ahead = self.env.cr.fetchone()
        if not woken:
            return cron_sudo._trigger()
        if not ahead:
            return cron_sudo._trigger(now + WAKE_FALLBACK)
        return self.env["ir.cron.trigger"]

    # ------------------------------------------------------------
    # Processing (out of the request)
    # ------------------------------------------------------------

    @api.model
    def _cron_process_pending(self, batch_size=BATCH_SIZE, lane=None):
        """Process one batch of the events of ``lane`` (of every lane when None) that are due,
        oldest first, and tell the cron how many are left (Odoo runs it again at once, committing
        between batches).

        A lane's cron runs one instance at a time, so its events are processed in the order they
        came, one after the other: a sender's texts are posted in order, and a new sender gets one
        contact. The lanes' crons run side by side.
        """
        events = self._claim_due(batch_size, lane)
        events._process()
        remaining = self._count_due(lane) if len(events) == batch_size else 0
        self.env["ir.cron"]._notify_progress(done=len(events), remaining=remaining)
        return events

    def _due_domain(self, lane=None):
        lane_domain = [("lane", "=", lane)] if lane is not None else []
        return [*lane_domain, ("state", "in", ("pending", "error")), ("attempts", "<", MAX_ATTEMPTS),
                "|", ("next_attempt", "=", False), ("next_attempt", "<=", fields.Datetime.now())]

    def _claim_due(self, limit, lane=None):
        """Due events, locked so that a manual 'Process again' never processes one twice."""
        self.flush_model(["state", "attempts", "next_attempt", "lane"])
        query = self._search(self._due_domain(lane), order="id", limit=limit)
        self.env.cr.execute(SQL("%s FOR UPDATE SKIP LOCKED", query.select("id")))
        return self.browse([row[0] for row in self.env.cr.fetchall()])

    def _count_due(self, lane=None):
        return self.search_count(self._due_domain(lane))

    def _process(self):
        """Process events; each in a savepoint so that one failure never loses another."""
        now = fields.Datetime.now()
        retry_at = {}  # event -> when it is due again
        results = {}  # event -> its new state, written once the batch is done (one UPDATE for all)
        numbers = {}  # (company id, number as DIDWW wrote it) -> didww.sms.number, looked up once a batch
        for event in self:
            attempts = event.attempts + 1
            try:
                with self.env.cr.savepoint():
                    event_data = parse_event(json.loads(event.payload))
                    company_env = event.with_company(event.company_id)
                    if isinstance(event_data, StatusEvent):
                        vals = company_env._process_status(event_data)
                    else:
                        vals = company_env._process_inbound(event_data, numbers)
            except WebhookFormatError as exc:
                vals = {"state": "error", "result": str(exc)}
            except ConversationBusy as exc:
                vals = {"state": "pending", "result": str(exc)}
            except (SerializationFailure, LockNotAvailable):
                # e.g. a user texting this customer updated the conversation at the same moment
                vals = {"state": "pending", "result": "concurrent update: processed again shortly"}
            except Exception as exc:  # kept, logged and retried: never lost
                _logger.exception("DIDWW webhook event %s could not be processed", event.id)
                vals = {"state": "error", "result": f"{type(exc).__name__}: {exc}"[:250]}
            if vals["state"] in ("pending", "error"):
                delay = RETRY_DELAYS[attempts - 1] if attempts <= len(RETRY_DELAYS) else 900
                vals["next_attempt"] = retry_at[event] = now + timedelta(seconds=delay)
            results[event] = dict(vals, attempts=attempts)
        for event, vals in results.items():
            event.write(vals)
        for events in self.browse([event.id for event in retry_at]).grouped("lane").values():
            events._wake_processing(min(retry_at[event] for event in events))
        return self

    def action_process(self):
        """Button: process again events that wait or failed, now."""
        self.filtered(lambda event: event.state in ("pending", "error"))._process()

    def _process_status(self, status):
        # a company's webhook only updates that company's SMS
        tracker_sudo = self.env["sms.tracker"].sudo().search(
            [("didww_message_id", "=", status.message_id), ("didww_company_id", "=", self.company_id.id)], limit=1)
        if not tracker_sudo:
            if fields.Datetime.now() - (self.create_date or fields.Datetime.now()) > STATUS_WAIT:
                return {"state": "ignored", "result": "no SMS with this DIDWW message id"}
            return {"state": "pending", "result": "no SMS with this DIDWW message id yet"}
        outcome = tracker_sudo._didww_apply_status(status)
        return {"state": "done", "result": f"{status.kind} {status.status}: {outcome}"}

    def _process_inbound(self, sms, numbers=None):
        numbers = {} if numbers is None else numbers
        key = (self.company_id.id, sms.to)
        if key not in numbers:
            numbers[key] = self.env["didww.sms.number"]._find_by_number(self.company_id, sms.to)
        number = numbers[key]
        if not number:
            return {"state": "error", "result": self._unknown_number_text(sms.to)}
        record, message, notified = self.env["didww.sms.session"]._route_inbound(number, sms)
        return {
            "state": "done", "res_model": record._name, "res_id": record.id,
            "result": f"posted as message {message.id} on {record._name},{record.id} for {len(notified)} user(s)",
        }

    @api.autovacuum
    def _gc_processed_events(self):
        """Processed and ignored events are kept for KEEP_DAYS for the record, then deleted."""
        self.search([("state", "in", ("done", "ignored")),
                     ("create_date", "<", fields.Datetime.now() - timedelta(days=KEEP_DAYS))]).unlink()

    # ------------------------------------------------------------
    # Display (the Webhook events screens)
    # ------------------------------------------------------------

    result_display = fields.Char("Result in words", compute="_compute_result_display")
    payload_display = fields.Text("Payload (as DIDWW sent it)", compute="_compute_payload_display")

    def _payload_dict(self):
        self.ensure_one()
        try:
            payload = json.loads(self.payload or "{}")
        except ValueError:
            return {}
        return payload if isinstance(payload, dict) else {}

    @api.depends("payload")
    def _compute_payload_display(self):
        for event in self:
            try:
                event.payload_display = json.dumps(json.loads(event.payload), indent=2, ensure_ascii=False)
            except (TypeError, ValueError):
                event.payload_display = event.payload

    @api.depends("state", "kind", "result", "res_model", "res_id", "payload")
    def _compute_result_display(self):
        """The result in words: where an inbound SMS was posted, what a status did to which SMS."""
        outcomes = {"sent": self.env._("Sent"), "delivered": self.env._("Delivered"),
                    "error": self.env._("Error"), "ignored": self.env._("unchanged")}
        statuses = {event: ((event._payload_dict().get("data") or {}) if event.kind == "status" else {})
                    for event in self}
        message_ids = [data.get("id") for data in statuses.values() if isinstance(data, dict) and data.get("id")]
        # sudo: trackers are technical records; only their numbers are shown, to administrators
        trackers = self.env["sms.tracker"].sudo().search([("didww_message_id", "in", message_ids)]) \
            if message_ids else self.env["sms.tracker"]
        number_of = {tracker.didww_message_id: tracker.mail_notification_id.sms_number for tracker in trackers}
        for event in self:
            if event.state == "done" and event.kind == "inbound":
                document = self.env["sms.sms"]._didww_document(event.res_model, event.res_id)
                event.result_display = self.env._(
                    "SMS posted on %(kind)s %(document)s", kind=self.env["ir.model"]._get(document._name).name,
                    document=document.display_name) if document else event.result
            elif event.state == "done" and event.kind == "status":
                data = statuses[event] if isinstance(statuses[event], dict) else {}
                status = (data.get("attributes") or {}).get("status") or ""
                outcome = (event.result or "").rpartition(": ")[2]
                event.result_display = self.env._(
                    "DIDWW says %(status)s: the SMS to %(number)s is %(outcome)s",
                    status=status, number=number_of.get(data.get("id")) or self.env._("a customer"),
                    outcome=outcomes.get(outcome, outcome))
            elif event.state == "pending":
                event.result_display = self.env._("Waiting: %(why)s", why=event.result or "")
            else:
                event.result_display = event.result

    def action_open_document(self):
        """Button: the contact, lead… an inbound SMS was posted on."""
        self.ensure_one()
        return {"type": "ir.actions.act_window", "res_model": self.res_model, "res_id": self.res_id,
                "view_mode": "form", "target": "current"}
