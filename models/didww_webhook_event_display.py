import json

from odoo import api, fields, models
from odoo.tools import html2plaintext

from ..tools.didww_webhook import StatusEvent, WebhookFormatError, parse_event
from .didww_webhook_queue import MAX_ATTEMPTS


class DidwwWebhookEvent(models.Model):
    """The Webhook events screens (administrators): each event in words, what to do about it, the
    SMS it is about, and what *Process again* came to."""

    _inherit = "didww.webhook.event"

    result_display = fields.Char("Outcome", compute="_compute_result_display")
    hint = fields.Char("What to do", compute="_compute_result_display")
    payload_display = fields.Text("Payload (as DIDWW sent it)", compute="_compute_payload_display")
    sms_from = fields.Char("From", compute="_compute_sms")
    sms_to = fields.Char("To", compute="_compute_sms")
    sms_text = fields.Text("Text", compute="_compute_sms")
    didww_report = fields.Char("DIDWW's report", compute="_compute_sms",
                               help="The status as DIDWW wrote it, with the meaning of its error code.")
    target_name = fields.Char("SMS on", compute="_compute_sms", help="The document the SMS is on.")
    target_model = fields.Char(compute="_compute_sms")
    target_id = fields.Integer(compute="_compute_sms")
    will_retry = fields.Boolean(compute="_compute_will_retry", help="It is processed again automatically.")
    next_attempt_display = fields.Datetime("Processed again at", compute="_compute_will_retry")

    def _event_data(self):
        """The stored delivery, parsed as processing reads it (None when it cannot be)."""
        self.ensure_one()
        try:
            return parse_event(json.loads(self.payload or "{}"))
        except (ValueError, WebhookFormatError):
            return None

    @api.depends("payload")
    def _compute_payload_display(self):
        for event in self:
            try:
                event.payload_display = json.dumps(json.loads(event.payload), indent=2, ensure_ascii=False)
            except (TypeError, ValueError):
                event.payload_display = event.payload

    @api.depends("state", "attempts", "next_attempt")
    def _compute_will_retry(self):
        now = fields.Datetime.now()
        for event in self:
            event.will_retry = event.state in ("pending", "error") and event.attempts < MAX_ATTEMPTS
            # a due time that has passed says nothing: the next cron run takes the event
            event.next_attempt_display = event.will_retry and event.next_attempt and event.next_attempt > now \
                and event.next_attempt

    def _status_smss(self, message_ids):
        """``{DIDWW message id: (tracker, sms.sms)}`` of this company's SMS the statuses are about."""
        # sudo: trackers and SMS are technical records; only administrators read these screens
        trackers = self.env["sms.tracker"].sudo().search([("didww_message_id", "in", list(message_ids))])
        smss = self.env["sms.sms"].sudo().search([("didww_message_id", "in", list(message_ids))])
        none = (self.env["sms.tracker"].sudo(), self.env["sms.sms"].sudo())
        result = dict.fromkeys(message_ids, none)
        for tracker in trackers:
            result[tracker.didww_message_id] = (tracker, result[tracker.didww_message_id][1])
        for sms in smss:
            result[sms.didww_message_id] = (result[sms.didww_message_id][0], sms)
        return result

    def _document_name(self, record):
        return f"{self.env['ir.model']._get(record._name).name} {record.display_name}"

    @api.depends("payload", "kind", "res_model", "res_id", "number_id")
    def _compute_sms(self):
        """The SMS an event is about: its numbers (formatted), its text, and the document it is on
        (an inbound SMS: where it was posted; a status: the message the SMS was sent from)."""
        data = {event: event._event_data() for event in self}
        statuses = {event_data.message_id for event_data in data.values() if isinstance(event_data, StatusEvent)}
        smss = self._status_smss(statuses) if statuses else {}
        Document = self.env["didww.sms.document"]
        for event in self:
            event_data = data[event]
            event.update({"sms_from": False, "sms_to": False, "sms_text": False, "didww_report": False,
                          "target_name": False, "target_model": False, "target_id": False})
            document = None
            if isinstance(event_data, StatusEvent):
                tracker, sms = smss[event_data.message_id]
                message = tracker.mail_notification_id.mail_message_id or sms.mail_message_id
                event.sms_to = self._didww_display_number(tracker.mail_notification_id.sms_number or sms.number)
                event.sms_text = sms.body or (message and html2plaintext(message.body or "")) or False
                event.didww_report = event_data.didww_words
                document = Document._didww_document(message.model, message.res_id) if message else None
                if not document and sms:
                    document = sms
            elif event_data:
                country = event.number_id.country_id
                event.sms_from = self._didww_display_number(event_data.sender, country)
                event.sms_to = self._didww_display_number(event_data.to, country)
                event.sms_text = event_data.text
                document = Document._didww_document(event.res_model, event.res_id)
            if document:
                event.update({"target_name": self._document_name(document), "target_model": document._name,
                              "target_id": document.id})

    @api.depends("state", "kind", "result", "status_outcome", "payload", "number_id", "attempts", "next_attempt")
    def _compute_result_display(self):
        """The outcome in words, and what an administrator can do about it."""
        for event in self:
            if event.kind == "status":
                event.result_display, event.hint = event._status_in_words()
            else:
                event.result_display, event.hint = event._inbound_in_words()

    def _retry_hint(self):
        if not self.will_retry:
            return self.env._("No automatic attempt is left: press Process again once the cause is fixed.")
        return self.env._("It is processed again automatically; press Process again to try now.")

    def _inbound_in_words(self):
        if self.state == "done":
            return self.env._("SMS from %(sender)s posted on %(document)s", sender=self.sms_from,
                              document=self.target_name or self.env._("a deleted document")), False
        if self.state == "pending":
            return (self.env._("Waiting: %(why)s", why=self.result or ""),
                    self.env._("It is processed again in a few seconds."))
        event_data = self._event_data()
        if self.state == "error" and event_data and not self.number_id:
            if self.env["didww.sms.number"]._find_by_number(self.company_id, event_data.to):
                return (self.env._("Sent to %(number)s, which was not one of your DIDWW numbers when it came",
                                   number=self.sms_to),
                        self.env._("%(number)s is one of your SMS numbers now: press Process again to post the SMS.",
                                   number=self.sms_to))
            return (self.env._("Sent to %(number)s, which is not one of your DIDWW numbers", number=self.sms_to),
                    self.env._("Add %(number)s in Settings > DIDWW > SMS numbers (or import your numbers from "
                               "DIDWW), then press Process again to post the SMS.", number=self.sms_to))
        return self.env._("Not posted: %(why)s", why=self.result or ""), self._retry_hint()

    def _status_in_words(self):
        number = self.sms_to or self.env._("a customer")
        if self.state == "done":
            event_data = self._event_data()
            if self.status_outcome == "sent":
                return self.env._("Handed to the carrier: the SMS to %(number)s", number=number), False
            if self.status_outcome == "delivered":
                return self.env._("Delivered: the SMS to %(number)s", number=number), False
            if self.status_outcome == "error" and event_data:
                reason = self.env["sms.tracker"]._didww_failure(event_data)[1]
                return (self.env._("Not delivered: the SMS to %(number)s. %(reason)s", number=number, reason=reason),
                        self.env._("The SMS shows the failure on its document, where it can be corrected and sent "
                                   "again."))
            return self.env._("No change to the SMS to %(number)s (an earlier status stands)", number=number), False
        if self.state == "pending":
            return (self.env._("Waiting for the SMS with this DIDWW message id"),
                    self.env._("DIDWW can report before Odoo has recorded the SMS as sent: it is processed again "
                               "for an hour, then ignored."))
        if self.state == "ignored":
            return (self.env._("No SMS of this company has this DIDWW message id"),
                    self.env._("Nothing to do: it may be about an SMS sent through the same DIDWW trunk by another "
                               "system."))
        return self.env._("Not processed: %(why)s", why=self.result or ""), self._retry_hint()

    def action_process_again(self):
        """Button: process again now (:meth:`action_process`), and say what came of it; the screen
        then shows the new state."""
        todo = self.filtered(lambda event: event.state in ("pending", "error"))
        self.action_process()
        self.invalidate_recordset()
        if len(self) == 1:
            if not todo:
                title, kind = self.env._("Already processed"), "info"
            else:
                outcomes = {"done": (self.env._("Processed"), "success"), "ignored": (self.env._("Ignored"), "info")}
                title, kind = outcomes.get(self.state, (self.env._("Not processed yet"), "warning"))
            message = self.result_display
        else:
            done = len(todo.filtered(lambda event: event.state in ("done", "ignored")))
            title, kind = self.env._("Processed again"), "success" if done == len(todo) else "warning"
            message = self.env._("%(done)s of %(count)s events processed; the others are still waiting or failing.",
                                 done=done, count=len(todo))
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {"title": title, "message": message, "type": kind, "sticky": kind == "warning",
                       "next": {"type": "ir.actions.client", "tag": "soft_reload"}},
        }

    def action_open_document(self):
        """Button: the document the SMS is on (the contact, lead… an inbound SMS was posted on, or the
        one an SMS was sent from)."""
        self.ensure_one()
        if not self.target_model:
            return False
        return {"type": "ir.actions.act_window", "res_model": self.target_model, "res_id": self.target_id,
                "views": [(False, "form")], "view_mode": "form", "target": "current"}
