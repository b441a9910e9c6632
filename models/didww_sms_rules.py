from odoo import api, fields, models

from ..tools import didww_quiet_hours


class DidwwSmsRules(models.AbstractModel):
    """The rules every SMS of a DIDWW company obeys where it leaves (``DidwwSmsApi._didww_route``,
    on every Odoo revision): the company's consent ledger and its quiet hours.

    The composer shows the same verdicts before sending (:meth:`_didww_hold`), so that what a
    person is told is what happens.
    """

    _name = "didww.sms.rules"
    _description = "DIDWW texting rules (consent, quiet hours)"

    @api.model
    def _didww_verdicts(self, company, sms, destinations):
        """``{sms id: ("opted_out", reason) | ("held", (release_utc, reason))}`` for the SMS of ``sms``
        (sudo, one company) that may not leave now; ``destinations``: ``{sms id: E.164 or None}``."""
        ruled = sms.filtered(lambda record: not record.didww_keyword_reply and destinations.get(record.id))
        opted_out = self.env["didww.sms.consent"].sudo()._didww_opted_out(
            company, [destinations[record.id] for record in ruled])
        verdicts = {}
        for record in ruled:
            destination = destinations[record.id]
            if destination in opted_out:
                verdicts[record.id] = ("opted_out", self.env._(
                    "%(number)s opted out of SMS from %(company)s (see the contact's SMS consent).",
                    number=destination, company=company.name))
                continue
            if record.didww_send_now:
                continue
            hold = self._didww_hold(company, destination, record.partner_id, by_hand=record.didww_by_hand)
            if hold:
                verdicts[record.id] = ("held", hold)
        return verdicts

    @api.model
    def _didww_hold(self, company, destination, partner=None, by_hand=False, now=None):
        """``None`` when an SMS to ``destination`` may leave now under ``company``'s quiet hours,
        else ``(release_utc, reason)``: when the recipient's window opens, and the line shown on
        the SMS and its notification."""
        scope = company.didww_quiet_scope or "off"
        if scope == "off" or (scope == "automated" and by_hand):
            return None
        tz_name, _source = didww_quiet_hours.recipient_timezone(
            destination, partner.tz if partner else None, company.partner_id.tz)
        opening = didww_quiet_hours.next_opening(
            now or fields.Datetime.now(), tz_name, company.didww_quiet_start, company.didww_quiet_end)
        if not opening:
            return None
        release, local = opening
        return release, self.env._("Held until %(time)s (recipient's local time)", time=local.strftime("%H:%M"))
