from odoo import Command, api, fields, models

FIXABLE = ("sms_number_missing", "sms_number_format")  # mass SMS failures a person fixes and resends


class SmsComposer(models.TransientModel):
    _inherit = "sms.composer"

    didww_source_info = fields.Char(
        "Sent from", compute="_compute_didww_source_info",
        help="The DIDWW number this SMS leaves from, whose it is and why it was chosen.")
    didww_active = fields.Boolean(compute="_compute_didww_source_info")

    @api.depends("res_model", "res_id", "composition_mode", "recipient_single_number_itf", "number_field_name")
    def _compute_didww_source_info(self):
        for composer in self:
            company = composer._didww_company()
            composer.didww_active = company.didww_sms_active
            if not company.didww_sms_active:
                composer.didww_source_info = False
                continue
            single = composer.comment_single_recipient and composer.recipient_single_number_itf
            destination = self._didww_e164(composer.recipient_single_number_itf, company.country_id) \
                if single else None
            source, reason = self.env["didww.sms.number"]._pick_source_with_reason(
                company, self.env.user, destination)
            composer.didww_source_info = composer._didww_source_text(source, reason, bool(single))

    def _didww_source_text(self, source, reason, single):
        """What a person needs to know about the sender: which number, whose, and why."""
        if not source:
            return self.env._("No DIDWW number available: the SMS will fail. Ask an administrator to assign you one.")
        number = f"{source.number} ({source.name})" if source.name else source.number
        if reason == "conversation":
            text = self.env._("%(number)s: the number this customer is texting with.", number=number)
        elif reason == "user":
            text = self.env._("%(number)s: your number.", number=number)
        else:
            owners = source.sudo()._assigned_users() - self.env.user  # sudo: names of colleagues only
            text = self.env._(
                "%(number)s: the company's number, because no DIDWW number is assigned to you.", number=number)
            if owners:
                text += " " + self.env._("Replies go to %(users)s.", users=", ".join(owners.mapped("name")))
        if not single:
            text += " " + self.env._(
                "Recipients in a live conversation get their SMS from that conversation's number; "
                "documents with a salesperson who has a number, from the salesperson's.")
        return text

    def _didww_company(self):
        self.ensure_one()
        document = self.env["didww.sms.document"]._didww_document(self.res_model, self.res_id)
        return self.env["sms.sms"]._didww_company_of(document)

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
    def _didww_composer_action(self, records, template=None):
        """Window action opening the composer on ``records`` (one: comment mode, many: mass mode,
        where the person sees how many recipients will be texted before sending)."""
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
                "default_template_id": template.id if template else False,
            },
        }

    def _didww_sends_mass(self, records):
        """Whether mass SMS on ``records`` leave through DIDWW (for at least one company)."""
        SmsSms = self.env["sms.sms"]
        return bool(records) and any(SmsSms._didww_company_of(record).didww_sms_active for record in records)

    def _action_send_sms_mass(self, records=None):
        """DIDWW mass SMS with "Keep a note on document" are logged with their status (the SMS icon
        on the message, red with *Resend* on failure), not as plain notes. Log on each document
        whose SMS has no message why it was not sent, and wake the queue cron for the others (it
        runs hourly otherwise)."""
        records = records if records is not None else self._get_records()
        with_status = self.mass_keep_log and isinstance(records, self.pool["mail.thread"]) \
            and self._didww_sends_mass(records)
        if with_status:
            self.mass_keep_log = False  # logged by _prepare_mass_sms instead
        try:
            composer = self.with_context(didww_log_with_status=with_status)
            sms_all = super(SmsComposer, composer)._action_send_sms_mass(records=records)
        finally:
            if with_status:
                self.mass_keep_log = True
        sms_all.filtered(lambda sms: sms.state in ("canceled", "error"))._didww_log_not_sent()
        if sms_all and not self.mass_force_send and any(sms.state == "outgoing" for sms in sms_all):
            self.env.ref("sms.ir_cron_sms_scheduler_action").sudo()._trigger()
        return sms_all

    def _prepare_mass_sms(self, records, sms_record_values):
        sms_all = super()._prepare_mass_sms(records, sms_record_values)
        if self.env.context.get("didww_log_with_status") and sms_all:
            # blacklisted, opted-out and duplicate recipients stay skipped: they get a note saying
            # so (_didww_log_not_sent), not an SMS message
            logged = sms_all.filtered(lambda sms: sms.state == "outgoing" or sms.failure_type in FIXABLE)
            to_log = records.browse(logged.mapped("didww_res_id"))
            if to_log:
                messages = to_log._message_log_batch(**self._prepare_mass_log_values(
                    to_log, {res_id: sms_record_values[res_id] for res_id in to_log.ids}))
                self._didww_link_to_messages(logged, messages)
        return sms_all

    def _didww_link_to_messages(self, sms_all, messages):
        """Attach each SMS to its document's logged message with an SMS notification, as Odoo does
        for an SMS posted on a document: the message then shows the SMS status, and failures (a
        missing or invalid number included) can be fixed and resent from it."""
        message_by_res_id = {message.res_id: message for message in messages}
        notification_vals = []
        for sms in sms_all:
            message = message_by_res_id[sms.didww_res_id]
            sms.mail_message_id = message
            outgoing = sms.state == "outgoing"
            notification_vals.append({
                "author_id": message.author_id.id,
                "mail_message_id": message.id,
                "res_partner_id": sms.partner_id.id,
                "sms_number": sms.number,
                "notification_type": "sms",
                "sms_id_int": sms.id,
                "sms_tracker_ids": [Command.create({"sms_uuid": sms.uuid})] if outgoing else False,
                "is_read": True,
                "notification_status": "ready" if outgoing else "exception",
                "failure_type": "" if outgoing else sms.failure_type,
            })
        self.env["mail.notification"].sudo().create(notification_vals)
