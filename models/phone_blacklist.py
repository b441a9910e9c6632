from odoo import models


class PhoneBlacklist(models.Model):
    _inherit = "phone.blacklist"

    def _didww_opt_out(self, number, keyword, didww_number):
        """Blacklist ``number`` (E.164) after it texted ``keyword`` to ``didww_number``.
        Return whether it was not blacklisted before."""
        was_active = bool(self.search([("number", "=", number)], limit=1))
        self._add([number], message=self.env._(
            "Opted out by texting %(keyword)s to %(didww)s (DIDWW).", keyword=keyword, didww=didww_number.number))
        return not was_active

    def _didww_opt_in(self, number, keyword, didww_number):
        """Take ``number`` off the blacklist after it texted ``keyword``. Return whether it was on it."""
        was_active = bool(self.search([("number", "=", number)], limit=1))
        if was_active:
            self._remove([number], message=self.env._(
                "Opted back in by texting %(keyword)s to %(didww)s (DIDWW).", keyword=keyword,
                didww=didww_number.number))
        return was_active
