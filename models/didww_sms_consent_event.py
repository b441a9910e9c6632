from odoo import api, fields, models
from odoo.exceptions import UserError

ACTIONS = [
    ("keyword", "Keyword texted"),
    ("help", "HELP answered"),
    ("manual", "Changed by a user"),
    ("migrated", "Migrated from the SMS blacklist"),
]


class DidwwSmsConsentEvent(models.Model):
    """One change (or HELP request) in a number's SMS consent at a company: append-only.

    Nobody writes or deletes these rows, administrators included, so that the history can be
    shown to an auditor as it was recorded.
    """

    _name = "didww.sms.consent.event"
    _description = "SMS consent history"
    _order = "date DESC, id DESC"

    consent_id = fields.Many2one("didww.sms.consent", required=True, readonly=True, index=True,
                                 ondelete="cascade")
    company_id = fields.Many2one(related="consent_id.company_id", store=True, index=True)
    number = fields.Char(related="consent_id.number", store=True, index=True)
    date = fields.Datetime("When", required=True, readonly=True, default=fields.Datetime.now)
    action = fields.Selection(ACTIONS, "What", required=True, readonly=True)
    state = fields.Selection([("opted_in", "Opted in"), ("opted_out", "Opted out")], "Consent after",
                             readonly=True)
    keyword = fields.Char(readonly=True)
    message = fields.Text("Message received", readonly=True)
    didww_message_id = fields.Char("DIDWW message id", readonly=True)
    didww_number = fields.Char("Company number texted", readonly=True)
    origin = fields.Char("Who or what", readonly=True)
    user_id = fields.Many2one("res.users", readonly=True, ondelete="set null")
    replied = fields.Boolean("Answered", readonly=True, help="A reply (confirmation or HELP text) was sent.")

    @api.depends("action", "keyword", "date")
    def _compute_display_name(self):
        labels = dict(self._fields["action"]._description_selection(self.env))
        for event in self:
            what = event.keyword or labels.get(event.action, "")
            event.display_name = f"{what} ({fields.Datetime.to_string(event.date)} UTC)" if event.date else what

    def write(self, vals):
        if self:
            raise UserError(self.env._("The SMS consent history is append-only: its records cannot be changed."))
        return super().write(vals)

    @api.ondelete(at_uninstall=False)
    def _unlink_never(self):
        if not self.env.context.get("didww_consent_ledger"):
            raise UserError(self.env._("The SMS consent history is append-only: its records cannot be deleted."))
