from odoo import api, fields, models


class SmsResendRecipient(models.TransientModel):
    _inherit = "sms.resend.recipient"

    failure_reason = fields.Text(
        related="notification_id.failure_reason", string="Details", related_sudo=True, readonly=True)


class SmsResend(models.TransientModel):
    """For DIDWW companies, say why an SMS failed in DIDWW's words, and do not offer IAP's
    "Buy credits" / "Set up an account", which would not help."""

    _inherit = "sms.resend"

    didww_active = fields.Boolean(compute="_compute_didww_active")

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
