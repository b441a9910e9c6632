"""DIDWW as an Odoo SMS provider class, for the 18.0 revisions that have the provider hook.

Later 18.0 revisions let a company choose its provider: ``res.company._get_sms_api_class()``
returns a class shaped like ``odoo.addons.sms.tools.sms_api.SmsApiBase`` (``sms_twilio`` returns
its ``SmsApiTwilio``), ``sms.sms._split_by_api()`` gives each batch its provider, and a few callers
(mass mailing's "test SMS" wizard) use ``_send_sms_batch`` directly. :class:`DidwwSmsApi` is that
class for DIDWW. It lives here rather than in ``tools/`` because it works on the ORM; the HTTP
itself is ``tools/didww_sms_client.py``. Its ``_send_sms_batch`` does not send on its own: it hands
the SMS to ``sms.sms._didww_send``, the one code path that sends through DIDWW on every 18.0
revision (the first 18.0 release, without the hook, reaches it from ``sms.sms._send``).
"""

try:
    from odoo.addons.sms.tools.sms_api import SmsApiBase
except ImportError:  # 18.0 as first released: no provider hook, DidwwSmsApi is not used by Odoo
    SmsApiBase = None

SMS_API_HOOK = SmsApiBase is not None

# sms.sms failure types this class reports as result states (they map to themselves)
DIDWW_RESULT_FAILURE_TYPES = (
    "unknown", "sms_number_missing", "sms_number_format", "sms_country_not_supported", "sms_credit",
    "sms_server", "sms_acc",
)


class DidwwSmsApi(SmsApiBase or object):
    """``SmsApiBase`` for a company sending through DIDWW (see the module docstring)."""

    PROVIDER_TO_SMS_FAILURE_TYPE = {
        **(SmsApiBase.PROVIDER_TO_SMS_FAILURE_TYPE if SMS_API_HOOK else {}),
        **{failure_type: failure_type for failure_type in DIDWW_RESULT_FAILURE_TYPES},
    }

    def __init__(self, env, account=None):
        self.env = env
        self.company = env.company

    def _set_company(self, company):
        self.company = company

    def _get_sms_api_error_messages(self):
        """DIDWW's reasons travel with each result (``failure_reason``): no generic texts."""
        return {}

    def _send_sms_batch(self, messages, delivery_reports_url=False):
        """Send the ``sms.sms`` records that ``messages`` designate by uuid, as ``SmsApiBase`` says.

        :return: one ``{"uuid", "state", "failure_reason"}`` per number: ``success`` (DIDWW accepted
            it), ``server_error`` while a transient error keeps it queued for a retry, else the
            SMS's failure type with DIDWW's reason.
        """
        numbers = [number for message in messages for number in message.get("numbers") or ()]
        # sudo: sms.sms are technical records; whoever may call a provider may send these
        sms_sudo = self.env["sms.sms"].sudo().search([("uuid", "in", [number["uuid"] for number in numbers])])
        sms_sudo.filtered(lambda sms: sms.didww_company_id != self.company).didww_company_id = self.company
        sms_sudo.with_context(didww_auto_commit=False)._didww_send(unlink_failed=False, unlink_sent=False)
        by_uuid = sms_sudo.grouped("uuid")
        results = []
        for number in numbers:
            sms = by_uuid.get(number["uuid"])
            if sms and sms.state in ("pending", "sent"):
                results.append({"uuid": number["uuid"], "state": "success"})
            elif sms and sms.state == "outgoing":
                results.append({"uuid": number["uuid"], "state": "server_error",
                                "failure_reason": sms.didww_failure_reason})
            else:
                results.append({"uuid": number["uuid"], "state": (sms.failure_type if sms else None) or "unknown",
                                "failure_reason": sms.didww_failure_reason if sms else False})
        return results
