"""The inbox's queue: the crons that process stored events, how they are woken (coalesced) and how
they claim events (per claim key, side by side on every cron worker of every Odoo server); a
claimed batch is processed by ``didww_webhook_processing.py``."""

from datetime import timedelta

from psycopg2.errors import SerializationFailure

from odoo import api, fields, models
from odoo.osv import expression
from odoo.tools import SQL

BATCH_SIZE = 20  # events per cron batch: one commit each, so a message is on its chatter within a batch
# The advisory lock space of claims (pg_try_advisory_xact_lock(space, claim key)): "DIDW"
CLAIM_LOCK_SPACE = 0x44494457
MAX_ATTEMPTS = 50
# Coalesced wake-ups (see _wake_processing); trigger dates are whole seconds, "now" rounded down
WAKE_FRESH = timedelta(seconds=2)  # a due wake-up this young is being honoured: no new one
WAKE_AHEAD = timedelta(seconds=5)  # a delivery that sends none relies on a trigger at least this far ahead
WAKE_FALLBACK = timedelta(seconds=10)  # ... and stores one this far ahead when there is none


class DidwwWebhookEvent(models.Model):
    _inherit = "didww.webhook.event"

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
        if at:
            crons = self._processing_crons()
            return crons[0]._trigger(at) if crons else self.env["ir.cron.trigger"]
        # the processing crons (as _processing_crons finds them) and their wake-ups, in one query
        now = fields.Datetime.now()
        self.env.cr.execute(SQL(
            "SELECT c.id, bool_or(t.call_at BETWEEN %s AND %s), bool_or(t.call_at >= %s) "
            "FROM ir_cron c JOIN ir_act_server a ON a.id = c.ir_actions_server_id "
            "LEFT JOIN ir_cron_trigger t ON t.cron_id = c.id "
            "WHERE c.active AND a.model_name = %s AND a.code LIKE %s GROUP BY c.id ORDER BY c.id",
            now - WAKE_FRESH, now, now + WAKE_AHEAD, self._name, "%_cron_process_pending(%"))
        rows = self.env.cr.fetchall()
        if not rows:
            return self.env["ir.cron.trigger"]
        woken = any(row[1] for row in rows)
        ahead = any(row[2] for row in rows)
        if woken and ahead:
            return self.env["ir.cron.trigger"]
        # sudo: the webhook runs as the public user; waking a cron is technical
        cron = self.env["ir.cron"].sudo().browse(rows[0][0])
        cron.fetch(["active"])  # all _trigger reads: not the whole cron and its server action
        return cron._trigger() if not woken else cron._trigger(now + WAKE_FALLBACK)

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
        by two workers at once. A key's events are left for a later batch (``contended``) when another
        worker holds the key, and from the key's first waiting event that is not this transaction's
        on, older than the ones here or between them: held by another worker (which locked its row
        but not the key), processed by one after this transaction's snapshot was taken, or waiting
        for its retry (e.g. its conversation was being created elsewhere). They are processed later,
        never out of order and never twice; only an older text that failed (``error``) lets the
        later ones go first.
        """
        rows = self._lock_oldest_due(limit)
        if rows is None:  # another worker processed some since this transaction began
            return self.browse(), True
        if not rows:
            return self.browse(), False
        last = {}  # claim key -> its newest event here
        for event_id, key in rows:
            last[key] = event_id
        self.env.cr.execute(SQL(
            "SELECT key FROM unnest(%s::int[]) AS key WHERE pg_try_advisory_xact_lock(%s, key)",
            list(last), CLAIM_LOCK_SPACE))
        won = {key for (key,) in self.env.cr.fetchall()}
        mine = {event_id for event_id, _key in rows}
        cutoff = {}  # claim key -> its oldest waiting event that is not this transaction's
        if won:
            # due, or waiting for a retry a few seconds away (another worker had its sender): an
            # older text that failed ("error") does not hold the sender's later ones. Not only
            # before a key's first event here: one between two of them (locked by a worker that
            # did not win the key, so skipped here) holds the later ones too.
            waiting = expression.OR([self._due_domain(), [("state", "=", "pending"), ("attempts", "<", MAX_ATTEMPTS)]])
            others = self.search_fetch(expression.AND([waiting, [
                ("claim_key", "in", list(won)), ("id", "<", max(last[key] for key in won)),
                ("id", "not in", list(mine))]]), ["claim_key"], order="id")
            for event in others:
                cutoff.setdefault(event.claim_key, event.id)
        events = self.browse([event_id for event_id, key in rows
                              if key in won and event_id < cutoff.get(key, event_id + 1)])
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
