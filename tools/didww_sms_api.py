"""DIDWW as an Odoo SMS provider, as ``sms_twilio/tools/sms_api.py`` is Twilio.

:class:`DidwwSmsApi` sends a batch of SMS through a company's DIDWW HTTP OUT trunk and returns a
result per uuid; Odoo records the results. On 18.0 revisions with the provider hook,
``res.company._get_sms_api_class()`` names it for a DIDWW company, ``sms.sms._split_by_api()``
gives it its batches and Odoo's own ``sms.sms._send_with_api`` records what it answers; 18.0 as
first released has no ``SmsApiBase`` and no ``_send_with_api``: ``sms.sms._send`` routes DIDWW SMS
to this class and records the results the same way (``sms.sms._didww_record_results``).

Like Twilio's class it reads the ORM to route each SMS (which DIDWW number it leaves from, the
recipient in E.164); the HTTP itself is ``didww_sms_client.py``, ``max_workers`` requests in
flight on the client's threads, which do nothing else. A batch's requests can be started ahead
(:meth:`DidwwSmsApi._didww_submit`): the queue starts the next chunk while Odoo records this one.

Results, besides ``uuid``, ``state`` and ``failure_reason`` as ``SmsApiBase`` says:

* ``success``: DIDWW accepted the SMS; ``didww_message_id``, ``didww_number_id`` (the
  ``didww.sms.number`` it left from), ``didww_source`` and ``didww_destination``;
* ``didww_retry``: a transient failure, tried again at ``didww_next_attempt`` (``didww_attempts``,
  ``didww_error_kind``): ``sms.sms`` keeps it queued ("outgoing");
* else the ``sms.sms`` failure type (``sms_acc``, ``sms_server``, ``sms_number_format``,
  ``unknown``) with DIDWW's reason.
"""

import logging
from datetime import timedelta

from odoo import fields
from odoo.exceptions import UserError
from odoo.tools.translate import LazyTranslate

from . import didww_sms_retry, phone
from .didww_http import DidwwAuthError, DidwwBadRequestError, DidwwNetworkError, DidwwNotFoundError

try:
    from odoo.addons.sms.tools.sms_api import SmsApiBase
except ImportError:  # 18.0 as first released: Odoo has no provider classes, this one stands alone
    SmsApiBase = None

_logger = logging.getLogger(__name__)
_lt = LazyTranslate(__name__)

SMS_API_HOOK = SmsApiBase is not None
RETRY_STATE = "didww_retry"

# sms.sms failure types this class answers as result states (they map to themselves)
DIDWW_RESULT_FAILURE_TYPES = (
    "unknown", "sms_number_missing", "sms_number_format", "sms_country_not_supported", "sms_credit",
    "sms_server", "sms_acc", "sms_blacklist",
)

# DIDWW's answer to a send -> (sms.sms failure type, reason shown to people)
DIDWW_SEND_ERRORS = {
    DidwwAuthError: ("sms_acc", _lt(
        "DIDWW refused the HTTP OUT trunk credentials or this server's IP address (%(detail)s). "
        "Check the trunk username, password and allowed IPs.")),
    DidwwBadRequestError: ("unknown", _lt("DIDWW refused this SMS: %(detail)s")),
    DidwwNotFoundError: ("sms_server", _lt(
        "The DIDWW Outbound SMS API URL looks wrong (%(detail)s). Check it in Settings > Integrations > DIDWW.")),
}


class _SmsApiStandIn:
    """``SmsApiBase``'s interface, for 18.0 as first released (which has none)."""

    PROVIDER_TO_SMS_FAILURE_TYPE = {
        "server_error": "sms_server",
        "sms_number_missing": "sms_number_missing",
        "wrong_number_format": "sms_number_format",
    }

    def __init__(self, env, account=None):
        self.env = env
        self.company = env.company

    def _get_sms_api_error_messages(self):
        return {}

    def _set_company(self, company):
        self.company = company


