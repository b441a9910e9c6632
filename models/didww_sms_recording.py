"""What is kept of DIDWW's answers beyond Odoo's own recording (``sms.sms._handle_call_result_hook``).

Odoo's ``_send_with_api`` has already written each SMS's state and its notifications; these write
DIDWW's part in a few queries whatever the chunk's size: the message id that status callbacks
carry (on the SMS and its tracker, which outlives it), the number it left from, the conversation
it continues; the next attempt of a retried SMS; the reason of a failed one.
"""

import logging

from odoo import fields
from odoo.tools import SQL

_logger = logging.getLogger(__name__)


def record_sent(env, sent):
    """DIDWW accepted these SMS: ``sent`` is ``[(sms, result)]`` (see ``DidwwSmsApi``)."""
    _logger.info("%s SMS sent through DIDWW", len(sent))
    Sms = env["sms.sms"]
    sms_all = Sms.browse(sms.id for sms, _result in sent)
    now = fields.Datetime.now()
    env["sms.tracker"].flush_model()
    trackers = sms_all.sms_tracker_id  # one search by uuid for the whole chunk
    tracker_by_uuid = {tracker.sms_uuid: tracker for tracker in trackers}
    new_trackers = [{"sms_uuid": sms.uuid, "didww_message_id": result["didww_message_id"],
                     "didww_company_id": sms.didww_company_id.id, "didww_status": "accepted"}
                    for sms, result in sent if sms.uuid not in tracker_by_uuid]
    if new_trackers:
        env["sms.tracker"].sudo().create(new_trackers)  # sudo: technical records, as Odoo's own
    if tracker_by_uuid:
        env.cr.execute(SQL(
            "UPDATE sms_tracker t SET didww_message_id = v.message_id, didww_company_id = v.company_id, "
            "didww_status = 'accepted', didww_failure_reason = NULL, write_date = %s "
            "FROM (VALUES %s) AS v(id, message_id, company_id) WHERE t.id = v.id",
            now, SQL(", ").join(
                SQL("(%s, %s, %s)", tracker_by_uuid[sms.uuid].id, result["didww_message_id"], sms.didww_company_id.id)
                for sms, result in sent if sms.uuid in tracker_by_uuid)))
        trackers.invalidate_recordset(["didww_message_id", "didww_company_id", "didww_status",
                                       "didww_failure_reason"])
    sms_all.flush_recordset()
    env.cr.execute(SQL(
        "UPDATE sms_sms s SET didww_failure_reason = NULL, didww_error_kind = NULL, didww_next_attempt = NULL, "
        "didww_message_id = v.message_id, didww_source = v.source "
        "FROM (VALUES %s) AS v(id, message_id, source) WHERE s.id = v.id",
        SQL(", ").join(SQL("(%s, %s, %s)", sms.id, result["didww_message_id"], result["didww_source"])
                       for sms, result in sent)))
    sms_all.invalidate_recordset(["didww_failure_reason", "didww_error_kind", "didww_next_attempt",
                                  "didww_message_id", "didww_source"])
    documents = env["didww.sms.document"]._didww_documents(sms_all)
    numbers = env["didww.sms.number"].sudo().browse({result["didww_number_id"] for _sms, result in sent})
    number_by_id = {number.id: number for number in numbers}
    env["didww.sms.session"]._touch_outbound_many([
        (number_by_id[result["didww_number_id"]], result["didww_destination"], sms.didww_user_id,
         documents.get(sms.id), sms.body)
        for sms, result in sent])


def record_retries(env, retries):
    """Transient failures: ``retries`` is ``[(sms, result)]``; Odoo put them back in the queue
    ("outgoing"), this says when they are tried again, and why, on their notification."""
    for sms, result in retries:
        reason = result["failure_reason"]
        sms.write({
            "to_delete": False,  # Odoo's recording marks "outgoing" like a success, unlink_sent included
            "didww_attempts": result["didww_attempts"], "didww_next_attempt": result["didww_next_attempt"],
            "didww_failure_reason": (result.get("didww_admin_reason") or reason)[:250],
            "didww_error_kind": result["didww_error_kind"], "didww_source": result.get("didww_source"),
        })
        # the message's SMS notification says it is retrying, and why (it stays "ready")
        sms.sms_tracker_id.mail_notification_id.filtered(
            lambda notification: notification.notification_status in ("ready", "process")
        ).write({"notification_status": "ready", "failure_reason": reason})


def record_failures(env, failed):
    """``failed`` is ``[(sms, result)]``: DIDWW's reason on each SMS (Odoo wrote the failure, with
    the words for the salesperson), the number it was sent from; a failure of the company's set-up
    alerts its administrators (once, see ``didww.sms.admin.alert``)."""
    for (reason, source), group in _grouped(failed, _failure_key).items():
        _logger.info("SMS %s not sent through DIDWW: %s", [sms.id for sms in group], reason)
        env["sms.sms"].browse(sms.id for sms in group).write(
            {"didww_failure_reason": reason, "didww_next_attempt": False,
             **({"didww_source": source} if source else {})})
    alerts = {(sms.didww_company_id, result["didww_admin_reason"]) for sms, result in failed
              if result.get("didww_admin_reason")}
    for company, reason in alerts:
        env["didww.sms.admin.alert"]._alert(company, reason)


def _failure_key(result):
    return (result.get("didww_admin_reason") or result.get("failure_reason") or False,
            result.get("didww_source") or False)


def _grouped(pairs, key):
    groups = {}
    for sms, result in pairs:
        groups.setdefault(key(result), []).append(sms)
    return groups
