import logging
import threading
from datetime import timedelta

from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import split_every
from odoo.tools.translate import LazyTranslate

from ..tools import phone
from ..tools.didww_http import DidwwAuthError, DidwwBadRequestError, DidwwNotFoundError

_logger = logging.getLogger(__name__)
_lt = LazyTranslate(__name__)

MAX_ATTEMPTS = 6  # first try + 5 retries, spread over about half an hour
BACKOFF_SECONDS = (30, 60, 120, 300, 900)
CHUNK_SIZE = 50  # SMS marked "process" and committed before their requests leave (queue runs)
INTERRUPTED_AFTER = timedelta(minutes=10)

# DIDWW answer to a send -> (sms.sms failure type, reason shown to people)
DIDWW_SEND_ERRORS = {
    DidwwAuthError: ("sms_acc", _lt(
        "DIDWW refused the HTTP OUT trunk credentials or this server's IP address (%(detail)s). "
        "Check the trunk username, password and allowed IPs.")),
    DidwwBadRequestError: ("unknown", _lt("DIDWW refused this SMS: %(detail)s")),
    DidwwNotFoundError: ("sms_server", _lt(
        "The DIDWW Outbound SMS API URL looks wrong (%(detail)s). Check it in Settings > Integrations > DIDWW.")),
}