class DidwwSmsApi(SmsApiBase or _SmsApiStandIn):
    """Send SMS through one company's DIDWW HTTP OUT trunk (see the module docstring)."""

    PROVIDER_TO_SMS_FAILURE_TYPE = {
        **(SmsApiBase or _SmsApiStandIn).PROVIDER_TO_SMS_FAILURE_TYPE,
        **{failure_type: failure_type for failure_type in DIDWW_RESULT_FAILURE_TYPES},
    }

    def __init__(self, env, account=None):
        super().__init__(env, account=account)
        self._client = None
        self._client_error = None
        self._started = {}  # uuid -> (sms, number, destination, future) or (sms, None, None, result)
        self._recorded_by_caller = False  # the queue records through Odoo; direct callers get recorded here
        self._backoff = None
        self.retry_at = []  # when the transient failures answered so far are tried again

    def _get_sms_api_error_messages(self):
        """DIDWW's reasons travel with each result (``failure_reason``): no generic texts."""
        return {}

    # ------------------------------------------------------------
    # SmsApiBase
    # ------------------------------------------------------------

    def _send_sms_batch(self, messages, delivery_reports_url=False):
        """Send the ``sms.sms`` that ``messages`` designate by uuid (``SmsApiBase``'s format) and
        return one result per number (see the module docstring). SMS started ahead by
        :meth:`_didww_submit` are not sent again: their answers are awaited."""
        numbers = [number for message in messages for number in message.get("numbers") or ()]
        uuids = [number["uuid"] for number in numbers]
        missing = [uuid for uuid in uuids if uuid not in self._started]
        direct_sudo = None
        if missing:
            # a direct caller (mass mailing's test SMS): the SMS exist, not yet sent by the queue
            # sudo: sms.sms are technical records; whoever may call a provider may send these
            sms_sudo = self.env["sms.sms"].sudo().search([("uuid", "in", missing)])
            sms_sudo.filtered(lambda sms: sms.didww_company_id != self.company).didww_company_id = self.company
            if not self.env.su and self.env.user._is_internal():
                # a person texting the numbers they typed: quiet hours for mass and automated SMS
                # do not hold it (the consent ledger still decides)
                sms_sudo.filtered(lambda sms: not sms.didww_by_hand).didww_by_hand = True
            direct_sudo = sms_sudo._didww_lock_ready()
            self._didww_submit(direct_sudo)
        results = [self._didww_result(uuid) for uuid in uuids]
        if not self._started:
            self._didww_close()
        if direct_sudo and not self._recorded_by_caller:
            # recorded as the queue records them, or the queue would send them again
            submitted = set(direct_sudo.mapped("uuid"))
            direct_sudo._didww_record_results(self, [result for result in results if result["uuid"] in submitted])
        return results

    # ------------------------------------------------------------
    # Sending
    # ------------------------------------------------------------

    def _didww_open(self):
        """The company's DIDWW client; :class:`UserError` when its trunk is not configured."""
        if self._client is None:
            self._client = self.company._didww_sms_client()
            self._client.__enter__()
        return self._client

    def _didww_close(self):
        client, self._client = self._client, None
        if client is not None:
            client.__exit__(None, None, None)

    def _didww_submit(self, sms):
        """Start sending ``sms`` (``sms.sms``, sudo): routed here, their requests in flight on the
        client's threads when this returns. An SMS that cannot leave gets its result now."""
        if not sms:
            return
        if self._client is None and self._client_error is None:
            try:
                self._didww_open()
            except (UserError, ValueError) as exc:
                self._client_error = str(exc)
        if self._client_error is not None:
            for record in sms:
                self._started[record.uuid] = (record, None, None, self._didww_failure(
                    record, "sms_acc", self._client_error))
            return
        for record, number, destination in self._didww_route(sms):
            self._started[record.uuid] = (record, number, destination, self._client.submit(
                number.number, destination, record.body or ""))

    def _didww_route(self, sms):
        """``[(sms, source number, destination)]`` for the SMS that can leave; the others get their
        result here, before anything is sent."""
        company = self.company
        destinations = {record.id: record._didww_destination(company) for record in sms}
        picker = self.env["didww.sms.number"]._source_picker(company, destinations.values())
        # the one place every DIDWW SMS passes: the company's consent ledger and quiet hours
        verdicts = self.env["didww.sms.rules"]._didww_verdicts(company, sms, destinations)
        routed, no_source = [], sms.browse()
        for record in sms:
            destination = destinations[record.id]
            if not destination:
                self._started[record.uuid] = (record, None, None, self._didww_failure(
                    record, "sms_number_format", self.env._(
                        "%(number)s is not a valid phone number for the recipient's country.",
                        number=record.number or "")))
                continue
            if record.id in verdicts:
                self._started[record.uuid] = (record, None, None, self._didww_verdict_result(
                    record, *verdicts[record.id]))
                continue
            # a preset source (the opt-out reply) wins; a mass SMS (it has its document) continues
            # any live conversation with its recipient, whoever holds it
            source = picker.numbers.filtered(lambda n, s=record: n.number == s.didww_source)[:1] \
                or picker.pick(record.didww_user_id, destination, any_conversation=bool(record.didww_res_model))
            if not source:
                no_source |= record
                continue
            routed.append((record, source,
                           destination if source.reformat_outbound else phone.loose(record.number)))
        for user, user_sms in no_source.grouped("didww_user_id").items():
            reason = self.env._(
                "No DIDWW number to send from: add an SMS number for %(company)s in Settings > DIDWW > SMS "
                "numbers and assign it to %(user)s.",
                company=company.name, user=user.name or self.env._("the sender"))
            for record in user_sms:
                self._started[record.uuid] = (record, None, None, self._didww_failure(record, "unknown", reason))
        return routed

    # ------------------------------------------------------------
    # Results
    # ------------------------------------------------------------

    def _didww_result(self, uuid):
        """The result for ``uuid``, waiting for DIDWW's answer if it is still in flight."""
        started = self._started.pop(uuid, None)
        if started is None:
            return {"uuid": uuid, "state": "unknown", "failure_reason": False}
        record, number, destination, outcome = started
        if number is None:
            return outcome
        message_id, error = outcome.result()
        if message_id:
            return {"uuid": uuid, "state": "success", "didww_message_id": message_id,
                    "didww_number_id": number.id, "didww_source": number.number, "didww_destination": destination}
        decision = didww_sms_retry.decide(error, record.didww_attempts, record.didww_error_kind, self._didww_backoff())
        if decision.outcome == "retry":
            next_attempt = fields.Datetime.now() + timedelta(seconds=decision.delay)
            self.retry_at.append(next_attempt)
            # people read why in words, and when in their own time zone (the message's popover
            # renders didww_next_attempt); administrators also read DIDWW's answer in the SMS list
            cause = self._didww_retry_cause(error)
            _logger.info("SMS %s: attempt %s failed (%s), next at %s",
                         record.id, decision.attempts, error, next_attempt)
            return {"uuid": uuid, "state": RETRY_STATE, "didww_source": number.number,
                    "failure_reason": cause,
                    "didww_admin_reason": self.env._(
                        "%(cause)s (attempt %(attempt)s of %(max)s: %(error)s).", cause=cause,
                        attempt=decision.attempts, max=didww_sms_retry.MAX_ATTEMPTS, error=str(error)),
                    "didww_attempts": decision.attempts, "didww_next_attempt": next_attempt,
                    "didww_error_kind": decision.kind}
        if decision.outcome == "exhausted":
            return self._didww_failure(record, "sms_server", self.env._(
                "DIDWW could not be reached after %(attempts)s attempts: %(error)s",
                attempts=decision.attempts, error=str(error)), number)
        if decision.outcome == "refused" or isinstance(error, DidwwNetworkError):
            return self._didww_failure(record, "sms_server", self._didww_url_reason(error), number)
        failure_type, reason = next(
            ((ftype, text) for cls, (ftype, text) in DIDWW_SEND_ERRORS.items() if isinstance(error, cls)),
            ("unknown", _lt("DIDWW refused this SMS: %(detail)s")))
        return self._didww_failure(record, failure_type, str(reason) % {"detail": error.detail or str(error)}, number)

    def _didww_verdict_result(self, record, verdict, detail):
        """The result of an SMS the texting rules stop: opted out fails, held stays queued until
        the recipient's window opens (as a retry does, without counting as an attempt)."""
        if verdict == "opted_out":
            return self._didww_failure(record, "sms_blacklist", detail)
        release, reason = detail
        self.retry_at.append(release)
        return {"uuid": record.uuid, "state": RETRY_STATE, "failure_reason": reason,
                "didww_attempts": record.didww_attempts, "didww_next_attempt": release,
                "didww_error_kind": "held"}

    def _didww_retry_cause(self, error):
        """Why DIDWW did not take the SMS yet, in words (no HTTP codes)."""
        kind = getattr(error, "kind", None)
        if kind == "timeout":
            return self.env._("DIDWW did not answer in time")
        if kind == "dropped":
            return self.env._("The connection to DIDWW dropped")
        if kind == "refused":
            return self.env._("DIDWW refused the connection")
        if getattr(error, "status", None) == 429:
            return self.env._("DIDWW asked to slow down (too many SMS at once)")
        return self.env._("DIDWW is temporarily unavailable")

    def _didww_failure(self, record, failure_type, reason, number=None):
        """A failed result; a failure of the company's set-up reads to the salesperson as such, its
        reason goes to the administrators (``didww_admin_reason``, see ``didww.sms.admin.alert``)."""
        result = {"uuid": record.uuid, "state": failure_type, "failure_reason": reason}
        if number:
            result["didww_source"] = number.number
        Alert = self.env["didww.sms.admin.alert"]
        if Alert._is_admin_failure(failure_type):
            result.update(failure_reason=Alert._user_reason(), didww_admin_reason=reason)
        return result

    def _didww_url_reason(self, error):
        return self.env._(
            "%(error)s at %(url)s. Check the Outbound SMS API URL in Settings > General Settings > "
            "Integrations > DIDWW (and that this server can reach it).",
            error=str(error), url=self.company.sudo().didww_sms_api_url or "")

    def _didww_backoff(self):
        """Seconds before each retry: system parameter ``didww_connector.retry_backoff`` (comma
        separated, e.g. ``1,2,3,4,5`` for the fault scripts), else the policy's default."""
        if self._backoff is None:
            self._backoff = didww_sms_retry.parse_backoff(
                self.env["ir.config_parameter"].sudo().get_param("didww_connector.retry_backoff"))
        return self._backoff
