from odoo import api, fields, models
from odoo.exceptions import UserError

from ..tools.didww_http import DidwwAuthError, DidwwError, DidwwNetworkError
from ..tools.public_url import unreachable_reason


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

    didww_webhook_url_warning = fields.Char(compute="_compute_didww_webhook_url_warning")

    @api.depends("company_id")
    def _compute_didww_webhook_url_warning(self):
        """Say when DIDWW, on the internet, cannot use the webhook URL (it is built on web.base.url)."""
        base_url = self.env["ir.config_parameter"].sudo().get_param("web.base.url", "")
        reason = unreachable_reason(base_url)
        texts = {
            "missing": self.env._("Odoo does not know its own address yet (system parameter web.base.url)."),
            "local": self.env._(
                "This URL points at this machine (%(url)s): DIDWW cannot reach it.", url=base_url),
            "private": self.env._(
                "This URL uses a private network address (%(url)s): DIDWW, on the internet, cannot reach it.",
                url=base_url),
            "http": self.env._(
                "This URL is plain HTTP: DIDWW checks HTTPS certificates, and the texts and the secret would "
                "travel in clear. Serve Odoo over HTTPS (README, Deployment)."),
        }
        text = texts.get(reason, False)
        if reason in ("missing", "local", "private"):
            text += " " + self.env._(
                "Open Odoo at its public HTTPS address and log in as an administrator (Odoo then records it), "
                "or set web.base.url in Settings > Technical > System Parameters; then copy the URL again.")
        for settings in self:
            settings.didww_webhook_url_warning = text

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

    # Buttons: the settings form saves the record first (noSaveDialog in the view), execute() applies
    # it, and the action answers with a notification whose next step reloads the form in place
    # (act_window_close), so the admin stays where they are, with their search.

    @staticmethod
    def _didww_stay(action, sticky=True):
        """``action`` (a display_notification), kept on screen, then the settings reloaded in place."""
        params = dict(action.get("params") or {}, sticky=sticky)
        params.setdefault("next", {"type": "ir.actions.act_window_close"})
        return dict(action, params=params)

    def _didww_notify(self, title, message, kind="success"):
        return self._didww_stay({"type": "ir.actions.client", "tag": "display_notification",
                                 "params": {"title": title, "message": message, "type": kind}})

    def action_didww_import_calls(self):
        self.execute()
        return self._didww_stay(self.env["didww.cdr.export"]._action_import_now(self.company_id))

    def action_didww_open_call_imports(self):
        return self.env["ir.actions.act_window"]._for_xml_id("didww_connector.didww_cdr_export_action")

    def action_didww_regenerate_webhook_secret(self):
        self.execute()
        self.company_id.action_didww_regenerate_webhook_secret()
        return self._didww_notify(
            self.env._("New DIDWW webhook URL"),
            self.env._("The old URL no longer works: copy the new one below into both DIDWW trunks (HTTP IN "
                       "request URL, HTTP OUT callback URL)."), kind="warning")

    def action_didww_import_numbers(self):
        self.execute()  # keep what the admin typed (API key, environment) before using it
        return self._didww_stay(
            self.env["didww.sms.number"].with_company(self.company_id)._action_import_from_didww(), sticky=False)

    def action_didww_check_balance(self):
        self.execute()
        return self._didww_stay(self.company_id._action_didww_check_balance(), sticky=False)

    def action_didww_test_connection(self):
        self.execute()
        return self._didww_stay(self.company_id._action_didww_test_connection())

    def action_didww_test_sms_trunk(self):
        """Check the HTTP OUT trunk's username and password with a call that sends nothing."""
        self.execute()
        company = self.company_id
        url = company.sudo().didww_sms_api_url  # sudo: as the SMS client, an admin-only setting
        try:
            with company._didww_sms_client() as client:
                client.check_credentials()
        except DidwwAuthError as exc:
            raise UserError(self.env._(
                "DIDWW refused the trunk username and password (%(status)s). Check them against the HTTP OUT "
                "trunk in the DIDWW panel, and the trunk's allowed IP addresses: DIDWW gives the same answer "
                "when this server's address is not allowed.", status=exc.status)) from None
        except DidwwNetworkError as exc:
            raise UserError(self.env._(
                "Odoo could not reach %(url)s: %(error)s. Check the API URL (one of DIDWW's three) and that "
                "this server may connect to the internet.", url=url, error=str(exc))) from None
        except DidwwError as exc:
            raise UserError(self.env._(
                "The trunk could not be checked at %(url)s: %(error)s. Check the API URL: it should be one "
                "of DIDWW's three.", url=url, error=str(exc))) from None
        return self._didww_notify(
            self.env._("DIDWW SMS trunk"),
            self.env._("DIDWW accepted the trunk username and password at %(url)s. Nothing was sent.", url=url))

    def action_didww_open_numbers(self):
        return self.env["ir.actions.act_window"]._for_xml_id("didww_connector.didww_sms_number_action")

    def action_didww_open_providers(self):
        return self.env["ir.actions.act_window"]._for_xml_id("didww_connector.didww_voip_provider_action")
