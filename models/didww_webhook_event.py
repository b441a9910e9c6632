import json

from odoo import api, fields, models

# what a processed status callback made of its SMS (sms.tracker._didww_apply_status)
STATUS_OUTCOMES = [("sent", "Sent"), ("delivered", "Delivered"), ("error", "Error"), ("ignored", "Unchanged")]


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
    # Actions
    # ------------------------------------------------------------

    def action_process(self):
        """Button: process again events that wait or failed, now."""
        self.filtered(lambda event: event.state in ("pending", "error"))._process()

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
        outcomes = dict(self._fields["status_outcome"]._description_selection(self.env))
        statuses = {event: ((event._payload_dict().get("data") or {}) if event.kind == "status" else {})
                    for event in self}
        message_ids = [data.get("id") for data in statuses.values() if isinstance(data, dict) and data.get("id")]
        # sudo: trackers are technical records; only their numbers are shown, to administrators
        trackers = self.env["sms.tracker"].sudo().search([("didww_message_id", "in", message_ids)]) \
            if message_ids else self.env["sms.tracker"]
        number_of = {tracker.didww_message_id: tracker.mail_notification_id.sms_number for tracker in trackers}
        for event in self:
            if event.state == "done" and event.kind == "inbound":
                document = self.env["didww.sms.document"]._didww_document(event.res_model, event.res_id)
                event.result_display = self.env._(
                    "SMS posted on %(kind)s %(document)s", kind=self.env["ir.model"]._get(document._name).name,
                    document=document.display_name) if document else event.result
            elif event.state == "done" and event.kind == "status":
                data = statuses[event] if isinstance(statuses[event], dict) else {}
                status = (data.get("attributes") or {}).get("status") or ""
                event.result_display = self.env._(
                    "DIDWW says %(status)s: the SMS to %(number)s is %(outcome)s",
                    status=status, number=number_of.get(data.get("id")) or self.env._("a customer"),
                    outcome=outcomes.get(event.status_outcome, event.result or ""))
            elif event.state == "pending":
                event.result_display = self.env._("Waiting: %(why)s", why=event.result or "")
            else:
                event.result_display = event.result

    def action_open_document(self):
        """Button: the contact, lead… an inbound SMS was posted on."""
        self.ensure_one()
        return {"type": "ir.actions.act_window", "res_model": self.res_model, "res_id": self.res_id,
                "view_mode": "form", "target": "current"}
