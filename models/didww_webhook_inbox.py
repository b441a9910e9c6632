"""The inbox's door: a delivery is parsed and stored (within the company's limits) by the webhook
request, and processed events are deleted after a while. Processing is the queue's
(``didww_webhook_queue.py``)."""

import json
from dataclasses import dataclass
from datetime import timedelta

from psycopg2 import IntegrityError

from odoo import api, fields, models
from odoo.tools import SQL, mute_logger

from ..tools.didww_webhook import StatusEvent, claim_key_of, parse_event
from .didww_webhook_queue import MAX_ATTEMPTS

KEEP_DAYS = 90  # processed events older than this are deleted by the autovacuum
UNKNOWN_KEEP_DAYS = 7  # deliveries to unknown numbers: DIDWW has stopped retrying them long before

# What storing a delivery came to; the webhook maps each code to its HTTP answer
OUTCOME_QUEUED = "queued"  # stored and committed, processed by the cron right after
OUTCOME_DUPLICATE = "duplicate"  # the same event was stored before
OUTCOME_UNKNOWN_NUMBER = "unknown_number"  # stored, but the company has no such DIDWW number
OUTCOME_LIMITED = "limited"  # not stored: over the company's limits, DIDWW retries later
UNKNOWN_PER_HOUR = 100  # events to unknown numbers kept an hour per company: examples for the admin


@dataclass
class StoreOutcome:
    code: str
    event: object  # a didww.webhook.event recordset, empty for a duplicate a concurrent request stores
    message: str = ""


class DidwwWebhookEvent(models.Model):
    _inherit = "didww.webhook.event"

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

