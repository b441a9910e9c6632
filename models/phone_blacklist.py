from odoo import fields, models


class PhoneBlacklist(models.Model):
    """Odoo's SMS blacklist, kept as the union of the companies' consent ledgers.

    A number is on it while any company's ledger has it opted out (``didww_consent`` says the
    ledger put it there); it leaves when no company has it opted out any more, unless someone
    had blacklisted it by hand, which only a person undoes.
    """

    _inherit = "phone.blacklist"

    didww_consent = fields.Boolean(
        "Kept by the SMS consent ledger", readonly=True,
        help="On the blacklist because a company's SMS consent ledger has this number opted out; it leaves "
             "the blacklist when no company has it opted out.")

    def _add(self, numbers, message=None):
        records = super()._add(numbers, message=message)
        if not self.env.context.get("didww_consent_sync"):
            # blacklisted by a person (or another module): only a person takes it off again
            records.with_context(active_test=False).filtered("didww_consent").write({"didww_consent": False})
        return records

    def _didww_sync(self, number, message):
        """Put ``number`` on the blacklist, or take it off, after its consent changed somewhere."""
        opted_out = self.env["didww.sms.consent"].sudo().search_count(
            [("number", "=", number), ("state", "=", "opted_out")], limit=1)
        # sudo: the blacklist is a technical list that the ledger keeps, whoever changed a consent
        entry = self.sudo().with_context(active_test=False).search([("number", "=", number)], limit=1)
        if opted_out and not entry.active:
            entry = self.sudo().with_context(didww_consent_sync=True)._add([number], message=message)
            entry.write({"didww_consent": True})
        elif not opted_out and entry.active and entry.didww_consent:
            entry._remove([number], message=message)
        elif entry.active and message:
            entry.message_post(body=message)
