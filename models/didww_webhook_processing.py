"""Processing a batch of the inbox's events (claimed by ``didww_webhook_queue.py``): each in its
own savepoint, the inbound SMS of a company routed together (``didww_sms_inbound_batch.py``), the
delivery statuses applied to their SMS, and what could not be done retried later."""

import json
import logging
from datetime import timedelta

from psycopg2.errors import LockNotAvailable, SerializationFailure

from odoo import fields, models

from ..tools.didww_webhook import StatusEvent, WebhookFormatError, parse_event
from .didww_sms_inbound_batch import ConversationBusy

_logger = logging.getLogger(__name__)

STATUS_WAIT = timedelta(hours=1)  # a callback may beat the commit of the SMS it is about
RETRY_DELAYS = (5, 30, 60, 300)  # seconds before retrying an event that waits or failed, then every 15 min


class DidwwWebhookEvent(models.Model):
    _inherit = "didww.webhook.event"

    def _process(self):
        """Process events; each in a savepoint so that one failure never loses another.

        What routing the batch's inbound SMS needs is read (and their new conversations created)
        once for the batch (:meth:`didww.sms.inbound._batch`), then each event is posted in its own
        savepoint, and the conversations are updated in one query at the end."""
        now = fields.Datetime.now()
        retry_at = {}  # event -> when it is due again
        results = {}  # event -> its new state, written once the batch is done
        parsed = {}  # event -> its InboundSms / StatusEvent, or the WebhookFormatError it raised
        for event in self:
            try:
                parsed[event] = parse_event(json.loads(event.payload))
            except Exception as exc:  # noqa: BLE001 (raised again in the event's savepoint, handled below)
                parsed[event] = exc
        batches = self._inbound_batches(parsed)
        trackers = self._status_trackers(parsed)
        for event in self:
            attempts = event.attempts + 1
            try:
                with self.env.cr.savepoint():
                    event_data = parsed[event]
                    if isinstance(event_data, Exception):
                        raise event_data
                    company_env = event.with_company(event.company_id)
                    if isinstance(event_data, StatusEvent):
                        vals = company_env._process_status(event_data, trackers)
                    else:
                        vals = company_env._process_inbound(event_data, batches.get(event.company_id.id))
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
            else:
                if event.company_id.id in batches:
                    batches[event.company_id.id].keep(event)  # what it changed outlived its savepoint
            if vals["state"] in ("pending", "error"):
                delay = RETRY_DELAYS[attempts - 1] if attempts <= len(RETRY_DELAYS) else 900
                vals["next_attempt"] = retry_at[event] = now + timedelta(seconds=delay)
            results[event] = dict(vals, attempts=attempts)
        for batch in batches.values():
            batch.flush()
        for event, vals in results.items():
            event.write(vals)
        if retry_at:
            self._wake_processing(min(retry_at.values()))
        return self

    def _inbound_batches(self, parsed):
        """``{company id: InboundBatch}``: the inbound SMS among ``parsed`` of each company (see
        :class:`~.didww_sms_inbound.InboundBatch`), each to its number: looked up when stored, else
        (a number the company did not have then) once a batch."""
        numbers = {}  # (company id, number as DIDWW wrote it) -> didww.sms.number
        deliveries = {}
        for event, event_data in parsed.items():
            if event.kind != "inbound" or isinstance(event_data, (Exception, StatusEvent)):
                continue
            number = event.number_id
            if not number:
                key = (event.company_id.id, event_data.to)
                if key not in numbers:
                    numbers[key] = self.env["didww.sms.number"]._find_by_number(event.company_id, event_data.to)
                number = numbers[key]
            if number:
                deliveries.setdefault(event.company_id, []).append((event, number, event_data))
        batches = {}
        for company, company_deliveries in deliveries.items():
            Inbound = self.env["didww.sms.inbound"].with_company(company)
            try:
                with self.env.cr.savepoint():
                    batches[company.id] = Inbound._batch(company_deliveries)
            except Exception:  # each SMS then reads what it needs, in its own savepoint
                _logger.exception("DIDWW inbound batch of company %s: routing each SMS alone", company.id)
                batches[company.id] = Inbound._batch(company_deliveries, alone=True)
        return batches

    def _status_trackers(self, parsed):
        """``{(company id, DIDWW message id): sms.tracker}`` of the statuses among ``parsed``, read
        once a batch (sudo: trackers are technical records)."""
        wanted = {(event.company_id.id, event_data.message_id) for event, event_data in parsed.items()
                  if isinstance(event_data, StatusEvent)}
        if not wanted:
            return {}
        try:
            with self.env.cr.savepoint():
                trackers_sudo = self.env["sms.tracker"].sudo().search([
                    ("didww_message_id", "in", list({message_id for _company_id, message_id in wanted})),
                    ("didww_company_id", "in", list({company_id for company_id, _message_id in wanted}))])
                trackers_sudo.fetch(["didww_message_id", "didww_company_id", "didww_status", "sms_uuid"])
        except Exception:  # each status then reads its own, in its own savepoint
            _logger.exception("DIDWW status batch: reading each tracker alone")
            return None
        return {(tracker.didww_company_id.id, tracker.didww_message_id): tracker for tracker in trackers_sudo}

    def _process_status(self, status, trackers=None):
        """Apply a status to its SMS (``trackers``: the batch's, see :meth:`_status_trackers`)."""
        # a company's webhook only updates that company's SMS
        key = (self.company_id.id, status.message_id)
        tracker_sudo = trackers[key].with_company(self.company_id) if trackers and key in trackers else \
            self.env["sms.tracker"].sudo().search([("didww_message_id", "=", status.message_id),
                                                   ("didww_company_id", "=", self.company_id.id)], limit=1)
        if not tracker_sudo:
            if fields.Datetime.now() - (self.create_date or fields.Datetime.now()) > STATUS_WAIT:
                return {"state": "ignored", "result": "no SMS with this DIDWW message id"}
            return {"state": "pending", "result": "no SMS with this DIDWW message id yet"}
        outcome = tracker_sudo._didww_apply_status(status)
        return {"state": "done", "status_outcome": outcome, "result": f"{status.kind} {status.status}: {outcome}"}

    def _process_inbound(self, sms, batch):
        """Route an inbound SMS with its company's lookups (``batch``, see :meth:`_inbound_batches`)."""
        number = batch.number_of(self) if batch else None
        if not number:
            return {"state": "error", "result": self._unknown_number_text(sms.to)}
        record, message, notified = batch.route(self, number, sms)
        if batch.alone:
            batch.keep(self)
            batch.flush()
        return {
            "state": "done", "res_model": record._name, "res_id": record.id,
            "result": f"posted as message {message.id} on {record._name},{record.id} for {len(notified)} user(s)",
        }
