from odoo import api, fields, models


class SmsResendRecipient(models.TransientModel):
    _inherit = "sms.resend.recipient"

    failure_reason = fields.Text(
        related="notification_id.failure_reason", string="Details", related_sudo=True, readonly=True)
    didww_admin_issue = fields.Boolean(
        compute="_compute_didww_admin_issue",
        help="Only an administrator can fix this failure (the company's DIDWW set-up): trying again "
             "as it is cannot succeed, and the administrators were told.")

    @api.depends("failure_type", "sms_resend_id.didww_active")
    def _compute_didww_admin_issue(self):
        Alert = self.env["didww.sms.admin.alert"]
        admin = self.env.user.has_group("base.group_system")  # an administrator may try again once fixed
        for recipient in self:
            recipient.didww_admin_issue = not admin and recipient.sms_resend_id.didww_active \
                and Alert._is_admin_failure(recipient.failure_type)


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
            company, _user = self.env["sms.sms"]._didww_origin(self.env["mail.message"].browse(result["mail_message_id"]))
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
