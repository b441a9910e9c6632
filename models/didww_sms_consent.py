from odoo import api, fields, models
from odoo.exceptions import UserError

STATES = [("opted_in", "Opted in"), ("opted_out", "Opted out")]


class DidwwSmsConsent(models.Model):
    """Whether a phone number may be texted by a company: the consent ledger.

    One record per (company, number in E.164). STOP to one of a company's DIDWW numbers opts the
    number out of that company only; START opts it back in, for that company only. Every change
    is appended to the history (``didww.sms.consent.event``), which nobody may edit. Every SMS a
    DIDWW company sends is checked against its ledger where it leaves (``didww.sms.rules``).

    Odoo's global ``phone.blacklist`` holds a number while any company has it opted out
    (``phone.blacklist._didww_sync``), so Odoo's own flows stay conservative.
    """

    _name = "didww.sms.consent"
    _description = "SMS consent (per company and number)"
    _order = "last_change DESC, id DESC"
    _rec_name = "number"

    company_id = fields.Many2one("res.company", required=True, readonly=True, index=True,
                                 ondelete="cascade")
    number = fields.Char("Phone number", required=True, readonly=True, help="E.164, with +")
    state = fields.Selection(STATES, "Consent", required=True, readonly=True, default="opted_in")
    last_change = fields.Datetime("Last change", readonly=True, default=fields.Datetime.now)
    last_action = fields.Char("Last change by", compute="_compute_last_event")
    event_ids = fields.One2many("didww.sms.consent.event", "consent_id", "History", readonly=True)

    _sql_constraints = [
        ("company_number_uniq", "unique(company_id, number)", "A number has one consent record per company."),
    ]

    @api.depends("event_ids")
    def _compute_last_event(self):
        for consent in self:
            consent.last_action = consent.event_ids[:1].display_name or False

    def write(self, vals):
        if not self.env.context.get("didww_consent_ledger"):
            raise UserError(self.env._(
                "SMS consent changes only through the customer's keywords or the Opt out / Opt in buttons, "
                "so that the history records each change."))
        return super().write(vals)

    @api.ondelete(at_uninstall=False)
    def _unlink_never(self):
        if not self.env.context.get("didww_consent_ledger"):
            raise UserError(self.env._("SMS consent records are kept for audits: they cannot be deleted."))

    # ------------------------------------------------------------
    # Actions (a person records what the customer asked for)
    # ------------------------------------------------------------

    def action_opt_out(self):
        return self._didww_action("opted_out")

    def action_opt_in(self):
        return self._didww_action("opted_in")

    def _didww_action(self, state):
        if not self.env.user.has_group("sales_team.group_sale_manager") and not self.env.is_admin():
            raise UserError(self.env._("Only sales managers and administrators change a customer's SMS consent."))
        for consent in self:
            # sudo: the ledger is written by its own methods only, which record who did it
            self.sudo()._didww_set(consent.company_id, consent.number, state, "manual",
                                   origin=self.env._("%(user)s in Odoo", user=self.env.user.name), user=self.env.user)
        return True

    # ------------------------------------------------------------
    # Business
    # ------------------------------------------------------------

    @api.model
    def _didww_set(self, company, number, state, action, keyword=None, message=None, didww_message_id=None,
                   didww_number=None, origin=None, user=None, replied=False):
        """Record ``action`` for ``number`` (E.164) at ``company`` and, when ``state`` is given,
        move the number to it. Return ``(consent, changed)``; ``changed`` is False when the number
        already was in ``state`` (a number never seen counts as opted in)."""
        consent = self.search([("company_id", "=", company.id), ("number", "=", number)], limit=1)
        ledger = self.with_context(didww_consent_ledger=True)
        if not consent:
            consent = ledger.create({"company_id": company.id, "number": number})
        changed = bool(state) and consent.state != state
        now = fields.Datetime.now()
        self.env["didww.sms.consent.event"].create({
            "consent_id": consent.id, "action": action, "state": state or consent.state, "keyword": keyword,
            "message": message, "didww_message_id": didww_message_id, "didww_number": didww_number,
            "origin": origin, "user_id": user.id if user else False, "date": now, "replied": replied,
        })
        if changed:
            consent.with_context(didww_consent_ledger=True).write({"state": state, "last_change": now})
            self.env["phone.blacklist"]._didww_sync(number, self.env._(
                "%(state)s by %(origin)s, for %(company)s.", state=dict(STATES)[state],
                origin=origin or action, company=company.name))
        return consent, changed

    @api.model
    def _didww_opted_out(self, company, numbers):
        """The numbers of ``numbers`` (E.164) opted out of ``company``."""
        numbers = [number for number in numbers if number]
        if not numbers:
            return set()
        return set(self.search([("company_id", "=", company.id), ("number", "in", list(set(numbers))),
                                ("state", "=", "opted_out")]).mapped("number"))
