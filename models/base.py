from odoo import api, models

from ..tools import phone


class Base(models.AbstractModel):
    """Phone numbers as DIDWW sends and Odoo stores them, on Odoo's phone layer (``phone_validation``
    puts ``_phone_format`` on every model the same way)."""

    _inherit = "base"

    @api.model
    def _didww_e164(self, raw, country=None):
        """``raw`` in E.164 as Odoo's ``phone_validation`` formats it (so that it compares equal to
        ``phone_sanitized`` and ``phone.blacklist``), national formats read in ``country``; DIDWW's
        digits-only wire format is understood too. ``None`` when it is not a valid number."""
        if not raw or not isinstance(raw, str):
            return None
        country = country or self.env["res.country"]
        # without a country only an international spelling can be read: DIDWW's digits, or with '+'
        candidates = (raw, phone.from_wire(raw)) if country or raw.lstrip().startswith("+") else (phone.from_wire(raw),)
        for candidate in candidates:
            if candidate and (e164 := self._phone_format_number(candidate, country, force_format="E164")):
                return e164
        return None

    @api.model
    def _didww_e164_or_loose(self, raw, country=None):
        """:meth:`_didww_e164`, else the best-effort international form of a number that did not
        validate (``+`` and digits), for numbers that must be kept as they came."""
        return self._didww_e164(raw, country) or phone.loose(raw)

    @api.model
    def _didww_display_number(self, raw, country=None):
        """``raw`` as a person reads it, in the international format (``+1 917-905-6077``); as it
        came when it is not a valid number (a short code, a sender name)."""
        e164 = self._didww_e164(raw, country)
        return (e164 and self._phone_format_number(e164, self.env["res.country"], force_format="INTERNATIONAL")) \
            or raw or ""

    @api.model
    def _didww_country_of(self, e164):
        """The ``res.country`` of an E.164 number (empty when the number says nothing)."""
        code = phone.country_of(e164) if e164 else None
        return self.env["res.country"].search([("code", "=", code)], limit=1) if code else self.env["res.country"]
