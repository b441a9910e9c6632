from odoo import api, models


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
