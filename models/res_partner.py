from odoo import api, models
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
