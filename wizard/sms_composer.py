from odoo import api, fields, models


class SmsComposer(models.TransientModel):
    _inherit = "sms.composer"

    didww_source_info = fields.Char(
        "Sent from", compute="_compute_didww_source_info",
        help="The DIDWW number this SMS leaves from, as chosen when it is sent.")

    @api.depends("res_model", "res_id", "composition_mode", "recipient_single_number_itf", "number_field_name")
    def _compute_didww_source_info(self):
        for composer in self:
            company = composer._didww_company()
            if not company.didww_sms_active:
                composer.didww_source_info = False
                continue
            single = composer.comment_single_recipient and composer.recipient_single_number_itf
            destination = self.env["didww.sms.number"]._didww_e164(
                composer.recipient_single_number_itf, company.country_id) if single else None
            source = self.env["didww.sms.number"]._pick_source(company, self.env.user, destination or "")
            if not source:
                composer.didww_source_info = self.env._(
                    "No DIDWW number available: the SMS will fail. Ask an administrator to assign you one.")
            elif single:
                composer.didww_source_info = source.display_name
            else:
                composer.didww_source_info = self.env._(
                    "DIDWW: your number (%(number)s), or the number of a live conversation with each recipient",
                    number=source.display_name)

    def _didww_company(self):
        self.ensure_one()
        SmsSms = self.env["sms.sms"]
        return SmsSms._didww_company_of(SmsSms._didww_document(self.res_model, self.res_id))

    def _prepare_mass_sms_values(self, records):
        """Mass SMS have no message: remember their company, sender and document on each SMS.

        The sender is the document's salesperson when they have a DIDWW number (replies then reach
        the owner of the lead), else the user sending.
        """
        result = super()._prepare_mass_sms_values(records)
        pickers = {}
        for record in records:
            company = self.env["sms.sms"]._didww_company_of(record)
            if company not in pickers:
                pickers[company] = self.env["didww.sms.number"]._source_picker(company)
            user = self.env.user
            owner = record["user_id"] if "user_id" in record._fields else None
            if owner and owner._name == "res.users" and not owner.share and pickers[company].numbers_of(owner):
                user = owner
            result[record.id].update({
                "didww_company_id": company.id,
                "didww_user_id": user.id,
                "didww_res_model": record._name,
                "didww_res_id": record.id,
            })
        return result

    @api.model
    def _didww_composer_action(self, records):
        """Window action opening the composer on ``records`` (one: comment mode, many: mass mode)."""
        single = len(records) == 1
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Send SMS"),
            "res_model": "sms.composer",
            "view_mode": "form",
            "target": "new",
            "context": {
                "default_res_model": records._name,
                "default_res_id": records.id if single else False,
                "default_res_ids": records.ids,
                "default_composition_mode": "comment" if single else "mass",
                "default_mass_keep_log": True,
            },
        }

    def _action_send_sms_mass(self, records=None):
        """Log on each document whose SMS was not sent, and wake the queue cron for the others
        (it runs hourly otherwise)."""
        sms_all = super()._action_send_sms_mass(records=records)
        sms_all.filtered(lambda sms: sms.state in ("canceled", "error"))._didww_log_not_sent()
        if sms_all and not self.mass_force_send and any(sms.state == "outgoing" for sms in sms_all):
            self.env.ref("sms.ir_cron_sms_scheduler_action").sudo()._trigger()
        return sms_all

    # ------------------------------------------------------------
    # Opt-out: warn when texting an opted-out number by hand, skip it in automated actions
    # ------------------------------------------------------------

    didww_optout_warning = fields.Char(compute="_compute_didww_optout_warning")

    @api.depends("res_model", "res_id", "comment_single_recipient", "recipient_single_number_itf",
                 "recipient_single_number")
    def _compute_didww_optout_warning(self):
        for composer in self:
            number = composer.comment_single_recipient and (
                composer.recipient_single_number_itf or composer.recipient_single_number)
            records = composer._get_records() if number else None
            sanitized = records._phone_format(number=number) if records is not None and len(records) == 1 else False
            # sudo: like Odoo's blacklist check, users may not read the blacklist itself
            opted_out = sanitized and self.env["phone.blacklist"].sudo().search_count([("number", "=", sanitized)])
            composer.didww_optout_warning = self.env._(
                "%(number)s opted out of SMS (it is on the SMS blacklist): text it only if the customer asked "
                "you to.", number=sanitized) if opted_out else False

    def _action_send_sms_comment(self, records=None):
        """Automated actions ("SMS (with note)") skip opted-out numbers and say so on the document;
        a user texting by hand was warned and decides."""
        if not self.env.context.get("didww_skip_blacklisted"):
            return super()._action_send_sms_comment(records=records)
        records = records if records is not None else self._get_records()
        info = records._sms_get_recipients_info(force_field=self.number_field_name)
        numbers = [value["sanitized"] for value in info.values() if value["sanitized"]]
        blacklisted = set(self.env["phone.blacklist"].sudo().search([("number", "in", numbers)]).mapped("number"))
        skipped = records.filtered(lambda record: info[record.id]["sanitized"] in blacklisted)
        for record in skipped:
            record._message_log(body=self.env._(
                "SMS to %(number)s not sent: the customer opted out (SMS blacklist).",
                number=info[record.id]["sanitized"]))
        return super()._action_send_sms_comment(records=records - skipped)
