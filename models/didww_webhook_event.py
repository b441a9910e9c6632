
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
