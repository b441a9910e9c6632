import logging

from odoo import fields, models
from odoo.tools.translate import LazyTranslate

_logger = logging.getLogger(__name__)
_lt = LazyTranslate(__name__)

# DIDWW callback code_id -> (mail.notification failure type, reason a person understands)
DIDWW_CODE_FAILURES = {
    1: ("sms_country_not_supported", _lt("DIDWW has no route to this destination (code 1).")),
    2: ("sms_country_not_supported", _lt(
        "The destination's country or area is not in your DIDWW SMS price list (code 2).")),
    3: ("sms_country_not_supported", _lt("DIDWW has no route to this destination (code 3).")),
    4: ("sms_server", _lt("DIDWW had an internal error; try again later (code 4).")),
    5: ("sms_acc", _lt("Your DIDWW origination gateway is blocked; contact DIDWW support (code 5).")),
    6: ("sms_server", _lt("DIDWW had an internal error; try again later (code 6).")),
    7: ("sms_acc", _lt("Your DIDWW account is blocked for sending SMS; contact DIDWW support (code 7).")),
    8: ("sms_acc", _lt(
        "The sending number is not allowed on your DIDWW HTTP OUT trunk: add it to the trunk's source "
        "addresses for outbound P2P SMS (code 8).")),
    100: ("sms_credit", _lt("Your DIDWW balance ran out before the SMS could be sent (code 100).")),
    101: ("sms_not_delivered", _lt("Every carrier DIDWW tried refused the SMS (code 101).")),
}

# normalised delivery receipt status -> (failure type, reason)
DIDWW_DLR_FAILURES = {
    "failed": ("sms_not_delivered", _lt("The carrier reported the SMS as not delivered.")),
    "undelivered": ("sms_not_delivered", _lt("The carrier reported the SMS as not delivered.")),
    "undeliverable": ("sms_invalid_destination", _lt("The carrier says the destination cannot receive SMS.")),
    "expired": ("sms_expired", _lt("The SMS expired before the phone could be reached.")),
    "rejected": ("sms_rejected", _lt("The carrier rejected the SMS.")),
}

# normalised status -> outcome
DIDWW_STATUS_OUTCOME = {
    ("callback", "success"): "sent",
    ("callback", "routing_error"): "error",
    ("callback", "failed"): "error",
    ("dlr", "delivered"): "delivered",
    ("dlr", "delivrd"): "delivered",
    ("dlr", "accepted"): "sent",
    ("dlr", "enroute"): "sent",
}


class SmsTracker(models.Model):
    _inherit = "sms.tracker"

    didww_message_id = fields.Char("DIDWW message id", index="btree_not_null", readonly=True)
    # sms.tracker is readable by administrators only (Odoo's access rights): they read every company
    didww_company_id = fields.Many2one("res.company", "DIDWW company", readonly=True, ondelete="cascade",
                                       help="Only this company's webhook may update the status.")
    didww_status = fields.Selection([
        ("accepted", "Accepted by DIDWW"),
        ("sent", "Handed to the carrier"),
        ("delivered", "Delivered"),
        ("error", "Error"),
    ], readonly=True)
    didww_failure_reason = fields.Char(readonly=True)
    didww_fragments_sent = fields.Integer("Fragments sent", readonly=True)

    _sql_constraints = [
        ("didww_message_id_unique", "unique(didww_message_id)", "A tracker already holds this DIDWW message id."),
    ]

    def _didww_failure(self, event):
        """(failure type, reason) of a failed status event."""
        if event.code_id in DIDWW_CODE_FAILURES:
            failure_type, reason = DIDWW_CODE_FAILURES[event.code_id]
            return failure_type, str(reason)
        if event.kind == "dlr" and event.status in DIDWW_DLR_FAILURES:
            failure_type, reason = DIDWW_DLR_FAILURES[event.status]
            reason = str(reason)
        else:
            failure_type = "sms_not_delivered"
            reason = self.env._("DIDWW reported '%(status)s'.", status=event.raw_status or event.status)
            if event.code_id is not None:
                reason += " " + self.env._("Error code %(code)s.", code=event.code_id)
        if event.error_message:
            reason += f" ({event.error_message})"
        return failure_type, reason

    def _didww_apply_status(self, event):
        """Apply a :class:`StatusEvent` to this tracker, its notification and its SMS if still there.

        A delivered SMS stays delivered whatever arrives later, and states never go backwards
        (``_update_sms_notifications`` ignores downgrades).
        """
        self.ensure_one()
        outcome = DIDWW_STATUS_OUTCOME.get((event.kind, event.status))
        if outcome is None:
            outcome = "error" if event.kind == "callback" or event.status in DIDWW_DLR_FAILURES else "ignored"
        vals = {}
        if event.fragments_sent is not None:
            vals["didww_fragments_sent"] = event.fragments_sent
        sms_sudo = self.env["sms.sms"].sudo().search([("uuid", "=", self.sms_uuid)])
        if outcome == "ignored" or (self.didww_status == "delivered" and outcome != "delivered"):
            self.write(vals)
            return outcome
        if outcome == "error":
            failure_type, reason = self._didww_failure(event)
            self.write(dict(vals, didww_status="error", didww_failure_reason=reason))
            Alert = self.env["didww.sms.admin.alert"]
            admin_failure = Alert._is_admin_failure(failure_type)
            self._action_update_from_sms_state(
                "error", failure_type=failure_type, failure_reason=Alert._user_reason() if admin_failure else reason)
            if admin_failure:
                Alert._alert(self.didww_company_id, reason)
            sms_failure_type = failure_type if failure_type in dict(
                sms_sudo._fields["failure_type"].selection) else "unknown"
            sms_sudo.write({"state": "error", "failure_type": sms_failure_type, "didww_failure_reason": reason})
        else:
            if outcome == "delivered" or self.didww_status != "delivered":
                vals["didww_status"] = outcome
            self.write(dict(vals, didww_failure_reason=False))
            sms_state = "sent" if outcome == "delivered" else "pending"
            self._action_update_from_sms_state(sms_state)
            sms_sudo.filtered(lambda sms: sms.state != "sent").write({"state": sms_state, "failure_type": False})
        return outcome
