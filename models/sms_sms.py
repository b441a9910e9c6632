import logging
import threading
from collections import deque
from datetime import timedelta

from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL, split_every
from odoo.tools.translate import LazyTranslate

from ..tools import phone
from ..tools.didww_http import DidwwAuthError, DidwwBadRequestError, DidwwNetworkError, DidwwNotFoundError
from .didww_sms_api import SMS_API_HOOK, DidwwSmsApi

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

    # Relational fields: sms.sms is readable by administrators only (Odoo's access rights), who read
    # every company and user; the document is a bare id.
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
    didww_error_kind = fields.Char(
        "Last DIDWW error", readonly=True, copy=False,
        help="How the last attempt failed: timeout, dropped, refused, status (429/5xx).")

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
    # Routing: DIDWW companies go to DIDWW, every other SMS keeps its provider
    # ------------------------------------------------------------

    def send(self, unlink_failed=False, unlink_sent=True, auto_commit=False, raise_exception=False):
        # _send needs to know whether it may commit (the queue does, a user's request does not)
        return super(SmsSms, self.with_context(didww_auto_commit=auto_commit)).send(
            unlink_failed=unlink_failed, unlink_sent=unlink_sent, auto_commit=auto_commit,
            raise_exception=raise_exception)

    if SMS_API_HOOK:
        # 18.0 revisions with res.company._get_sms_api_class: a batch per provider, DIDWW companies
        # first (as sms_twilio splits its companies), every other SMS to the next provider in line.
        def _split_by_api(self):
            didww_sms = self._didww_filter()
            for company, company_sms in didww_sms.grouped("didww_company_id").items():
                sms_api = DidwwSmsApi(self.env)
                sms_api._set_company(company)
                yield sms_api, company_sms
            if self - didww_sms:
                yield from super(SmsSms, self - didww_sms)._split_by_api()

        def _get_sms_company(self):
            # a DIDWW SMS belongs to the company recorded at its creation (the cron runs as OdooBot)
            return self._didww_filter().didww_company_id[:1] or super()._get_sms_company()

    def _split_batch(self):
        # DIDWW SMS commit chunk by chunk on their own (see _didww_send_company): one batch keeps
        # DIDWW's requests flowing instead of draining the pipeline every sms.session.batch.size
        if self and len(self._didww_filter()) == len(self):
            yield self.ids
        else:
            yield from super()._split_batch()

    def _didww_filter(self):
        """The SMS of ``self`` that leave through DIDWW."""
        return self.filtered(lambda sms: sms.didww_company_id.didww_sms_active)

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
        """DIDWW SMS go to :meth:`_didww_send`, never to ``super()``. Without the provider hook
        (18.0 as first released) this is the split; with it, ``_split_by_api`` already gave DIDWW
        SMS their own batches and this only keeps them away from any other provider."""
        didww_sms = self._didww_filter()
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
        if not self:
            return self
        self.flush_model(["state", "to_delete", "didww_next_attempt"])
        self.env.cr.execute(SQL(
            "SELECT id FROM sms_sms WHERE id IN %s AND state = 'outgoing' AND to_delete IS NOT TRUE "
            "AND (didww_next_attempt IS NULL OR didww_next_attempt <= %s) ORDER BY id FOR UPDATE SKIP LOCKED",
            tuple(self.ids), fields.Datetime.now()))
        return self.browse(row[0] for row in self.env.cr.fetchall())

    def _didww_send(self, unlink_failed=False, unlink_sent=True, raise_exception=False):
        """Send through DIDWW: the one code path, whichever way the SMS got here."""
        sms_sudo = self.sudo()._didww_lock_ready()  # sudo: sms.sms and sms.tracker are technical records
        for company, company_sms in sms_sudo.grouped("didww_company_id").items():
            company_sms._didww_send_company(company, unlink_failed, unlink_sent, raise_exception)
        sms_sudo.mail_message_id._notify_message_notification_update()

    def _didww_destination(self, company):
        """The recipient in E.164, using the recipient's country, then the company's."""
        self.ensure_one()
        country = self.partner_id.country_id or company.country_id
        return self.env["didww.sms.number"]._didww_e164(self.number, country)

    def _didww_route(self, company, unlink_failed):
        """``[(sms, source number, destination)]`` for the SMS of ``self`` that can leave; the
        others fail here with their reason, before anything is sent."""
        destinations = {sms.id: sms._didww_destination(company) for sms in self}
        picker = self.env["didww.sms.number"]._source_picker(company, destinations.values())
        routed, no_source = [], self.browse()
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
                no_source |= sms
                continue
            routed.append((sms, source, destination if source.reformat_outbound else phone.loose(sms.number)))
        for user, user_sms in no_source.grouped("didww_user_id").items():
            user_sms._didww_fail("unknown", self.env._(
                "No DIDWW number to send from: add an SMS number for %(company)s in Settings > DIDWW > SMS "
                "numbers and assign it to %(user)s.",
                company=company.name, user=user.name or self.env._("the sender")), unlink_failed)
        return routed

    def _didww_send_company(self, company, unlink_failed, unlink_sent, raise_exception):
        """Send the SMS of one company, pipelined: while DIDWW answers one chunk, the next chunk's
        requests are already in flight and this thread records the answers of the previous one.

        Queue runs (only them, like ``sms.send(auto_commit=True)``) commit each chunk as "process"
        before its requests leave, and the answers after; a run that dies in between leaves
        "process" rows (see :meth:`_didww_fail_interrupted`), never an SMS sent twice.
        Worker threads only do HTTP: every database access stays in this thread.
        """
        try:
            client = company._didww_sms_client()
        except (UserError, ValueError) as exc:
            if raise_exception:
                raise
            self._didww_fail("sms_acc", str(exc), unlink_failed)
            return
        commit = self.env.context.get("didww_auto_commit") and not getattr(threading.current_thread(), "testing", False)
        chunk_size = max(CHUNK_SIZE, 8 * client.max_workers)  # eight rounds of requests per chunk
        retry_at = []
        in_flight = deque()  # (chunk, futures), at most two chunks
        with client:
            for chunk_ids in split_every(chunk_size, self.ids):
                records = self.browse(chunk_ids)
                if commit:
                    # the first commit released the batch's row locks: lock this chunk again, so
                    # that SMS another run took meanwhile are skipped, not sent twice
                    records = records._didww_lock_ready()
                # routed here, chunk by chunk, while the previous chunk's requests are in flight
                chunk = records._didww_route(company, unlink_failed)
                if not chunk:
                    continue
                if commit:
                    self._didww_mark_processing([sms for sms, _source, _destination in chunk])
                    self.env.cr.commit()  # pylint: disable=invalid-commit
                in_flight.append((chunk, [client.submit(source.number, destination, sms.body or "")
                                          for sms, source, destination in chunk]))
                if len(in_flight) > 1:
                    retry_at += self._didww_record_chunk(*in_flight.popleft(), unlink_sent, unlink_failed)
                    if commit:
                        self.env.cr.commit()  # pylint: disable=invalid-commit
            while in_flight:
                retry_at += self._didww_record_chunk(*in_flight.popleft(), unlink_sent, unlink_failed)
                if commit:
                    self.env.cr.commit()  # pylint: disable=invalid-commit
        if retry_at:
            # one wake-up of the queue for the whole batch, at the earliest retry
            self.env.ref("sms.ir_cron_sms_scheduler_action").sudo()._trigger(at=min(retry_at))

    def _didww_mark_processing(self, sms_list):
        self.env.cr.execute(SQL(
            "UPDATE sms_sms SET state = 'process', write_date = %s, write_uid = %s WHERE id IN %s",
            fields.Datetime.now(), self.env.uid, tuple(sms.id for sms in sms_list)))
        self.browse(sms.id for sms in sms_list).invalidate_recordset(["state", "write_date", "write_uid"])

    def _didww_record_chunk(self, chunk, futures, unlink_sent, unlink_failed):
        """Record DIDWW's answers to one chunk, in a few queries whatever its size; return the
        times of the retries it scheduled."""
        sent, retry, failed = [], {}, {}
        for (sms, source, destination), future in zip(chunk, futures, strict=True):
            message_id, error = future.result()
            if message_id:
                sent.append((sms, message_id, source, destination))
            elif error.transient:
                retry[sms.id] = error
            else:
                key = self._didww_permanent_failure(sms, error)
                failed[key] = failed.get(key, self.browse()) | sms
        if sent:
            self._didww_record_sent(sent, unlink_sent)
        for (failure_type, reason), failed_sms in failed.items():
            failed_sms._didww_fail(failure_type, reason, unlink_failed)
        return self.browse(retry)._didww_retry_later(retry, unlink_failed) if retry else []

    def _didww_permanent_failure(self, sms, error):
        """(failure type, reason) of an error that sending again will not fix."""
        if isinstance(error, DidwwNetworkError):
            return "sms_server", self._didww_url_reason(sms.didww_company_id, error)
        failure_type, reason = next(
            ((ftype, text) for cls, (ftype, text) in DIDWW_SEND_ERRORS.items() if isinstance(error, cls)),
            ("unknown", _lt("DIDWW refused this SMS: %(detail)s")))
        return failure_type, str(reason) % {"detail": error.detail or str(error)}

    @api.model
    def _didww_url_reason(self, company, error):
        return self.env._(
            "%(error)s at %(url)s. Check the Outbound SMS API URL in Settings > General Settings > "
            "Integrations > DIDWW (and that this server can reach it).",
            error=str(error), url=company.sudo().didww_sms_api_url or "")

    def _didww_record_sent(self, sent, unlink_sent):
        """DIDWW accepted these SMS: ``sent`` is ``[(sms, message id, source number, destination)]``."""
        _logger.info("%s SMS sent through DIDWW", len(sent))
        sms_all = self.browse(sms.id for sms, *_rest in sent)
        self.env["sms.tracker"].flush_model()
        trackers = sms_all.sms_tracker_id  # one search by uuid for the whole chunk
        tracker_by_uuid = {tracker.sms_uuid: tracker for tracker in trackers}
        new_trackers = [{"sms_uuid": sms.uuid, "didww_message_id": message_id,
                         "didww_company_id": sms.didww_company_id.id, "didww_status": "accepted"}
                        for sms, message_id, *_rest in sent if sms.uuid not in tracker_by_uuid]
        if new_trackers:
            self.env["sms.tracker"].sudo().create(new_trackers)
        if tracker_by_uuid:
            self.env.cr.execute(SQL(
                "UPDATE sms_tracker t SET didww_message_id = v.message_id, didww_company_id = v.company_id, "
                "didww_status = 'accepted', didww_failure_reason = NULL, write_date = %s "
                "FROM (VALUES %s) AS v(id, message_id, company_id) WHERE t.id = v.id",
                fields.Datetime.now(), SQL(", ").join(
                    SQL("(%s, %s, %s)", tracker_by_uuid[sms.uuid].id, message_id, sms.didww_company_id.id)
                    for sms, message_id, *_rest in sent if sms.uuid in tracker_by_uuid)))
            trackers.invalidate_recordset(["didww_message_id", "didww_company_id", "didww_status",
                                           "didww_failure_reason"])
            trackers.with_context(sms_skip_msg_notification=True)._action_update_from_sms_state("pending")
        sms_all.flush_recordset()
        self.env.cr.execute(SQL(
            "UPDATE sms_sms s SET state = 'pending', failure_type = NULL, didww_failure_reason = NULL, "
            "didww_error_kind = NULL, didww_next_attempt = NULL, didww_message_id = v.message_id, "
            "didww_source = v.source, to_delete = %s, write_date = %s, write_uid = %s "
            "FROM (VALUES %s) AS v(id, message_id, source) WHERE s.id = v.id",
            bool(unlink_sent), fields.Datetime.now(), self.env.uid,
            SQL(", ").join(SQL("(%s, %s, %s)", sms.id, message_id, source.number)
                           for sms, message_id, source, _destination in sent)))
        sms_all.invalidate_recordset(["state", "failure_type", "didww_failure_reason", "didww_error_kind",
                                      "didww_next_attempt", "didww_message_id", "didww_source", "to_delete",
                                      "write_date", "write_uid"])
        documents = self._didww_documents(sms_all)
        self.env["didww.sms.session"]._touch_outbound_many([
            (source, destination, sms.didww_user_id, documents.get(sms.id), sms.body)
            for sms, _message_id, source, destination in sent])

    def _didww_documents(self, sms_all):
        """``{sms id: document}`` for the SMS of ``sms_all`` whose document still exists, one query per model."""
        wanted = {}
        for sms in sms_all:
            model = sms.didww_res_model or sms.mail_message_id.model
            res_id = sms.didww_res_id or sms.mail_message_id.res_id
            if model and res_id and model in self.env:
                wanted.setdefault(model, {})[sms.id] = res_id
        documents = {}
        for model, res_ids in wanted.items():
            existing = set(self.env[model].browse(set(res_ids.values())).exists().ids)
            documents.update({sms_id: self.env[model].browse(res_id)
                              for sms_id, res_id in res_ids.items() if res_id in existing})
        return documents

    def _didww_retry_later(self, errors, unlink_failed):
        """Transient failures (``errors``: ``{sms id: DidwwError}``): keep the SMS queued for a later attempt, a
        bounded number of times, and say so on its notification. A connection refused twice in a row,
        like an unresolvable host or a failed TLS handshake, fails at once: retrying will not fix
        the URL. Return the times of the attempts scheduled."""
        retry_at = []
        now = fields.Datetime.now()
        backoff = self._didww_backoff()
        for sms in self:
            error = errors[sms.id]
            attempts = sms.didww_attempts + 1
            if getattr(error, "kind", None) == "refused" and sms.didww_error_kind == "refused":
                sms._didww_fail("sms_server", self._didww_url_reason(sms.didww_company_id, error), unlink_failed)
                continue
            if attempts >= MAX_ATTEMPTS:
                sms._didww_fail("sms_server", self.env._(
                    "DIDWW could not be reached after %(attempts)s attempts: %(error)s",
                    attempts=attempts, error=str(error)), unlink_failed)
                continue
            delay = backoff[min(attempts - 1, len(backoff) - 1)]
            if error.retry_after:
                delay = max(delay, min(error.retry_after, 3600))
            next_attempt = now + timedelta(seconds=delay)
            reason = self.env._(
                "Attempt %(attempt)s of %(max)s failed: %(error)s. Next try at %(when)s.",
                attempt=attempts, max=MAX_ATTEMPTS, error=str(error),
                when=fields.Datetime.to_string(next_attempt) + " UTC")
            _logger.info("SMS %s: %s", sms.id, reason)
            sms.write({
                "state": "outgoing", "didww_attempts": attempts, "didww_next_attempt": next_attempt,
                "didww_failure_reason": reason[:250],
                "didww_error_kind": getattr(error, "kind", None) or "status",
            })
            # the message's SMS notification says it is retrying, and why (it stays "ready")
            sms.sms_tracker_id.mail_notification_id.filtered(
                lambda notification: notification.notification_status in ("ready", "process")
            ).write({"notification_status": "ready", "failure_reason": reason})
            retry_at.append(next_attempt)
        return retry_at

    @api.model
    def _didww_backoff(self):
        """Seconds before each retry: system parameter ``didww_connector.retry_backoff`` (comma
        separated, e.g. ``1,2,3,4,5`` for the fault scripts), else :data:`BACKOFF_SECONDS`."""
        value = self.env["ir.config_parameter"].sudo().get_param("didww_connector.retry_backoff")
        try:
            backoff = tuple(max(0.0, float(part)) for part in value.split(",")) if value else ()
        except ValueError:
            backoff = ()
        return backoff or BACKOFF_SECONDS

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
        self.filtered(lambda sms: sms.state == "error").write(
            {"didww_attempts": 0, "didww_next_attempt": False, "didww_error_kind": False})
        return super().resend_failed()
