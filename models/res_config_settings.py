from odoo import api, fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    didww_sms_active = fields.Boolean(related="company_id.didww_sms_active", readonly=False)
    didww_sms_username = fields.Char(related="company_id.didww_sms_username", readonly=False)
    didww_sms_password = fields.Char(related="company_id.didww_sms_password", readonly=False)
    didww_sms_api_url = fields.Char(related="company_id.didww_sms_api_url", readonly=False)
    didww_sms_rate_limit = fields.Float(related="company_id.didww_sms_rate_limit", readonly=False)
    didww_sms_max_workers = fields.Integer(related="company_id.didww_sms_max_workers", readonly=False)
    didww_webhook_url = fields.Char(related="company_id.didww_webhook_url")
    didww_webhook_allowed_ips = fields.Char(related="company_id.didww_webhook_allowed_ips", readonly=False)
    didww_api_key = fields.Char(related="company_id.didww_api_key", readonly=False)
    didww_api_environment = fields.Selection(related="company_id.didww_api_environment", readonly=False)
    didww_api_version = fields.Char(related="company_id.didww_api_version", readonly=False)
    didww_balance = fields.Char(related="company_id.didww_balance")
    didww_missed_call_sms = fields.Boolean(related="company_id.didww_missed_call_sms", readonly=False)
    didww_missed_call_sms_text = fields.Char(related="company_id.didww_missed_call_sms_text", readonly=False)
    didww_sms_number_count = fields.Integer(compute="_compute_didww_sms_number_count")

    @api.depends("company_id")
    def _compute_didww_sms_number_count(self):
        for settings in self:
            settings.didww_sms_number_count = self.env["didww.sms.number"].search_count(
                [("company_id", "=", settings.company_id.id)])

    def action_didww_regenerate_webhook_secret(self):
        self.company_id.action_didww_regenerate_webhook_secret()
        return {"type": "ir.actions.client", "tag": "reload"}

    def action_didww_import_numbers(self):
        self.execute()  # keep what the admin typed (API key, environment) before using it
        return self.env["didww.sms.number"].with_company(self.company_id)._action_import_from_didww()

    def action_didww_check_balance(self):
        self.execute()
        return self.company_id._action_didww_check_balance()

    def action_didww_open_numbers(self):
        return self.env["ir.actions.act_window"]._for_xml_id("didww_connector.didww_sms_number_action")

    def action_didww_open_providers(self):
        return self.env["ir.actions.act_window"]._for_xml_id("didww_connector.didww_voip_provider_action")
