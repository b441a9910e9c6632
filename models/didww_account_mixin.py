from urllib.parse import urlsplit

from odoo import models
from odoo.exceptions import UserError
from odoo.tools import format_amount

from ..tools.didww_api_client import (
    API_URLS,
    LATEST_API_VERSION,
    TOKEN_URLS,
    DidwwApiClient,
    DidwwTokenError,
    uses_bearer_tokens,
)
from ..tools.didww_http import DidwwAuthError, DidwwError
from ..tools.didww_sms_client import DEFAULT_SMS_API_URL, DidwwSmsClient
from .didww_cdr_export import CALLBACK_ROUTE


class DidwwAccountMixin(models.AbstractModel):
    """A company's access to its DIDWW account: the clients of DIDWW's APIs built from the
    company's settings (the ORM stops here; ``tools/`` speak HTTP), the settings buttons that call
    them, and DIDWW's errors in words. Mixed into ``res.company`` (``res_company.py``)."""

    _name = "didww.account.mixin"
    _description = "DIDWW account access"

    def _didww_api_call(self, call, failure):
        """``call(client)`` with this company's API v3 client; DIDWW errors become a UserError
        starting with ``failure`` (already translated)."""
        self.ensure_one()
        try:
            with self._didww_api_client() as client:
                return call(client)
        except DidwwError as exc:
            raise UserError(self._didww_error_message(exc, failure)) from None

    def _didww_error_message(self, exc, failure):
        """A sentence for an admin about a failed API v3 call (``failure``: what failed, translated)."""
        self.ensure_one()
        if isinstance(exc, DidwwTokenError):
            return self._didww_token_error_message(exc, failure)
        if isinstance(exc, DidwwAuthError):
            if uses_bearer_tokens(self.sudo().didww_api_version):
                return self.env._(
                    "DIDWW refused the access token minted for API version %(version)s (%(status)s), even "
                    "a freshly minted one. Check the API key's allowed IP addresses in the DIDWW panel "
                    "(they apply to its tokens too) and that your account offers this version.",
                    version=self.sudo().didww_api_version, status=exc.status)
            return self.env._(
                "DIDWW refused the API key (%(status)s). Check the key, the environment (production or "
                "sandbox) and the API's allowed IP addresses in the DIDWW panel. An account on API version "
                "2026-11-19 refuses the key on API calls: choose that version then.", status=exc.status)
        return self.env._("%(failure)s: %(error)s", failure=failure, error=str(exc))

    def _didww_token_error_message(self, exc, failure):
        """A sentence for an admin about the token service's refusal (``DidwwTokenError``)."""
        if exc.status == 401:
            return self.env._(
                "DIDWW's token service refused the API key. Check the key, that it belongs to the chosen "
                "environment (a sandbox key only mints sandbox tokens) and the key's allowed IP addresses "
                "in the DIDWW panel.")
        if exc.status == 429:
            if exc.retry_after is not None:
                return self.env._(
                    "DIDWW's token service is receiving too many requests from this key: try again in "
                    "%(seconds)s seconds.", seconds=int(exc.retry_after + 0.999))
            return self.env._("DIDWW's token service is receiving too many requests from this key: try again "
                              "in a minute.")
        if exc.status == 400:
            return self.env._(
                "DIDWW's token service refused the request for an access token (%(detail)s). The addon asks "
                "for audience api.didww.com and API version %(version)s: if your account does not offer "
                "this version, choose 2026-04-16.",
                detail=exc.code or exc.detail or exc.status, version=self.sudo().didww_api_version)
        return self.env._("%(failure)s: DIDWW's token service did not give an access token: %(error)s",
                          failure=failure, error=str(exc))

    def _action_didww_test_connection(self):
        """Read the balance; say which API version answered and how the addon authenticated."""
        self.ensure_one()
        result = self._didww_api_call(lambda client: client.check(),
                                      self.env._("The connection to DIDWW failed"))
        chosen = self.sudo().didww_api_version
        answered = result.get("api_version")
        if result["scheme"] == "bearer":
            scheme = self.env._(
                "authenticated with an access token from %(host)s (scope %(scope)s, valid %(seconds)s seconds; "
                "the API key went to the token service only)",
                host=urlsplit(self._didww_token_url()).hostname, scope=result.get("scope") or "?",
                seconds=result.get("expires_in") or "?")
        else:
            scheme = self.env._("authenticated with the API key (Api-Key header)")
        if not answered:
            message = self.env._("Connected to DIDWW, %(scheme)s. DIDWW did not say which API version answered.",
                                 scheme=scheme)
        elif answered != chosen:
            message = self.env._(
                "Connected to DIDWW, %(scheme)s, but DIDWW answered with API version %(answered)s instead of "
                "%(chosen)s (DIDWW ignores a requested version older than the account's).",
                scheme=scheme, answered=answered, chosen=chosen)
        else:
            message = self.env._("Connected: DIDWW answered with API version %(answered)s, %(scheme)s.",
                                 answered=answered, scheme=scheme)
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {"title": self.env._("DIDWW connection"), "message": message,
                       "type": "success" if not answered or answered == chosen else "warning", "sticky": True},
        }

    def _action_didww_check_balance(self):
        self.ensure_one()
        balance = self._didww_api_call(
            lambda client: client.balance(), self.env._("The DIDWW balance could not be read"))
        usd = self.env.ref("base.USD")  # DIDWW accounts are kept in US dollars

        def amount(key):
            try:
                return format_amount(self.env, float(balance.get(key)), usd)
            except (TypeError, ValueError):
                return balance.get(key) or "?"

        text = self.env._("%(balance)s (credit %(credit)s, total %(total)s)",
                          balance=amount("balance"), credit=amount("credit"), total=amount("total_balance"))
        self.sudo().didww_balance = text  # sudo: admin-only field, written by an admin's action
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {"title": self.env._("DIDWW balance"), "message": text, "type": "info",
                       "next": {"type": "ir.actions.act_window_close"}},
        }

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

    def _didww_cdr_callback_url(self):
        """The signed-callback URL given to DIDWW with each export, or ``None`` (polling only)
        when no callback secret is set."""
        self.ensure_one()
        if not self.sudo().didww_callback_secret:
            return None
        base_url = self.env["ir.config_parameter"].sudo().get_param("web.base.url", "").rstrip("/")
        return f"{base_url}{CALLBACK_ROUTE}/{self.id}" if base_url else None

    def _didww_token_url(self):
        self.ensure_one()
        environment = self.sudo().didww_api_environment or "production"
        override = self.env["ir.config_parameter"].sudo().get_param(f"didww_connector.token_url.{environment}")
        return override or TOKEN_URLS[environment]

    def _didww_api_client(self):
        """Return a :class:`DidwwApiClient` (API v3) for this company's key, environment and version.
        With 2026-11-19 its tokens are cached in this process per database and company."""
        self.ensure_one()
        company_sudo = self.sudo()  # sudo: the API key is an admin-only field
        if not company_sudo.didww_api_key:
            raise UserError(self.env._(
                "Enter the DIDWW API v3 key in Settings > Integrations > DIDWW first."))
        version = company_sudo.didww_api_version or LATEST_API_VERSION
        return DidwwApiClient(
            self._didww_api_base_url(), company_sudo.didww_api_key,
            api_version=version, timeout=self._didww_timeout(),
            token_url=self._didww_token_url() if uses_bearer_tokens(version) else None,
            token_cache_key=(self.env.cr.dbname, self.id),
        )
