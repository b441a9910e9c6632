import secrets
from datetime import timedelta

from psycopg2.errors import LockNotAvailable, SerializationFailure

from odoo import api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools import SQL, config, mute_logger

from ..tools.didww_api_client import API_VERSIONS, LATEST_API_VERSION
from ..tools.didww_sms_api import DidwwSmsApi
from ..tools.didww_sms_client import DEFAULT_SMS_API_URL

WEBHOOK_ROUTE = "/didww/webhook"


def _new_webhook_secret():
    return secrets.token_urlsafe(32)


class ResCompany(models.Model):
    _name = "res.company"
    _inherit = ["res.company", "didww.account.mixin"]

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
    didww_webhook_ip_check = fields.Char(
        "What the allow-list compares", compute="_compute_didww_webhook_ip_check", groups="base.group_system")
    didww_webhook_max_events = fields.Integer(
        "Webhook deliveries per minute", default=6000, groups="base.group_system",
        help="Above this many deliveries in a minute, the webhook answers 429 (Too Many Requests) and DIDWW "
             "retries later; administrators are told once an hour. 0: no limit.")
    didww_webhook_max_new_senders = fields.Integer(
        "New senders per minute", default=600, groups="base.group_system",
        help="Above this many texts a minute from numbers with no conversation yet (each may create a contact), "
             "the webhook answers 429 to further new senders and DIDWW retries them later. 0: no limit.")
    didww_webhook_limited_at = fields.Datetime(
        "Webhook last limited", readonly=True, copy=False, groups="base.group_system",
        help="When administrators were last told that deliveries were refused for going over a limit.")
    didww_api_key = fields.Char("DIDWW API v3 key", groups="base.group_system")
    didww_api_environment = fields.Selection(
        [("production", "Production"), ("sandbox", "Sandbox")], "DIDWW API environment",
        default="production", groups="base.group_system",
    )
    didww_api_version = fields.Selection(
        [(version, version) for version in API_VERSIONS], "DIDWW API version",
        default=LATEST_API_VERSION, groups="base.group_system",
        help="2026-11-19: the API key is traded for short-lived bearer tokens at DIDWW's token service. "
             "2026-04-16: the API key is sent on every call (DIDWW refuses it with 401 for accounts on "
             "2026-11-19).",
    )
    didww_balance = fields.Char("DIDWW balance", readonly=True, groups="base.group_system", copy=False)
    # calls from DIDWW's call records (didww.cdr.export)
    didww_cdr_import = fields.Boolean(
        "Log calls from DIDWW's records", groups="base.group_system",
        help="Every hour, the calls on this company's DIDWW numbers are read from DIDWW's call records "
             "(exports) and logged on the customers, including calls the softphone never saw.")
    didww_callback_secret = fields.Char(
        "DIDWW callback secret", groups="base.group_system", copy=False,
        help="Optional: the enabled callback secret of the DIDWW account (API > DIDWW API 3 > Callback "
             "Secrets). With it, DIDWW tells Odoo as soon as an export is ready (signed callback); without "
             "it, Odoo asks DIDWW until the export is ready.")
    didww_cdr_imported_until = fields.Datetime(
        "Calls imported up to", readonly=True, groups="base.group_system", copy=False)
    didww_cdr_last_message = fields.Char(
        "Call records import", readonly=True, groups="base.group_system", copy=False)
    # administrators only: a user may read a company without being allowed to read its numbers
    didww_sms_number_ids = fields.One2many("didww.sms.number", "company_id", "DIDWW SMS numbers",
                                           groups="base.group_system")
    didww_missed_call_sms = fields.Boolean(
        "Text missed callers",
        help="When a softphone call is not answered, text the caller from the called user's DIDWW number "
             "(never to an opted-out number, at most once an hour per caller).")
    didww_missed_call_sms_text = fields.Char(
        "Missed call text", translate=True,
        default=lambda self: self.env._("Sorry we missed your call. We will call you back as soon as we can."))
    # texting rules (see didww.sms.rules): HELP text and quiet hours
    didww_sms_help_text = fields.Char(
        "HELP reply", translate=True,
        help="Texted to a customer who sends HELP or INFO (once per conversation a day). Empty: "
             "\"<company>: reply STOP to stop receiving texts, START to receive them again.\"")
    didww_quiet_scope = fields.Selection(
        [("automated", "Mass and automated SMS"), ("all", "All SMS"), ("off", "Off")], "Quiet hours apply to",
        default="automated", required=True,
        help="SMS due outside the window of the recipient's local time wait in the queue until it opens. "
             "A person texting one customer by hand may choose to send at once.")
    didww_quiet_start = fields.Float("Texting window from", default=8.0)
    didww_quiet_end = fields.Float("Texting window until", default=21.0)

    @api.depends("didww_webhook_secret")
    def _compute_didww_webhook_url(self):
        base_url = self.env["ir.config_parameter"].sudo().get_param("web.base.url", "").rstrip("/")
        for company in self:
            if company.id and company.didww_webhook_secret:
                company.didww_webhook_url = f"{base_url}{WEBHOOK_ROUTE}/{company.id}/{company.didww_webhook_secret}"
            else:
                company.didww_webhook_url = False

    @api.depends("didww_webhook_allowed_ips")
    @api.depends_context("uid")
    def _compute_didww_webhook_ip_check(self):
        """Say what the allow-list really compares: with proxy mode on, Odoo takes the address
        from X-Forwarded-For, which anyone reaching Odoo directly can write."""
        if config.get("proxy_mode"):
            text = self.env._(
                "Proxy mode is on: the allow-list compares the address your proxy writes in X-Forwarded-For. It "
                "protects the webhook only if Odoo can be reached through that proxy alone (anyone reaching Odoo "
                "directly can write the header).")
        else:
            text = self.env._(
                "Proxy mode is off: the allow-list compares the address of the connection itself. Behind a reverse "
                "proxy every delivery then comes from the proxy's address: start Odoo with --proxy-mode.")
        for company in self:
            company.didww_webhook_ip_check = text

    @api.constrains("didww_quiet_start", "didww_quiet_end")
    def _check_didww_quiet_hours(self):
        for company in self:
            if not (0 <= company.didww_quiet_start < 24 and 0 <= company.didww_quiet_end < 24):
                raise ValidationError(self.env._("The texting window runs between 00:00 and 23:59."))

    def _didww_help_text(self):
        self.ensure_one()
        return (self.didww_sms_help_text or "").strip() or self.env._(
            "%(company)s: reply STOP to stop receiving texts, START to receive them again.", company=self.name)

    def action_didww_regenerate_webhook_secret(self):
        self.ensure_one()
        self.didww_webhook_secret = _new_webhook_secret()

    def _didww_tell_admins_limited(self, reason):
        """Tell this company's administrators, once an hour, that the webhook refuses deliveries
        (``reason``, translated). Concurrent deliveries elect one teller: the others skip."""
        self.ensure_one()
        now = fields.Datetime.now()
        try:
            with mute_logger("odoo.sql_db"), self.env.cr.savepoint():
                self.env.cr.execute(SQL(
                    "UPDATE res_company SET didww_webhook_limited_at = %(now)s WHERE id IN ("
                    " SELECT id FROM res_company WHERE id = %(id)s AND (didww_webhook_limited_at IS NULL"
                    " OR didww_webhook_limited_at < %(since)s) FOR UPDATE SKIP LOCKED) RETURNING id",
                    now=now, id=self.id, since=now - timedelta(hours=1)))
                elected = bool(self.env.cr.fetchall())
        except (LockNotAvailable, SerializationFailure):
            elected = False  # another delivery is telling them right now
        self.invalidate_recordset(["didww_webhook_limited_at"])
        if not elected:
            return False
        # sudo: the webhook runs as the public user; the note goes to the company's administrators
        admins = self.env.ref("base.group_system").sudo().users.filtered(
            lambda user: self in user.company_ids and not user._is_superuser())
        body = self.env._(
            "The DIDWW webhook of %(company)s refused deliveries: %(reason)s. DIDWW retries them later. If this is "
            "real traffic, raise the limits in Settings > DIDWW: webhook; if not, regenerate the webhook URL there "
            "(someone else may have it) and paste the new URL into DIDWW.", company=self.name, reason=reason)
        self.partner_id.sudo().message_post(
            body=body, subject=self.env._("DIDWW webhook limit reached"), message_type="comment",
            subtype_xmlid="mail.mt_note", partner_ids=admins.partner_id.ids)
        return True

    def _get_sms_api_class(self):
        # the SMS provider hook of later 18.0 revisions (sms.sms._send without a provider in
        # context, mass mailing's test SMS): a DIDWW company's provider is DIDWW. 18.0 as first
        # released never calls it (sms.sms._send routes DIDWW SMS itself)
        self.ensure_one()
        if self.didww_sms_active:
            return DidwwSmsApi
        return super()._get_sms_api_class()
