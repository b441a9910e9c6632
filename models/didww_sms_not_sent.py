"""Why an SMS was not sent, told where people look (called by ``sms.sms``).

An SMS that fails keeps its reason (administrators read it in the SMS list); one without a chatter
message (mass, automated) leaves a note on its document saying why it was not sent, in words for
salespeople (an administrator's reason is theirs alone). SMS that a queue run left in "process"
when it died fail here too (:func:`fail_interrupted`, at the start of each queue run).
"""

import logging
from datetime import timedelta

from markupsafe import Markup

from odoo import fields

_logger = logging.getLogger(__name__)

INTERRUPTED_AFTER = timedelta(minutes=10)


def fail_interrupted(env):
    """SMS left in "process" by a queue run that died between marking and recording them.

    DIDWW may or may not have received them, and its API has no idempotency key: sending them
    again could text the customer twice, so they fail with a reason that says what to check.
    """
    stale_sudo = env["sms.sms"].sudo().search([
        ("state", "=", "process"), ("didww_company_id", "!=", False), ("didww_message_id", "=", False),
        ("write_date", "<", fields.Datetime.now() - INTERRUPTED_AFTER),
    ])
    if stale_sudo:
        fail(stale_sudo, "sms_server", env._(
            "Sending was interrupted: DIDWW may or may not have received this SMS. Check the SMS log "
            "in the DIDWW panel before sending it again."))


def fail(sms_all, failure_type, reason, unlink_failed=False):
    """``sms_all`` (``sms.sms``) not sent through DIDWW, for ``reason``: failed, and told."""
    _logger.info("SMS %s not sent through DIDWW: %s", sms_all.ids, reason)
    sms_all.sms_tracker_id._action_update_from_sms_state(
        "error", failure_type=failure_type, failure_reason=reason)
    log_not_sent(sms_all, reason)
    sms_all.write({
        "state": "error", "failure_type": failure_type, "didww_failure_reason": reason,
        "didww_next_attempt": False, **({"to_delete": True} if unlink_failed else {}),
    })


def log_not_sent(sms_all, reason=None):
    """Post why an SMS without a chatter message (mass, automated) was not sent on its document."""
    env = sms_all.env
    labels = dict(sms_all._fields["failure_type"]._description_selection(env))
    labels.update({  # Odoo's labels of the skips say too little to a salesperson
        "sms_blacklist": env._("the customer opted out (SMS blacklist)"),
        "sms_optout": env._("the customer opted out of this mailing list"),
        "sms_duplicate": env._("the same number was already texted in this batch"),
    })
    Document = env["didww.sms.document"]
    for sms in sms_all.filtered(lambda sms: not sms.mail_message_id):
        record = Document._didww_document(sms.didww_res_model, sms.didww_res_id)
        if not record or not hasattr(record, "_message_log"):
            continue
        why = reason or reason_for_users(sms) or labels.get(sms.failure_type) or env._("Unknown error")
        record._message_log(body=Markup("<p>{}</p><p>{}</p>").format(
            env._("SMS to %(number)s not sent: %(reason)s", number=sms.number or "-", reason=why),
            sms.body or ""))


def reason_for_users(sms):
    """The reason a salesperson reads: an administrator's reason is theirs alone."""
    sms.ensure_one()
    Alert = sms.env["didww.sms.admin.alert"]
    return Alert._user_reason() if Alert._is_admin_failure(sms.failure_type) else sms.didww_failure_reason
