from odoo import api, fields, models
from odoo.osv import expression


class ResPartner(models.Model):
    _inherit = "res.partner"

    @api.model
    def _didww_find_by_phone(self, remote, company):
        """The contact of ``company`` (or shared) whose phone or mobile is ``remote`` (E.164),
        whatever user asks (inbound SMS and calls are filed for the company).

        ``phone_sanitized`` (indexed) holds only the first valid of mobile and phone; the other one,
        typed in any format, is found by its last digits and confirmed with Odoo's own formatting.
        """
        # sudo: inbound SMS and calls are routed for the company, whatever user processes them
        Partner = self.sudo()
        company_domain = [("company_id", "in", [False, company.id])]
        partner = Partner.search([("phone_sanitized", "=", remote), *company_domain], limit=1)
        if partner or not remote:
            return partner
        tail = "".join(char for char in remote if char.isdigit())[-7:]
        candidates = Partner.search([("phone_mobile_search", "ilike", tail), *company_domain], limit=100)
        return candidates.filtered(lambda candidate: remote in (
            candidate._phone_format(fname="phone"), candidate._phone_format(fname="mobile")))[:1]

    @api.model
    def _didww_find_by_phones(self, remotes, company):
        """``{remote: contact}`` for the ``remotes`` (E.164) that :meth:`_didww_find_by_phone` finds,
        in two queries whatever their number."""
        # sudo: inbound SMS and calls are routed for the company, whatever user processes them
        Partner = self.sudo()
        company_domain = [("company_id", "in", [False, company.id])]
        remotes = [remote for remote in set(remotes) if remote]
        found = {}
        if not remotes:
            return found
        for partner in Partner.search([("phone_sanitized", "in", remotes), *company_domain]):
            found.setdefault(partner.phone_sanitized, partner)  # the first in the order of the search
        tails = {remote: "".join(char for char in remote if char.isdigit())[-7:]
                 for remote in remotes if remote not in found}
        if tails:
            candidates = Partner.search([*company_domain, *expression.OR(
                [[("phone_mobile_search", "ilike", tail)] for tail in set(tails.values())])],
                limit=100 * len(tails))
            formatted = {candidate: (candidate._phone_format(fname="phone"), candidate._phone_format(fname="mobile"))
                         for candidate in candidates}
            for remote in tails:
                match = next((candidate for candidate, phones in formatted.items() if remote in phones), None)
                if match:
                    found[remote] = match
        return found

    # ------------------------------------------------------------
    # SMS consent (didww.sms.consent): shown on the contact, per company
    # ------------------------------------------------------------

    didww_consent_ids = fields.Many2many(
        "didww.sms.consent", string="SMS consent", compute="_compute_didww_consent", groups="base.group_user",
        help="Whether each of your companies may text this contact's numbers.")
    didww_consent_event_ids = fields.Many2many(
        "didww.sms.consent.event", string="SMS consent history", compute="_compute_didww_consent",
        groups="base.group_user")

    @api.depends("phone", "mobile", "country_id")
    def _compute_didww_consent(self):
        numbers = {partner.id: {partner._phone_format(fname=fname) for fname in ("phone", "mobile")} - {False, None, ""}
                   for partner in self}
        every = set().union(*numbers.values()) if numbers else set()
        Consent = self.env["didww.sms.consent"]
        consents = Consent.search([("number", "in", list(every))]) if every else Consent
        for partner in self:
            mine = consents.filtered(lambda consent, own=numbers[partner.id]: consent.number in own)
            partner.didww_consent_ids = mine
            partner.didww_consent_event_ids = mine.event_ids
