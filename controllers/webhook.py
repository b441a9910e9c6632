import hmac
import ipaddress
import json
import logging

from werkzeug.exceptions import RequestEntityTooLarge

from odoo import http
from odoo.http import request

from ..models.didww_webhook_inbox import OUTCOME_DUPLICATE, OUTCOME_LIMITED, OUTCOME_QUEUED, OUTCOME_UNKNOWN_NUMBER
from ..models.res_company import WEBHOOK_ROUTE
from ..tools import log_redaction
from ..tools.didww_webhook import MAX_BODY_BYTES, WebhookFormatError, salvage_template

_logger = logging.getLogger(__name__)
# the access log would write the URL's secret and, for GET deliveries, the SMS on every request
log_redaction.install(WEBHOOK_ROUTE)
RETRY_AFTER_SECONDS = 60  # a delivery refused for going over a limit: DIDWW may try again then

JSON_TYPES = ("application/json", "application/vnd.api+json", "text/json")
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
# HTTP answer of each outcome of storing a delivery. Every 2xx means "stored and committed": the
# event is processed right after, out of the request (DIDWW does not say which 2xx it accepts,
# so a stored event gets the plain 200 every sender treats as success)
OUTCOME_STATUS = {
    OUTCOME_QUEUED: 200,
    OUTCOME_DUPLICATE: 200,
    OUTCOME_UNKNOWN_NUMBER: 404,  # stored all the same: processed when DIDWW retries once the number exists
    OUTCOME_LIMITED: 429,  # not stored: DIDWW retries it later
}


class WebhookError(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


def _ip_allowed(remote_addr, allowed):
    """``allowed``: comma- or space-separated IPs and networks; empty allows everyone."""
    entries = [entry for entry in (allowed or "").replace(",", " ").split() if entry]
    if not entries:
        return True
    try:
        address = ipaddress.ip_address(remote_addr or "")
    except ValueError:
        return False
    for entry in entries:
        try:
            if address in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue
    return False


class DidwwWebhookController(http.Controller):

    @http.route(
        [f"{WEBHOOK_ROUTE}/<int:company_id>/<string:secret>"],
        type="http", auth="public", methods=["GET", "POST", "PUT"], csrf=False, save_session=False,
    )
    def didww_webhook(self, company_id, secret, **_kwargs):
        """DIDWW's HTTP IN trunk (inbound SMS) and HTTP OUT trunk callbacks (status) both post here."""
        try:
            company_sudo = self._check_access(company_id, secret)
            params = self._read_params()
            # sudo: the webhook is public; the secret in the URL authenticated DIDWW for this company
            Event = request.env["didww.webhook.event"].sudo().with_company(company_sudo)
            try:
                outcome = Event._store(company_sudo, params, request.httprequest.remote_addr)
            except WebhookFormatError as exc:
                raise WebhookError(400, str(exc)) from None
        except WebhookError as exc:
            _logger.info("DIDWW webhook for company %s refused (%s): %s", company_id, exc.status, exc)
            return request.make_json_response({"error": str(exc)}, status=exc.status)

        status = OUTCOME_STATUS[outcome.code]
        answer = {"status": outcome.code, "event": outcome.event.id or None}
        headers = {"Retry-After": str(RETRY_AFTER_SECONDS)} if status == 429 else None
        if status >= 400:
            answer["error"] = outcome.message
            _logger.info("DIDWW webhook for company %s: %s (%s)", company_id, outcome.message, status)
        # the answer leaves once Odoo has committed the request's transaction: the event is stored
        return request.make_json_response(answer, headers=headers, status=status)

    @staticmethod
    def _check_access(company_id, secret):
        # only what the check needs: a company's whole record is far more than a delivery needs
        company_sudo = request.env["res.company"].sudo().with_context(active_test=False).search_fetch(
            [("id", "=", company_id)],
            ["didww_webhook_secret", "didww_webhook_allowed_ips", "didww_webhook_max_events",
             "didww_webhook_max_new_senders"])
        expected = (company_sudo.didww_webhook_secret or "") if company_sudo else ""
        # compare even when the company does not exist, so that timing tells nothing
        if not hmac.compare_digest(secret.encode(), (expected or "\0" * 43).encode()) or not expected:
            raise WebhookError(403, "invalid webhook URL")
        if not _ip_allowed(request.httprequest.remote_addr, company_sudo.didww_webhook_allowed_ips):
            raise WebhookError(403, "this IP address is not allowed")
        return company_sudo

    @staticmethod
    def _read_params():
        """Flat parameters from the query string and a JSON, form or multipart body."""
        httprequest = request.httprequest
        length = httprequest.content_length
        if length is not None and length > MAX_BODY_BYTES:
            raise WebhookError(413, f"body larger than {MAX_BODY_BYTES} bytes")
        params = dict(httprequest.args.items())
        mimetype = httprequest.mimetype or ""
        if mimetype in FORM_TYPES:
            httprequest.max_content_length = MAX_BODY_BYTES
            try:
                params.update(httprequest.form.items())
            except RequestEntityTooLarge:
                raise WebhookError(413, f"body larger than {MAX_BODY_BYTES} bytes") from None
            return params
        httprequest.max_content_length = MAX_BODY_BYTES  # also caps bodies sent without a length
        try:
            body = httprequest.get_data()
        except RequestEntityTooLarge:
            raise WebhookError(413, f"body larger than {MAX_BODY_BYTES} bytes") from None
        if not body.strip():
            if not params:
                raise WebhookError(400, "empty request")
            return params
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise WebhookError(400, "the body is not UTF-8") from None
        if mimetype in JSON_TYPES or text.lstrip().startswith(("{", "[")):
            try:
                document = json.loads(text)
            except RecursionError:
                raise WebhookError(400, "the JSON body is nested too deeply") from None
            except ValueError:
                # raw {SMS_TEXT} in DIDWW's JSON template breaks on quotes and line breaks
                salvaged = salvage_template(text)
                if salvaged is None:
                    raise WebhookError(400, "malformed JSON body") from None
                document = salvaged
            if not isinstance(document, dict):
                raise WebhookError(400, "the JSON body must be an object")
            try:  # "\ud800" escapes decode to lone surrogates, which no database or hash can take
                json.dumps(document, ensure_ascii=False).encode()
            except UnicodeEncodeError:
                raise WebhookError(400, "the JSON body holds invalid Unicode (a lone surrogate)") from None
            except RecursionError:
                raise WebhookError(400, "the JSON body is nested too deeply") from None
            params.update(document)
            return params
        raise WebhookError(415, f"unsupported body type {mimetype or 'unknown'}: send JSON or a form")

