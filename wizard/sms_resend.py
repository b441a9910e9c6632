from odoo import api, fields, models


class SmsResendRecipient(models.TransientModel):
    _inherit = "sms.resend.recipient"

    failure_reason = fields.Text("Details", compute="_compute_didww_admin_issue")
    didww_admin_issue = fields.Boolean(
        compute="_compute_didww_admin_issue",
        help="Only an administrator can fix this failure (the company's DIDWW set-up): trying again "
             "as it is cannot succeed, and the administrators were told.")

    @api.depends("notification_id", "failure_type", "sms_resend_id.didww_active")
    def _compute_didww_admin_issue(self):
        Alert = self.env["didww.sms.admin.alert"]
        admin = self.env.user.has_group("base.group_system")  # reads what to fix, may try again once fixed
        for recipient in self:
            # sudo: the notification's reason is shown to whoever may open the message's failures, as
            # Odoo shows its failure type; the tracker (technical) holds the administrator's reason
            notification_sudo = recipient.notification_id.sudo()
            admin_failure = recipient.sms_resend_id.didww_active and Alert._is_admin_failure(recipient.failure_type)
            recipient.didww_admin_issue = admin_failure and not admin
            recipient.failure_reason = (admin_failure and admin and recipient._didww_admin_reason(notification_sudo)) \
                or notification_sudo.failure_reason

    def _didww_admin_reason(self, notification_sudo):
        """What to fix: on the SMS (a failed send), else on its tracker (a status from DIDWW)."""
        tracker_sudo = notification_sudo.sms_tracker_ids[:1]
        # sudo: sms.sms are technical records; this reads only the reason of this failure
        sms_sudo = self.env["sms.sms"].sudo().search([("uuid", "=", tracker_sudo.sms_uuid)], limit=1) \
            if tracker_sudo else self.env["sms.sms"]
        return sms_sudo.didww_failure_reason or tracker_sudo.didww_failure_reason


class SmsResend(models.TransientModel):
    """For DIDWW companies, say why an SMS failed in DIDWW's words, do not offer IAP's
    "Buy credits" / "Set up an account", which would not help, nor to try again what only an
    administrator can fix."""

    _inherit = "sms.resend"

    didww_active = fields.Boolean(compute="_compute_didww_active")

    @api.model
    def default_get(self, fields_list):
        result = super().default_get(fields_list)
        if result.get("recipient_ids") and not self.env.user.has_group("base.group_system"):
            message = self.env["mail.message"].browse(result["mail_message_id"])
            company, _user = self.env["sms.sms"]._didww_origin(message)
            if company.didww_sms_active:
                Alert = self.env["didww.sms.admin.alert"]
                for command in result["recipient_ids"]:
                    if Alert._is_admin_failure(command[2].get("failure_type")):
                        command[2]["resend"] = False
        return result

    @api.depends("mail_message_id")
    def _compute_didww_active(self):
        for wizard in self:
            company, _user = self.env["sms.sms"]._didww_origin(wizard.mail_message_id)
            wizard.didww_active = company.didww_sms_active

    @api.depends("recipient_ids.failure_type", "didww_active")
    def _compute_has_unregistered_account(self):
        result = super()._compute_has_unregistered_account()
        self.filtered("didww_active").has_unregistered_account = False
        return result

    @api.depends("recipient_ids.failure_type", "didww_active")
    def _compute_has_insufficient_credit(self):
        result = super()._compute_has_insufficient_credit()
        self.filtered("didww_active").has_insufficient_credit = False
        return result
