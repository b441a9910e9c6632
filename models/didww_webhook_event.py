import hashlib
import json
import logging
from datetime import timedelta

from markupsafe import Markup
from psycopg2 import IntegrityError
from psycopg2.errors import LockNotAvailable

from odoo import api, fields, models
from odoo.tools import mute_logger, plaintext2html

from ..tools.didww_webhook import InboundSms, StatusEvent, WebhookFormatError, parse_event

_logger = logging.getLogger(__name__)

STATUS_WAIT = timedelta(hours=1)  # a callback may beat the commit of the SMS it is about
UNKNOWN_NUMBER = "unknown DIDWW number"  # result prefix the webhook answers with a 404
KEEP_DAYS = 90  # processed events older than this are deleted by the autovacuum


class DidwwWebhookEvent(models.Model):
    """Every event DIDWW posted to a company's webhook, stored before it is processed.

    The unique ``(company_id, dedupe_key)`` makes a repeated delivery a no-op; events that could
    not be processed yet (unknown message id, unknown number, an error) are kept and retried
    by a cron, so nothing DIDWW delivered is ever lost.
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
    attempts = fields.Integer(readonly=True)
    remote_addr = fields.Char("From IP", readonly=True)
    sms_time = fields.Datetime("Sent at (DIDWW)", readonly=True, help="DIDWW's time of an inbound SMS (RFC 1123).")
    res_model = fields.Char("Document model", readonly=True)
    res_id = fields.Many2oneReference("Document", model_field="res_model", readonly=True)

    _sql_constraints = [
        ("company_dedupe_unique", "unique(company_id, dedupe_key)", "This DIDWW event was already received."),
    ]

    @api.depends("kind", "dedupe_key")
    def _compute_display_name(self):
        labels = dict(self._fields["kind"].selection)
        for event in self:
            event.display_name = f"{labels.get(event.kind, '')} #{event.id}"

    # ------------------------------------------------------------
    # Storing
    # ------------------------------------------------------------

    @api.model
    def _store(self, company, params, remote_addr=None):
        """Parse and store one delivery. Return ``(event, is_new)``.

        :raises WebhookFormatError: the body is not a DIDWW event (nothing is stored).
        """
        event_data = parse_event(params)
        kind = "status" if isinstance(event_data, StatusEvent) else "inbound"
        vals = {
            "company_id": company.id,
            "kind": kind,
            "dedupe_key": event_data.dedupe_key,
            "payload": json.dumps(params, ensure_ascii=False, sort_keys=True),
            "remote_addr": remote_addr,
            "sms_time": getattr(event_data, "time", None) or False,
        }
        try:
            with mute_logger("odoo.sql_db"), self.env.cr.savepoint():
                return self.create(vals), True
        except IntegrityError:
            # stored before; empty when a concurrent delivery of it committed after our snapshot
            existing = self.search([("company_id", "=", company.id), ("dedupe_key", "=", vals["dedupe_key"])])
            return existing, False

    # ------------------------------------------------------------
    # Processing
    # ------------------------------------------------------------

    def _process(self):
        """Process events; each in a savepoint so that one failure never loses another."""
        for event in self:
            event.attempts += 1
            try:
                with self.env.cr.savepoint():
                    event_data = parse_event(json.loads(event.payload))
                    company_env = event.with_company(event.company_id)
                    if isinstance(event_data, StatusEvent):
                        state, result = company_env._process_status(event_data)
                    else:
                        state, result = company_env._process_inbound(event_data)
            except WebhookFormatError as exc:
                state, result = "error", str(exc)
            except LockNotAvailable:
                if self.env.context.get("didww_webhook_request"):
                    raise  # Odoo replays the whole request with a fresh snapshot
                state, result = "pending", "another delivery from this sender was being processed"
            except Exception as exc:  # kept, logged and retried by the cron: never lost
                _logger.exception("DIDWW webhook event %s could not be processed", event.id)
                state, result = "error", f"{type(exc).__name__}: {exc}"[:250]
            event.write({"state": state, "result": result})
        return self

    def action_process(self):
        """Button: process again events that wait or failed."""
        self.filtered(lambda event: event.state in ("pending", "error"))._process()

    def _process_status(self, status):
        # a company's webhook only updates that company's SMS
        tracker_sudo = self.env["sms.tracker"].sudo().search(
            [("didww_message_id", "=", status.message_id), ("didww_company_id", "=", self.company_id.id)], limit=1)
        if not tracker_sudo:
            if fields.Datetime.now() - (self.create_date or fields.Datetime.now()) > STATUS_WAIT:
                return "ignored", "no SMS with this DIDWW message id"
            return "pending", "no SMS with this DIDWW message id yet"
        outcome = tracker_sudo._didww_apply_status(status)
        return "done", f"{status.kind} {status.status}: {outcome}"

    def _process_inbound(self, sms: InboundSms):
        company = self.company_id
        number = self.env["didww.sms.number"]._find_by_number(company, sms.to)
        if not number:
            return "error", f"{UNKNOWN_NUMBER} {sms.to}"
        remote = number._format_remote(sms.sender)
        self._lock_sender(company, remote)

        Session = self.env["didww.sms.session"]
        session_sudo = Session._get_or_create(number, remote)
        if not session_sudo:
            return "pending", "the conversation is being created by another delivery"
        record, partner = self._inbound_target(session_sudo, company, remote)
        notify_users = session_sudo.user_id if session_sudo._is_sticky() else number._assigned_users()
        notify_users = Session._didww_readers(record, notify_users)  # texting: no content to non-readers
        session_sudo.write({"last_activity": fields.Datetime.now(), "res_model": record._name, "res_id": record.id})

        when = fields.Datetime.to_string(sms.time) if sms.time else ""
        body = Markup("<p><strong>{label}</strong> {sender} &rarr; {to}{when}</p>{text}").format(
            label=self.env._("SMS received"), sender=remote, to=number.number,
            when=Markup(" <small>({})</small>").format(when) if when else "",
            text=plaintext2html(sms.text or ""),
        )
        # sudo: the webhook runs as the public user; the message is authored by the sender and
        # posted as an internal note that notifies only the assigned users (a 'sms' message type
        # would text the customer followers back)
        message = record.sudo().with_context(mail_create_nosubscribe=True).message_post(
            body=body,
            author_id=partner.id if partner else False,
            email_from=False if partner else remote,
            message_type="comment",
            subtype_xmlid="mail.mt_note",
            partner_ids=notify_users.partner_id.ids,
        )
        session_sudo._didww_note_inbound(message, sms.text)  # texting: conversations list
        session_sudo._didww_handle_opt_out(sms.text, record)  # texting: STOP / START keywords
        self.write({"res_model": record._name, "res_id": record.id})
        return "done", f"posted as message {message.id} on {record._name},{record.id} for {len(notify_users)} user(s)"

    def _lock_sender(self, company, remote):
        """Serialise deliveries from one sender, so that a new sender gets one contact.

        Waiting for the lock would not be enough: this transaction's snapshot predates what the
        holder commits (a new contact), so a busy lock raises PostgreSQL's own LockNotAvailable
        instead. Odoo replays a webhook request that fails with it, with a fresh snapshot; the
        retry cron does the same for events it processes.
        """
        key = self._sender_lock_key(company, remote)
        self.env.cr.execute("SELECT pg_try_advisory_xact_lock(%s)", [key])
        if not self.env.cr.fetchone()[0]:
            self.env.cr.execute("SET LOCAL lock_timeout = 1")
            self.env.cr.execute("SELECT pg_advisory_xact_lock(%s)", [key])  # raises LockNotAvailable

    @api.model
    def _sender_lock_key(self, company, remote):
        digest = hashlib.sha256(f"didww:{company.id}:{remote}".encode()).digest()
        return int.from_bytes(digest[:8], "big", signed=True)

    def _inbound_target(self, session_sudo, company, remote):
        """(record, author partner): live sticky session's thread, else the contact, else an open lead,
        else a new contact named after the number."""
        if session_sudo._is_sticky():
            record = self.env["sms.sms"].sudo()._didww_document(session_sudo.res_model, session_sudo.res_id)
            if record:
                if record._name == "res.partner":
                    return record, record
                return record, record["partner_id"] if "partner_id" in record._fields else None
        Partner = self.env["res.partner"].sudo()
        partner = self.env["didww.sms.session"]._didww_partner_by_number(remote, company)  # texting: Odoo's format
        if partner:
            return partner, partner
        lead = self.env["crm.lead"].sudo().search([
            ("phone_sanitized", "=", remote), ("company_id", "in", [False, company.id]),
            ("active", "=", True), ("stage_id.is_won", "=", False),
        ], order="create_date DESC", limit=1)
        if lead:
            return lead, lead.partner_id or None
        partner = Partner.create({"name": remote, "phone": remote,
                                  "country_id": self.env["didww.sms.number"]._country_from_number(remote).id})
        return partner, partner

    @api.autovacuum
    def _gc_processed_events(self):
        """Processed and ignored events are kept for KEEP_DAYS for the record, then deleted."""
        self.search([("state", "in", ("done", "ignored")),
                     ("create_date", "<", fields.Datetime.now() - timedelta(days=KEEP_DAYS))]).unlink()

    @api.model
    def _cron_process_pending(self, limit=500):
        """Retry the events that wait (callback before its SMS was committed) or failed."""
        events = self.search([("state", "in", ("pending", "error")), ("attempts", "<", 50)], limit=limit, order="id")
        events._process()

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
