import secrets

from odoo import api, fields, models
from odoo.exceptions import UserError

from ..tools.didww_api_client import API_URLS, DidwwApiClient
from ..tools.didww_http import DidwwAuthError, DidwwError
from ..tools.didww_sms_api import DidwwSmsApi
from ..tools.didww_sms_client import DEFAULT_SMS_API_URL, DidwwSmsClient

WEBHOOK_ROUTE = "/didww/webhook"


def _new_webhook_secret():
    return secrets.token_urlsafe(32)


class ResCompany(models.Model):
    _inherit = "res.company"

    didww_sms_active = fields.Boolean(
        "Send SMS through DIDWW",
        help="SMS of this company leave through DIDWW's Outbound SMS API instead of Odoo IAP.",
    )
    didww_sms_username = fields.Char("HTTP OUT trunk username", groups="base.group_system")
    didww_sms_password = fields.Char("HTTP OUT trunk password", groups="base.group_system")
    didww_sms_api_url = fields.Char(
        "Outbound SMS API URL", default=DEFAULT_SMS_API_URL,
        help="https://sms-out.didww.com (global), https://us.sms-out.didww.com or https://eu.sms-out.didww.com",
    )
    didww_sms_rate_limit = fields.Float(
        "Outbound SMS requests per second", default=10.0,
        help="Client-side cap on requests to DIDWW's Outbound SMS API for this company.",
    )
    didww_sms_max_workers = fields.Integer(
        "Parallel SMS requests", default=4,
        help="How many SMS requests are in flight at once when the queue sends many SMS.",
    )
    didww_webhook_secret = fields.Char(
        groups="base.group_system", copy=False, default=lambda self: _new_webhook_secret(),
    )
    didww_webhook_url = fields.Char(
        "DIDWW webhook URL", compute="_compute_didww_webhook_url", groups="base.group_system",
        help="Paste it into DIDWW as the HTTP IN trunk's request URL and as the HTTP OUT trunk's callback URL.",
    )
    didww_webhook_allowed_ips = fields.Char(
        "Webhook allowed IPs", groups="base.group_system",
        help="Optional: only these addresses or networks may call the webhook, e.g. DIDWW's "
             "46.19.209.214, 185.238.173.74. Empty allows any address (the secret URL still applies).",
    )
    didww_api_key = fields.Char("DIDWW API v3 key", groups="base.group_system")
    didww_api_environment = fields.Selection(
        [("production", "Production"), ("sandbox", "Sandbox")], "DIDWW API environment",
        default="production", groups="base.group_system",
    )
    didww_api_version = fields.Char(
        "DIDWW API version", groups="base.group_system",
        help="Optional dated version sent as X-DIDWW-API-Version, e.g. 2026-04-16.",
    )
    didww_balance = fields.Char("DIDWW balance", readonly=True, groups="base.group_system", copy=False)
    didww_sms_number_ids = fields.One2many("didww.sms.number", "company_id", "DIDWW SMS numbers")

    @api.depends("didww_webhook_secret")
    def _compute_didww_webhook_url(self):
        base_url = self.env["ir.config_parameter"].sudo().get_param("web.base.url", "").rstrip("/")
        for company in self:
            if company.id and company.didww_webhook_secret:
                company.didww_webhook_url = f"{base_url}{WEBHOOK_ROUTE}/{company.id}/{company.didww_webhook_secret}"
            else:
                company.didww_webhook_url = False

    def action_didww_regenerate_webhook_secret(self):
        self.ensure_one()
        self.didww_webhook_secret = _new_webhook_secret()

    def _didww_api_call(self, call, failure):
        """``call(client)`` with this company's API v3 client; DIDWW errors become a UserError
        starting with ``failure`` (already translated)."""
        self.ensure_one()
        try:
            with self._didww_api_client() as client:
                return call(client)
        except DidwwAuthError as exc:
            raise UserError(self.env._(
                "DIDWW refused the API key (%(status)s). Check the key, the environment (production or "
                "sandbox) and the API's allowed IP addresses in the DIDWW panel.", status=exc.status)) from None
        except DidwwError as exc:
            raise UserError(self.env._("%(failure)s: %(error)s", failure=failure, error=str(exc))) from None

    def _action_didww_check_balance(self):
        self.ensure_one()
        balance = self._didww_api_call(
            lambda client: client.balance(), self.env._("The DIDWW balance could not be read"))
        text = self.env._("%(balance)s (credit %(credit)s, total %(total)s)",
                          balance=balance.get("balance", "?"), credit=balance.get("credit", "?"),
                          total=balance.get("total_balance", "?"))
        self.sudo().didww_balance = text  # sudo: admin-only field, written by an admin's action
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {"title": self.env._("DIDWW balance"), "message": text, "type": "info",
                       "next": {"type": "ir.actions.client", "tag": "reload"}},
        }

    def _get_sms_api_class(self):
        # the SMS provider hook of later 18.0 revisions (sms.sms._send without a provider in
        # context, mass mailing's test SMS): a DIDWW company's provider is DIDWW. 18.0 as first
        # released never calls it (sms.sms._send routes DIDWW SMS itself)
        self.ensure_one()
        if self.didww_sms_active:
            return DidwwSmsApi
        return super()._get_sms_api_class()

    # ------------------------------------------------------------
    # Clients (the ORM stops here; tools/ speak HTTP)
    # ------------------------------------------------------------

    def _didww_sms_client(self):
        """Return a :class:`DidwwSmsClient` for this company's HTTP OUT trunk."""
        self.ensure_one()
        # sudo: the trunk credentials are admin-only fields, but any user may send an SMS
        company_sudo = self.sudo()
        if not company_sudo.didww_sms_username or not company_sudo.didww_sms_password:
            raise UserError(self.env._(
                "DIDWW is not configured for %(company)s: enter the HTTP OUT trunk username and "
                "password in Settings > Integrations > DIDWW.", company=self.name))
        return DidwwSmsClient(
            company_sudo.didww_sms_api_url or DEFAULT_SMS_API_URL,
            company_sudo.didww_sms_username,
            company_sudo.didww_sms_password,
            rate=company_sudo.didww_sms_rate_limit or 10.0,
            max_workers=company_sudo.didww_sms_max_workers or 1,
            timeout=self._didww_timeout(),
        )

    def _didww_timeout(self):
        """Seconds DIDWW has to answer: system parameter ``didww_connector.timeout`` (default 20)."""
        value = self.env["ir.config_parameter"].sudo().get_param("didww_connector.timeout", "20")
        try:
            return min(max(float(value), 0.1), 120.0)
        except ValueError:
            return 20.0

    def _didww_api_base_url(self):
        self.ensure_one()
        environment = self.sudo().didww_api_environment or "production"
        override = self.env["ir.config_parameter"].sudo().get_param(f"didww_connector.api_url.{environment}")
        return override or API_URLS[environment]

    def _didww_api_client(self):
        """Return a :class:`DidwwApiClient` (API v3) for this company's key and environment."""
        self.ensure_one()
        company_sudo = self.sudo()  # sudo: the API key is an admin-only field
        if not company_sudo.didww_api_key:
            raise UserError(self.env._(
                "Enter the DIDWW API v3 key in Settings > Integrations > DIDWW first."))
        return DidwwApiClient(
            self._didww_api_base_url(), company_sudo.didww_api_key,
            api_version=company_sudo.didww_api_version or None, timeout=self._didww_timeout(),
        )
