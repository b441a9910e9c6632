from collections import Counter

from odoo import api, fields, models

# what the composer counts, in the order Odoo's mass mode applies its rules (_prepare_mass_sms_values)
SKIP_ORDER = ("sms_blacklist", "sms_optout", "sms_duplicate", "sms_number_format", "sms_number_missing")


class SmsComposer(models.TransientModel):
    """The composer's side of the texting rules (``didww.sms.rules``): before sending it says how
    many recipients will be texted, skipped (and why) or held by quiet hours, by the same rules
    that decide after sending; a person texting one customer by hand is warned of an opt-out or
    a hold, and may send at once outside quiet hours."""

    _inherit = "sms.composer"

    didww_recipients_info = fields.Char(
        "Recipients", compute="_compute_didww_recipients_info",
        help="How many of the selected documents will be texted, before sending.")
    didww_optout_warning = fields.Char(compute="_compute_didww_optout_warning")
    didww_hold_info = fields.Char(compute="_compute_didww_optout_warning")
    didww_send_now = fields.Boolean(
        "Send now", help="Send at once, outside the recipient's quiet hours: the customer asked for it.")

    @api.depends("composition_mode", "res_model", "res_ids", "number_field_name", "mass_use_blacklist")
    def _compute_didww_recipients_info(self):
        for composer in self:
            records = composer._get_records() if composer.composition_mode == "mass" else None
            if not records or not composer._didww_sends_mass(records):
                composer.didww_recipients_info = False
                continue
            outcome, held = composer._didww_forecast(records)
            skipped = Counter(failure for failure in outcome.values() if failure)
            composer.didww_recipients_info = composer._didww_counts_text(
                self.env._("%(count)s of the %(total)s selected will be texted.",
                           count=len(records) - sum(skipped.values()), total=len(records)),
                held, skipped, self.env._("Not texted: %(reasons)s."))

    @api.depends("res_model", "res_id", "comment_single_recipient", "recipient_single_number_itf",
                 "recipient_single_number")
    def _compute_didww_optout_warning(self):
        for composer in self:
            composer.didww_optout_warning = composer.didww_hold_info = False
            number = composer.comment_single_recipient and (
                composer.recipient_single_number_itf or composer.recipient_single_number)
            records = composer._get_records() if number else None
            sanitized = records._phone_format(number=number) if records is not None and len(records) == 1 else False
            if not sanitized:
                continue
            company = composer._didww_company()
            if company.didww_sms_active and self.env["didww.sms.consent"].sudo()._didww_opted_out(company, [sanitized]):
                composer.didww_optout_warning = self.env._(
                    "%(number)s opted out of SMS from %(company)s: this SMS will not be sent.",
                    number=sanitized, company=company.name)
                continue
            # sudo: like Odoo's blacklist check, users may not read the blacklist itself
            if self.env["phone.blacklist"].sudo().search_count([("number", "=", sanitized)]):
                composer.didww_optout_warning = self.env._(
                    "%(number)s opted out of SMS (it is on the SMS blacklist): text it only if the customer asked "
                    "you to.", number=sanitized)
            if company.didww_sms_active:
                partner = records._mail_get_partners().get(records.id, self.env["res.partner"])[:1]
                hold = self.env["didww.sms.rules"]._didww_hold(company, sanitized, partner, by_hand=True)
                composer.didww_hold_info = self.env._(
                    "Quiet hours: %(reason)s. Tick Send now if the customer expects it now.",
                    reason=hold[1]) if hold else False

    # ------------------------------------------------------------
    # Sending
    # ------------------------------------------------------------

    def action_send_sms(self):
        """Mass sending through DIDWW says what it did, as the composer said it would."""
        if self.composition_mode != "mass" or not self._didww_sends_mass(self._get_records()):
            return super().action_send_sms()
        sms_all = self._action_send_sms()
        return self._didww_mass_notification(sms_all)

    def _action_send_sms(self):
        composer = self
        one = self.composition_mode == "numbers" or (
            self.composition_mode == "comment" and self.comment_single_recipient)
        if one and not self.env.su and not self.env.context.get("didww_skip_blacklisted") \
                and self.env.user._is_internal():
            # a person texting one customer: quiet hours for mass and automated SMS do not hold it
            composer = self.with_context(didww_by_hand=True, didww_send_now=self.didww_send_now)
        return super(SmsComposer, composer)._action_send_sms()

    def _get_blacklist_record_ids(self, records, recipients_info):
        """For DIDWW companies: a number opted out of the document's company (whatever "Use
        blacklist" says, since it would not leave), or blacklisted by hand; not a number another
        company's customer opted out of."""
        SmsSms = self.env["sms.sms"]
        by_company = records.grouped(SmsSms._didww_company_of)
        didww = records.browse(record.id for company, group in by_company.items() if company.didww_sms_active
                               for record in group)
        result = set(super()._get_blacklist_record_ids(records - didww, recipients_info)) if records - didww else set()
        numbers = [recipients_info[record.id]["sanitized"] for record in didww
                   if recipients_info[record.id]["sanitized"]]
        manual = set()
        if numbers and self.mass_use_blacklist:
            # sudo: like Odoo's blacklist check, users may not read the blacklist itself
            manual = set(self.env["phone.blacklist"].sudo().search(
                [("number", "in", numbers), ("didww_consent", "=", False)]).mapped("number"))
        Consent = self.env["didww.sms.consent"].sudo()  # sudo: the ledger decides, whoever sends
        for company, group in by_company.items():
            if not company.didww_sms_active:
                continue
            blocked = manual | Consent._didww_opted_out(company, [recipients_info[r.id]["sanitized"] for r in group])
            result.update(record.id for record in group if recipients_info[record.id]["sanitized"] in blocked)
        return list(result)

    def _action_send_sms_comment(self, records=None):
        """Automated actions ("SMS (with note)") skip opted-out numbers and say so on the document;
        a user texting by hand was warned and decides."""
        if not self.env.context.get("didww_skip_blacklisted"):
            return super()._action_send_sms_comment(records=records)
        records = records if records is not None else self._get_records()
        info = records._sms_get_recipients_info(force_field=self.number_field_name)
        skipped = records.browse(self._get_blacklist_record_ids(records, info)) if self.mass_use_blacklist \
            else records.browse()
        for record in skipped:
            record._message_log(body=self.env._(
                "SMS to %(number)s not sent: the customer opted out (SMS blacklist).",
                number=info[record.id]["sanitized"]))
        return super()._action_send_sms_comment(records=records - skipped)

    # ------------------------------------------------------------
    # Counts: before and after sending, by the same rules
    # ------------------------------------------------------------

    def _didww_forecast(self, records):
        """``({record id: failure type or ""}, Counter of hold reasons)``: what mass sending would do
        to each record now, by Odoo's rules in Odoo's order, then the texting rules."""
        info = self._prepare_recipient_values(records)
        rules = {
            "sms_blacklist": set(self._get_blacklist_record_ids(records, info)),
            "sms_optout": set(self._get_optout_record_ids(records, info)),
            "sms_duplicate": set(self._get_done_record_ids(records, info)),
        }
        outcome, held = {}, Counter()
        Rules = self.env["didww.sms.rules"]
        for record in records:
            sanitized = info[record.id]["sanitized"]
            if not sanitized:
                outcome[record.id] = "sms_number_format" if info[record.id]["number"] else "sms_number_missing"
                continue
            outcome[record.id] = next((failure for failure, ids in rules.items() if record.id in ids), "")
            company = self.env["sms.sms"]._didww_company_of(record)
            if not outcome[record.id] and company.didww_sms_active:
                hold = Rules._didww_hold(company, sanitized, info[record.id]["partner"][:1])
                if hold:
                    held[hold[1]] += 1
        return outcome, held

    def _didww_skip_labels(self):
        return {
            **dict(self.env["sms.sms"]._fields["failure_type"]._description_selection(self.env)),
            "sms_blacklist": self.env._("Opted out"),
            "sms_optout": self.env._("Opted out of the mailing list"),
            "sms_duplicate": self.env._("Duplicate number"),
            "sms_number_format": self.env._("Wrong number format"),
            "sms_number_missing": self.env._("Missing number"),
        }

    def _didww_counts_text(self, head, held, skipped, skipped_text):
        """``head``, then the held SMS by reason, then the skipped ones by reason (same wording
        before and after sending)."""
        text = head
        if held:
            text += " " + self.env._("Of these, held by quiet hours: %(holds)s.", holds=", ".join(
                f"{count} {reason[:1].lower()}{reason[1:]}" for reason, count in held.items()))
        if skipped:
            labels = self._didww_skip_labels()
            order = [*SKIP_ORDER, *sorted(set(skipped) - set(SKIP_ORDER))]
            text += " " + skipped_text % {"reasons": ", ".join(
                f"{labels.get(failure) or failure} ({skipped[failure]})" for failure in order if skipped.get(failure))}
        return text

    def _didww_mass_notification(self, sms_all):
        sending = sms_all.filtered(lambda sms: sms.state in ("outgoing", "process", "pending", "sent"))
        skipped = Counter((sms.failure_type or "unknown") for sms in sms_all - sending)
        Rules = self.env["didww.sms.rules"]
        held = Counter()
        for sms in sending.filtered(lambda sms: sms.state == "outgoing" and sms.didww_company_id.didww_sms_active):
            hold = Rules._didww_hold(sms.didww_company_id, sms.number, sms.partner_id)
            if hold:
                held[hold[1]] += 1
        message = self._didww_counts_text(
            self.env._("%(count)s SMS on their way.", count=len(sending)), held,
            skipped,
            self.env._("%(count)s not sent: %%(reasons)s.", count=sum(skipped.values())))
        if self.mass_keep_log:
            message += " " + self.env._("Each document's chatter shows its SMS and status.")
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.env._("SMS"),
                "message": message,
                "type": "warning" if skipped else "success",
                "sticky": bool(skipped),
                "next": {"type": "ir.actions.act_window_close"},
            },
        }
