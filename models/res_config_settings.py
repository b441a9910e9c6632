from odoo import api, fields, models
from odoo.exceptions import UserError


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
    didww_webhook_ip_check = fields.Char(related="company_id.didww_webhook_ip_check")
    didww_webhook_max_events = fields.Integer(related="company_id.didww_webhook_max_events", readonly=False)
    didww_webhook_max_new_senders = fields.Integer(related="company_id.didww_webhook_max_new_senders",
                                                   readonly=False)
    didww_api_key = fields.Char(related="company_id.didww_api_key", readonly=False)
    didww_api_environment = fields.Selection(related="company_id.didww_api_environment", readonly=False)
    didww_api_version = fields.Selection(related="company_id.didww_api_version", readonly=False)
    didww_balance = fields.Char(related="company_id.didww_balance")
    didww_cdr_import = fields.Boolean(related="company_id.didww_cdr_import", readonly=False)
    didww_callback_secret = fields.Char(related="company_id.didww_callback_secret", readonly=False)
    didww_cdr_imported_until = fields.Datetime(related="company_id.didww_cdr_imported_until")
    didww_cdr_last_message = fields.Char(related="company_id.didww_cdr_last_message")
    didww_cdr_interval = fields.Integer(
        "Import every (hours)", compute="_compute_didww_cdr_interval", inverse="_inverse_didww_cdr_interval",
        groups="base.group_system")
    didww_missed_call_sms = fields.Boolean(related="company_id.didww_missed_call_sms", readonly=False)
    didww_missed_call_sms_text = fields.Char(related="company_id.didww_missed_call_sms_text", readonly=False)
    didww_sms_number_count = fields.Integer(compute="_compute_didww_sms_number_count")
    didww_sms_help_text = fields.Char(related="company_id.didww_sms_help_text", readonly=False)
    didww_quiet_scope = fields.Selection(related="company_id.didww_quiet_scope", readonly=False)
    didww_quiet_start = fields.Float(related="company_id.didww_quiet_start", readonly=False)
    didww_quiet_end = fields.Float(related="company_id.didww_quiet_end", readonly=False)

    @api.depends("company_id")
    def _compute_didww_sms_number_count(self):
        for settings in self:
            settings.didww_sms_number_count = self.env["didww.sms.number"].search_count(
                [("company_id", "=", settings.company_id.id)])

    def _didww_cdr_cron(self):
        # sudo: the import's schedule is part of the DIDWW settings, which only admins reach
        return self.env.ref("didww_connector.ir_cron_didww_cdr_import", raise_if_not_found=False).sudo()

    @api.depends("company_id")
    def _compute_didww_cdr_interval(self):
        cron = self._didww_cdr_cron()
        hours = (cron.interval_number * {"minutes": 1 / 60, "hours": 1, "days": 24, "weeks": 168, "months": 720}.get(
            cron.interval_type, 1)) if cron else 1
        for settings in self:
            settings.didww_cdr_interval = max(round(hours), 1)

    def _inverse_didww_cdr_interval(self):
        cron = self._didww_cdr_cron()
        for settings in self:
            hours = settings.didww_cdr_interval
            if hours < 1 and not settings.didww_cdr_import:
                continue  # the import is off: nothing to schedule
            if hours < 1:
                raise UserError(self.env._("DIDWW's call records are imported every hour or less often: enter "
                                           "a whole number of hours, 1 or more."))
            if cron and (cron.interval_type != "hours" or cron.interval_number != hours):
                cron.write({"interval_number": hours, "interval_type": "hours"})

    def action_didww_import_calls(self):
        self.execute()
        return self.env["didww.cdr.export"]._action_import_now(self.company_id)

    def action_didww_open_call_imports(self):
        return self.env["ir.actions.act_window"]._for_xml_id("didww_connector.didww_cdr_export_action")

    def action_didww_regenerate_webhook_secret(self):
        self.company_id.action_didww_regenerate_webhook_secret()
        return {"type": "ir.actions.client", "tag": "reload"}

    def action_didww_import_numbers(self):
        self.execute()  # keep what the admin typed (API key, environment) before using it
        return self.env["didww.sms.number"].with_company(self.company_id)._action_import_from_didww()

    def action_didww_check_balance(self):
        self.execute()
        return self.company_id._action_didww_check_balance()

    def action_didww_test_connection(self):
        self.execute()
        return self.company_id._action_didww_test_connection()

    def action_didww_open_numbers(self):
        return self.env["ir.actions.act_window"]._for_xml_id("didww_connector.didww_sms_number_action")

    def action_didww_open_providers(self):
        return self.env["ir.actions.act_window"]._for_xml_id("didww_connector.didww_voip_provider_action")