class SmsSms(models.Model):
    _inherit = "sms.sms"

    didww_company_id = fields.Many2one(
        "res.company", "Company", index="btree_not_null", readonly=True,
        help="The company whose SMS settings decide how this SMS leaves.")
    didww_user_id = fields.Many2one("res.users", "Sent by", readonly=True, ondelete="set null")
    didww_res_model = fields.Char("Document model", readonly=True)
    didww_res_id = fields.Many2oneReference("Document", model_field="didww_res_model", readonly=True)
    didww_source = fields.Char("From DIDWW number", readonly=True, copy=False)
    didww_message_id = fields.Char("DIDWW message id", readonly=True, copy=False, index="btree_not_null")
    didww_attempts = fields.Integer("DIDWW attempts", readonly=True, copy=False)
    didww_next_attempt = fields.Datetime("Next DIDWW attempt", readonly=True, copy=False)
    didww_failure_reason = fields.Char("DIDWW failure reason", readonly=True, copy=False)

    @api.model_create_multi
    def create(self, vals_list):
        defaults = None
        for vals in vals_list:
            if vals.get("didww_company_id") and vals.get("didww_user_id"):
                continue
            if defaults is None:
                defaults = {}
            key = vals.get("mail_message_id")
            if key not in defaults:
                defaults[key] = self._didww_origin(self.env["mail.message"].browse(key))
            company, user = defaults[key]
            vals.setdefault("didww_company_id", company.id)
            vals.setdefault("didww_user_id", user.id)
        return super().create(vals_list)

    @api.model
    def _didww_document(self, model, res_id):
        """The document ``model``/``res_id`` designates, or ``None`` when there is none (any more)."""
        if not model or model not in self.env or not res_id:
            return None
        return self.env[model].browse(res_id).exists() or None

    @api.model
    def _didww_company_of(self, record):
        """The company whose settings send SMS about ``record``: its own, else the current one."""
        if record and "company_id" in record._fields and record.company_id:
            return record.company_id
        return self.env.company

    @api.model
    def _didww_origin(self, message):
        """(company, user) an SMS belongs to: the document's company, else the current one;
        the user sending it, else the message author's user."""
        message_sudo = message.sudo()  # sudo: the SMS is created by sudo callers on any document
        record_sudo = self.sudo()._didww_document(message_sudo.model, message_sudo.res_id)
        company = self._didww_company_of(record_sudo)
        user = self.env.user
        if (user._is_public() or user._is_superuser()) and message_sudo.author_id.user_ids:
            user = message_sudo.author_id.user_ids[:1]
        return company, user

    # ------------------------------------------------------------
    # Routing: DIDWW companies go to DIDWW, every other SMS keeps Odoo IAP
    # ------------------------------------------------------------

    def send(self, unlink_failed=False, unlink_sent=True, auto_commit=False, raise_exception=False):
        # _send needs to know whether it may commit (the queue does, a user's request does not)
        return super(SmsSms, self.with_context(didww_auto_commit=auto_commit)).send(
            unlink_failed=unlink_failed, unlink_sent=unlink_sent, auto_commit=auto_commit,
            raise_exception=raise_exception)

    @api.model
    def _process_queue(self, ids=None):
        self._didww_fail_interrupted()
        return super()._process_queue(ids=ids)

    @api.model
    def _didww_fail_interrupted(self):
        """SMS left in "process" by a queue run that died between marking and recording them.

        DIDWW may or may not have received them, and its API has no idempotency key: sending them
        again could text the customer twice, so they fail with a reason that says what to check.
        """
        stale_sudo = self.sudo().search([
            ("state", "=", "process"), ("didww_company_id", "!=", False), ("didww_message_id", "=", False),
            ("write_date", "<", fields.Datetime.now() - INTERRUPTED_AFTER),
        ])
        if stale_sudo:
            stale_sudo._didww_fail("sms_server", self.env._(
                "Sending was interrupted: DIDWW may or may not have received this SMS. Check the SMS log "
                "in the DIDWW panel before sending it again."))

    def _send(self, unlink_failed=False, unlink_sent=True, raise_exception=False):
        """Split the batch by provider. DIDWW SMS never reach ``super()``, so this works on 18.0
        trees with and without ``res.company._get_sms_api_class``."""
        didww_sms = self.filtered(lambda sms: sms.didww_company_id.didww_sms_active)
        other_sms = self - didww_sms
        result = None
        if other_sms:
            result = super(SmsSms, other_sms)._send(
                unlink_failed=unlink_failed, unlink_sent=unlink_sent, raise_exception=raise_exception)
        if didww_sms:
            didww_sms._didww_send(unlink_failed=unlink_failed, unlink_sent=unlink_sent, raise_exception=raise_exception)
        return result

    def _didww_lock_ready(self):
        """The SMS of ``self`` that are due and not being sent by another transaction, locked.

        ``FOR UPDATE SKIP LOCKED`` keeps a cron run and a manual send from sending the same SMS.
        """
        now = fields.Datetime.now()
        due = self.filtered(lambda sms: not sms.didww_next_attempt or sms.didww_next_attempt <= now)
        if not due:
            return due
        self.flush_model(["state", "to_delete"])
        self.env.cr.execute(
            "SELECT id FROM sms_sms WHERE id IN %s AND state = 'outgoing' AND to_delete IS NOT TRUE "
            "ORDER BY id FOR UPDATE SKIP LOCKED", [tuple(due.ids)])
        return self.browse(row[0] for row in self.env.cr.fetchall())

    def _didww_send(self, unlink_failed=False, unlink_sent=True, raise_exception=False):
        sms_sudo = self.sudo()._didww_lock_ready()  # sudo: sms.sms and sms.tracker are technical records
        for company, company_sms in sms_sudo.grouped("didww_company_id").items():
            company_sms._didww_send_company(company, unlink_failed, unlink_sent, raise_exception)
        sms_sudo.mail_message_id._notify_message_notification_update()

    def _didww_destination(self, company):
        """The recipient in E.164, using the recipient's country, then the company's."""
        self.ensure_one()
        country = self.partner_id.country_id or company.country_id
        return self.env["didww.sms.number"]._didww_e164(self.number, country)

    def _didww_send_company(self, company, unlink_failed, unlink_sent, raise_exception):
        try:
            client = company._didww_sms_client()
        except (UserError, ValueError) as exc:
            if raise_exception:
                raise
            self._didww_fail("sms_acc", str(exc), unlink_failed)
            return

        destinations = {sms.id: sms._didww_destination(company) for sms in self}
        picker = self.env["didww.sms.number"]._source_picker(company, destinations.values())
        to_send, routed = [], {}
        for sms in self:
            destination = destinations[sms.id]
            if not destination:
                sms._didww_fail("sms_number_format", self.env._(
                    "%(number)s is not a valid phone number for the recipient's country.",
                    number=sms.number or ""), unlink_failed)
                continue
            source = picker.numbers.filtered(lambda n, s=sms: n.number == s.didww_source)[:1] \
                or picker.pick(sms.didww_user_id, destination)  # a preset source (opt-out reply) wins
            if not source:
                sms._didww_fail("unknown", self.env._(
                    "No DIDWW number to send from: add an SMS number for %(company)s in Settings > DIDWW > SMS "
                    "numbers and assign it to %(user)s.",
                    company=company.name, user=sms.didww_user_id.name or self.env._("the sender")), unlink_failed)
                continue
            if not source.reformat_outbound:
                destination = phone.loose(sms.number)
            routed[sms.id] = (source, destination)
            to_send.append((sms.id, source.number, destination, sms.body or ""))

        # Queue runs (only them, like sms.send(auto_commit=True)) commit around each chunk: "process"
        # before its requests leave, the results after; a run that dies in between leaves "process"
        # rows (see _didww_fail_interrupted).
        commit = self.env.context.get("didww_auto_commit") and not getattr(threading.current_thread(), "testing", False)
        retry_at = []
        with client:
            for chunk in split_every(CHUNK_SIZE, to_send):
                if commit:
                    self.browse(key for key, *_rest in chunk).write({"state": "process"})
                    self.env.cr.commit()  # pylint: disable=invalid-commit
                for sms_id, message_id, error in client.send_many(chunk):
                    retry_at.append(self.browse(sms_id)._didww_record_result(
                        message_id, error, *routed[sms_id], unlink_sent=unlink_sent, unlink_failed=unlink_failed))
                if commit:
                    self.env.cr.commit()  # pylint: disable=invalid-commit
        if any(retry_at):
            # one wake-up of the queue for the whole batch, at the earliest retry
            self.env.ref("sms.ir_cron_sms_scheduler_action").sudo()._trigger(at=min(filter(None, retry_at)))

    def _didww_record_result(self, message_id, error, source, destination, unlink_sent, unlink_failed):
        """Record one answer of DIDWW; return when to try again (transient errors), else ``None``."""
        self.ensure_one()
        if message_id:
            self._didww_sent(message_id, source, destination, unlink_sent)
        elif error.transient:
            return self._didww_retry_later(error, unlink_failed)
        else:
            failure_type, reason = next(
                ((ftype, text) for cls, (ftype, text) in DIDWW_SEND_ERRORS.items() if isinstance(error, cls)),
                ("unknown", _lt("DIDWW refused this SMS: %(detail)s")))
            self._didww_fail(failure_type, str(reason) % {"detail": error.detail or str(error)}, unlink_failed)
        return None

    def _didww_sent(self, message_id, source, destination, unlink_sent):
        self.ensure_one()
        _logger.info("SMS %s sent through DIDWW as message %s", self.id, message_id)
        tracker = self.sms_tracker_id or self.env["sms.tracker"].sudo().create({"sms_uuid": self.uuid})
        tracker.write({"didww_message_id": message_id, "didww_company_id": self.didww_company_id.id,
                       "didww_status": "accepted", "didww_failure_reason": False})
        tracker.with_context(sms_skip_msg_notification=True)._action_update_from_sms_state("pending")
        self.write({
            "state": "pending", "failure_type": False, "didww_failure_reason": False,
            "didww_message_id": message_id, "didww_source": source.number, "didww_next_attempt": False,
            **({"to_delete": True} if unlink_sent else {}),
        })
        record = self._didww_document(self.didww_res_model or self.mail_message_id.model,
                                      self.didww_res_id or self.mail_message_id.res_id)
        self.env["didww.sms.session"]._touch_outbound(source, destination, self.didww_user_id, record, self.body)

    def _didww_retry_later(self, error, unlink_failed):
        """Transient failure: keep the SMS queued for a later attempt, a bounded number of times.
        Return the time of that attempt (``None`` once attempts are exhausted)."""
        self.ensure_one()
        attempts = self.didww_attempts + 1
        if attempts >= MAX_ATTEMPTS:
            self._didww_fail("sms_server", self.env._(
                "DIDWW could not be reached after %(attempts)s attempts: %(error)s",
                attempts=attempts, error=str(error)), unlink_failed)
            return None
        delay = BACKOFF_SECONDS[min(attempts - 1, len(BACKOFF_SECONDS) - 1)]
        if error.retry_after:
            delay = max(delay, min(error.retry_after, 3600))
        next_attempt = fields.Datetime.now() + timedelta(seconds=delay)
        _logger.info("SMS %s: DIDWW transient error (%s), attempt %s, retry at %s",
                     self.id, error, attempts, next_attempt)
        self.write({
            "state": "outgoing", "didww_attempts": attempts, "didww_next_attempt": next_attempt,
            "didww_failure_reason": str(error)[:250],
        })
        return next_attempt

    def _didww_fail(self, failure_type, reason, unlink_failed=False):
        _logger.info("SMS %s not sent through DIDWW: %s", self.ids, reason)
        self.sms_tracker_id._action_update_from_sms_state(
            "error", failure_type=failure_type, failure_reason=reason)
        self._didww_log_not_sent(reason)
        self.write({
            "state": "error", "failure_type": failure_type, "didww_failure_reason": reason,
            "didww_next_attempt": False, **({"to_delete": True} if unlink_failed else {}),
        })

    def _didww_log_not_sent(self, reason=None):
        """Post why an SMS without a chatter message (mass, automated) was not sent on its document."""
        labels = dict(self._fields["failure_type"]._description_selection(self.env))
        labels.update({  # Odoo's labels of the skips say too little to a salesperson
            "sms_blacklist": self.env._("the customer opted out (SMS blacklist)"),
            "sms_optout": self.env._("the customer opted out of this mailing list"),
            "sms_duplicate": self.env._("the same number was already texted in this batch"),
        })
        for sms in self.filtered(lambda sms: not sms.mail_message_id):
            record = self._didww_document(sms.didww_res_model, sms.didww_res_id)
            if not record or not hasattr(record, "_message_log"):
                continue
            why = reason or sms.didww_failure_reason or labels.get(sms.failure_type) or self.env._("Unknown error")
            record._message_log(body=Markup("<p>{}</p><p>{}</p>").format(
                self.env._("SMS to %(number)s not sent: %(reason)s", number=sms.number or "-", reason=why),
                sms.body or ""))

    def resend_failed(self):
        self.filtered(lambda sms: sms.state == "error").write({"didww_attempts": 0, "didww_next_attempt": False})
        return super().resend_failed()
