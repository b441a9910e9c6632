import json
import logging
from dataclasses import dataclass
from datetime import timedelta

from psycopg2 import IntegrityError
from psycopg2.errors import LockNotAvailable, SerializationFailure

from odoo import api, fields, models
from odoo.osv import expression
from odoo.tools import SQL, mute_logger

from ..tools.didww_webhook import StatusEvent, WebhookFormatError, claim_key_of, parse_event
from .didww_sms_inbound import ConversationBusy

_logger = logging.getLogger(__name__)

STATUS_WAIT = timedelta(hours=1)  # a callback may beat the commit of the SMS it is about
KEEP_DAYS = 90  # processed events older than this are deleted by the autovacuum
UNKNOWN_KEEP_DAYS = 7  # deliveries to unknown numbers: DIDWW has stopped retrying them long before
BATCH_SIZE = 20  # events per cron batch: one commit each, so a message is on its chatter within a batch
# The advisory lock space of claims (pg_try_advisory_xact_lock(space, claim key)): "DIDW"
CLAIM_LOCK_SPACE = 0x44494457
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
# what a processed status callback made of its SMS (sms.tracker._didww_apply_status)
STATUS_OUTCOMES = [("sent", "Sent"), ("delivered", "Delivered"), ("error", "Error"), ("ignored", "Unchanged")]
OUTCOME_LIMITED = "limited"  # not stored: over the company's limits, DIDWW retries later
UNKNOWN_PER_HOUR = 100  # events to unknown numbers kept an hour per company: examples for the admin


@dataclass
class StoreOutcome:
    code: str
    event: object  # a didww.webhook.event recordset, empty for a duplicate a concurrent request stores
    message: str = ""


class DidwwWebhookEvent(models.Model):
    """The inbox of a company's webhook: every event DIDWW posted, stored before anything else.

    Storing is all the webhook request does; the ``Process webhook events`` crons, triggered on
    each store, process them in batches out of the request (an inbound SMS is routed by its
    conversation, :meth:`didww.sms.inbound._route`; a status updates its SMS). Every
    processing cron, on every Odoo server of the database, claims events per claim key (a hash of
    the sender, of the SMS for a status): other senders' texts are processed side by side, and one
    sender's one after the other, in the order they came. The unique
    ``(company_id, dedupe_key)`` makes a repeated delivery a no-op; events that cannot be
    processed yet (unknown message id, unknown number, an error) stay and are retried with a
    backoff, so nothing DIDWW delivered is ever lost.
    """

    _name = "didww.webhook.event"
    _description = "DIDWW webhook event"
    _order = "id DESC"

    # administrators only (access rights), who read every company; the document is a bare id
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
    claim_key = fields.Integer(
        readonly=True, default=0,
        help="Events with the same key (the texts of one sender, the statuses of one SMS) are processed "
             "one after the other, in the order they came; other keys' events side by side, by every "
             "cron worker of every Odoo server on the database.")
    sms_time = fields.Datetime("Sent at (DIDWW)", readonly=True, help="DIDWW's time of an inbound SMS (RFC 1123).")
    res_model = fields.Char("Document model", readonly=True)
    res_id = fields.Many2oneReference("Document", model_field="res_model", readonly=True)
    # the number an inbound SMS was sent to, looked up once when it is stored (DIDWW numbers are
    # readable by the company's users; events by administrators only)
    number_id = fields.Many2one("didww.sms.number", "DIDWW number", readonly=True, ondelete="set null")
    status_outcome = fields.Selection(STATUS_OUTCOMES, "SMS status after", readonly=True,
                                      help="What a processed status callback made of its SMS.")
    new_sender = fields.Boolean(readonly=True, help="The sender had no conversation with the number yet.")
    unknown_number = fields.Boolean(readonly=True, help="Sent to a number the company does not have.")

    _sql_constraints = [
        ("company_dedupe_unique", "unique(company_id, dedupe_key)", "This DIDWW event was already received."),
    ]

    def init(self):
        # the crons' queue: waiting or failed events, oldest first; and by claim key
        self.env.cr.execute("""
            CREATE INDEX IF NOT EXISTS didww_webhook_event_todo_idx
            ON didww_webhook_event (id) WHERE state IN ('pending', 'error')
        """)
        self.env.cr.execute("""
            CREATE INDEX IF NOT EXISTS didww_webhook_event_todo_claim_idx
            ON didww_webhook_event (claim_key, id) WHERE state IN ('pending', 'error')
        """)
        # the webhook's limits: the company's events of the last minute (or hour), counted by index
        self.env.cr.execute("""
            CREATE INDEX IF NOT EXISTS didww_webhook_event_company_recent_idx
            ON didww_webhook_event (company_id, create_date) INCLUDE (new_sender, unknown_number)
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

        What is stored is what processing and the screens need (:meth:`InboundSms.to_payload`), never
        the extra keys a delivery may carry. A delivery over the company's limits is refused
        (``limited``, answered 429: DIDWW retries it later). An inbound SMS to a number the company
        does not have is stored too (as an error, processed again when DIDWW retries once the
        number exists), with the ``unknown_number`` code, up to UNKNOWN_PER_HOUR an hour.

        :raises WebhookFormatError: the body is not a DIDWW event (nothing is stored).
        """
        event_data = parse_event(params)
        kind = "status" if isinstance(event_data, StatusEvent) else "inbound"
        number = kind == "inbound" and self.env["didww.sms.number"]._find_by_number(company, event_data.to)
        unknown = kind == "inbound" and not number
        new_sender = bool(number) and not self.env["didww.sms.session"]._didww_has_conversation(
            number, event_data.sender)
        refusal = self._over_limits(company, new_sender=new_sender, unknown=unknown)
        if refusal:
            return StoreOutcome(refusal[0], self.browse(), refusal[1])
        vals = {
            "company_id": company.id,
            "kind": kind,
            "dedupe_key": event_data.dedupe_key,
            "payload": json.dumps(event_data.to_payload(), ensure_ascii=False, sort_keys=True),
            "remote_addr": remote_addr,
            "sms_time": getattr(event_data, "time", None) or False,
            "claim_key": claim_key_of(company.id, event_data.order_key),
            "number_id": number.id if number else False,
            "new_sender": new_sender,
            "unknown_number": unknown,
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
                event.write({"state": "pending", "next_attempt": fields.Datetime.now(), "unknown_number": False,
                             "number_id": number.id})
                event._wake_processing()
                return StoreOutcome(OUTCOME_QUEUED, event)
            return StoreOutcome(OUTCOME_DUPLICATE, event)
        if unknown:
            return StoreOutcome(OUTCOME_UNKNOWN_NUMBER, event, event.result)
        event._wake_processing()
        return StoreOutcome(OUTCOME_QUEUED, event)

    @api.model
    def _over_limits(self, company, new_sender=False, unknown=False):
        """``(outcome code, message)`` when a delivery would take ``company`` over a limit, else None.

        Whoever holds the webhook URL can post: the limits bound what they can store (events a
        minute, texts from new senders a minute, each of which may create a contact) and how many
        events to unknown numbers are kept. Counting reads the last minute's events through an index
        and stops at the limit."""
        now = fields.Datetime.now()
        if unknown and self._count_recent(company, now - timedelta(hours=1), UNKNOWN_PER_HOUR,
                                          SQL("unknown_number")) >= UNKNOWN_PER_HOUR:
            return OUTCOME_UNKNOWN_NUMBER, self.env._(
                "unknown DIDWW number (not stored: %(count)s such deliveries were stored in the last hour)",
                count=UNKNOWN_PER_HOUR)
        # sudo: the webhook runs as the public user; the limits are the company's technical settings
        company_sudo = company.sudo()
        minute = now - timedelta(minutes=1)
        limits = [(company_sudo.didww_webhook_max_events, SQL("TRUE"), self.env._(
            "more than %(limit)s deliveries in a minute: try again later"))]
        if new_sender:
            limits.append((company_sudo.didww_webhook_max_new_senders, SQL("new_sender"), self.env._(
                "texts from more than %(limit)s new senders in a minute: try again later")))
        for limit, condition, message in limits:
            if limit > 0 and self._count_recent(company, minute, limit, condition) >= limit:
                company_sudo._didww_tell_admins_limited(message % {"limit": limit})
                return OUTCOME_LIMITED, message % {"limit": limit}
        return None

    def _count_recent(self, company, since, limit, condition):
        """How many of ``company``'s events matching ``condition`` were stored since ``since``,
        counted up to ``limit``."""
        self.env.cr.execute(SQL(
            "SELECT count(*) FROM (SELECT 1 FROM didww_webhook_event WHERE company_id = %s AND create_date >= %s "
            "AND %s LIMIT %s) AS recent", company.id, since, condition, limit))
        return self.env.cr.fetchone()[0]

    def _unknown_number_text(self, to):
        return self.env._("unknown DIDWW number %(number)s", number=to)

    @api.model
    def _processing_crons(self):
        """The active crons that process the inbox, as superuser: the addon's, and any an
        administrator adds (a copy of one: every cron worker of every Odoo server on the database
        can run one at a time)."""
        # sudo: the webhook runs as the public user; waking a cron is technical
        crons = self.env["ir.cron"].sudo().search([
            ("model_id.model", "=", self._name), ("code", "=like", "%_cron_process_pending(%"),
        ], order="id")
        crons.fetch(["active"])  # all _trigger reads: not the whole cron and its server action
        return crons

    def _wake_processing(self, at=None):
        """Wake the processing crons (now, or ``at``) as Odoo does (``ir.cron._trigger``), unless a
        wake-up is already under way.

        Odoo's wake-up stores a trigger and, after the commit, notifies the cron workers over a new
        PostgreSQL connection (PostgreSQL forks a process for it): once per delivery of a burst. A
        delivery skips it while a wake-up of a processing cron sent less than ``WAKE_FRESH`` ago is
        due (the workers were told and run, or are about to run, the cron). Skipping must not leave
        the event behind a run that is finishing: at its end Odoo deletes the cron's triggers dated
        before the run started, and the run's last batch may have looked before this event was
        committed. So a delivery that skips makes sure a trigger dated at least ``WAKE_AHEAD`` after
        now exists (one every few seconds, dated ``WAKE_FALLBACK`` ahead; Odoo does not notify for a
        future trigger): no run that starts before that date deletes it, and a run that starts after
        it sees this event, committed long before.
        """
        crons = self._processing_crons()
        if not crons:
            return self.env["ir.cron.trigger"]
        if at:
            return crons[0]._trigger(at)
        now = fields.Datetime.now()
        self.env.cr.execute(SQL(
            "SELECT bool_or(call_at BETWEEN %s AND %s), bool_or(call_at >= %s) FROM ir_cron_trigger "
            "WHERE cron_id = ANY(%s)", now - WAKE_FRESH, now, now + WAKE_AHEAD, crons.ids))
        woken, ahead = self.env.cr.fetchone()
        if not woken:
            return crons[0]._trigger()
        if not ahead:
            return crons[0]._trigger(now + WAKE_FALLBACK)
        return self.env["ir.cron.trigger"]

    # ------------------------------------------------------------
    # Processing (out of the request)
    # ------------------------------------------------------------

    @api.model
    def _cron_process_pending(self, batch_size=BATCH_SIZE):
        """Process one batch of due events, oldest first, and tell the cron how many are left (Odoo
        runs it again at once, committing between batches).

        Every processing cron runs this side by side, on any Odoo server of the database: a batch
        claims its events per claim key (:meth:`_claim_due`), so that one sender's texts are
        processed one after the other, in order, and a new sender gets one contact. Run by a cron
        worker, a batch keeps the processing going while events are due (:meth:`_keep_processing`).
        """
        events, contended = self._claim_due(batch_size)
        events._process()
        remaining = self._count_due() if contended or len(events) == batch_size else 0
        self.env["ir.cron"]._notify_progress(done=len(events), remaining=remaining)
        if self.env.context.get("cron_id"):
            self._keep_processing(len(events), remaining, batch_size)
        return events

    def _due_domain(self):
        return [("state", "in", ("pending", "error")), ("attempts", "<", MAX_ATTEMPTS),
                "|", ("next_attempt", "=", False), ("next_attempt", "<=", fields.Datetime.now())]

    def _claim_due(self, limit):
        """Claim up to ``limit`` due events for this transaction, oldest first: ``(events, contended)``.

        Several cron workers, on one or several Odoo servers, claim at once. Each locks the oldest
        due events no other holds (``FOR UPDATE SKIP LOCKED``), then their claim keys (a
        transaction-level advisory lock per key, ``pg_try_advisory_xact_lock``): an event is
        processed only by the transaction holding its key, so one sender's texts are never processed
        by two workers at once. A key is left for a later batch (``contended``) when another worker
        holds it, or when an older event of it is not this transaction's: held by another worker,
        processed by one after this transaction's snapshot was taken, or waiting for its retry
        (e.g. its conversation was being created elsewhere). Its texts are then processed later,
        never out of order and never twice; only an older text that failed (``error``) lets the
        later ones go first.
        """
        rows = self._lock_oldest_due(limit)
        if rows is None:  # another worker processed some since this transaction began
            return self.browse(), True
        if not rows:
            return self.browse(), False
        first = {}  # claim key -> its oldest event here
        for event_id, key in rows:
            first.setdefault(key, event_id)
        self.env.cr.execute(SQL(
            "SELECT key FROM unnest(%s::int[]) AS key WHERE pg_try_advisory_xact_lock(%s, key)",
            list(first), CLAIM_LOCK_SPACE))
        won = {key for (key,) in self.env.cr.fetchall()}
        mine = {event_id for event_id, _key in rows}
        if won:
            # due, or waiting for a retry a few seconds away (another worker had its sender): an
            # older text that failed ("error") does not hold the sender's later ones
            waiting = expression.OR([self._due_domain(), [("state", "=", "pending"), ("attempts", "<", MAX_ATTEMPTS)]])
            older = self.search_fetch(expression.AND([waiting, [
                ("claim_key", "in", list(won)), ("id", "<", max(first[key] for key in won))]]),
                ["claim_key"], order="id")
            won -= {event.claim_key for event in older
                    if event.id not in mine and event.id < first[event.claim_key]}
        events = self.browse([event_id for event_id, key in rows if key in won])
        return events, len(events) < len(rows)

    def _lock_oldest_due(self, limit):
        """``[(id, claim key)]`` of the oldest due events no other transaction holds, locked for
        this one; None when some changed since this transaction's snapshot was taken."""
        self.flush_model(["state", "attempts", "next_attempt", "claim_key"])
        query = self._search(self._due_domain(), order="id", limit=limit)
        try:
            with self.env.cr.savepoint(flush=False):
                self.env.cr.execute(SQL("%s FOR UPDATE SKIP LOCKED", query.select(
                    SQL.identifier(self._table, "id"), SQL.identifier(self._table, "claim_key"))),
                    log_exceptions=False)
                return self.env.cr.fetchall()
        except SerializationFailure:
            return None

    def _count_due(self):
        return self.search_count(self._due_domain())

    def _keep_processing(self, done, remaining, batch_size):
        """Keep a backlog draining at full speed (in a cron worker's batch).

        Odoo runs a cron's batches 10 at a time, then waits for a new wake-up or its workers' next
        minute. A batch that processed events wakes its cron again (Odoo's ``_trigger``: one
        notification a batch, not a delivery), so the run goes on past Odoo's 10 batches, and a run
        that found everything done is followed by one more look at what came in meanwhile (the
        deliveries that counted on this run's wake-up); it also wakes idle processing crons for other
        cron workers to share a backlog of more than a batch. A batch that could claim nothing of what
        is due (other workers hold it) looks again a second later.
        """
        crons = self._processing_crons()
        own = crons.filtered(lambda cron: cron.id == self.env.context.get("cron_id")) or crons[:1]
        if not own:
            return
        now = fields.Datetime.now()
        if not done:
            if remaining:
                own._trigger(now + timedelta(seconds=1))
            return
        own._trigger()
        others = crons - own
        wanted = min(len(others), remaining // batch_size)
        if wanted:
            self.env.cr.execute(SQL("SELECT DISTINCT cron_id FROM ir_cron_trigger WHERE cron_id = ANY(%s) "
                                    "AND call_at <= %s", others.ids, now))
            woken = {cron_id for (cron_id,) in self.env.cr.fetchall()}
            idle = others.filtered(lambda cron: cron.id not in woken)[:wanted]
            # sudo: triggers are technical; own._trigger() above notifies the workers once for all
            self.env["ir.cron.trigger"].sudo().create([{"cron_id": cron.id, "call_at": now} for cron in idle])

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
        if retry_at:
            self._wake_processing(min(retry_at.values()))
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
        return {"state": "done", "status_outcome": outcome, "result": f"{status.kind} {status.status}: {outcome}"}

    def _process_inbound(self, sms, numbers=None):
        """Route an inbound SMS; its number was looked up when it was stored (looked up again, once a
        batch, only for an SMS to a number the company did not have then)."""
        number = self.number_id
        if not number:
            numbers = {} if numbers is None else numbers
            key = (self.company_id.id, sms.to)
            if key not in numbers:
                numbers[key] = self.env["didww.sms.number"]._find_by_number(self.company_id, sms.to)
            number = numbers[key]
        if not number:
            return {"state": "error", "result": self._unknown_number_text(sms.to)}
        record, message, notified = self.env["didww.sms.inbound"]._route(number, sms)
        return {
            "state": "done", "res_model": record._name, "res_id": record.id,
            "result": f"posted as message {message.id} on {record._name},{record.id} for {len(notified)} user(s)",
        }

    @api.autovacuum
    def _gc_processed_events(self):
        """Processed and ignored events are kept for KEEP_DAYS for the record, then deleted; so are
        the events that will never be processed (no attempt left), while deliveries to unknown
        numbers, kept only as examples for the administrator, go after UNKNOWN_KEEP_DAYS."""
        now = fields.Datetime.now()
        self.search(["|", ("state", "in", ("done", "ignored")), ("attempts", ">=", MAX_ATTEMPTS),
                     ("create_date", "<", now - timedelta(days=KEEP_DAYS))]).unlink()
        self.search([("unknown_number", "=", True), ("state", "=", "error"),
                     ("create_date", "<", now - timedelta(days=UNKNOWN_KEEP_DAYS))]).unlink()
