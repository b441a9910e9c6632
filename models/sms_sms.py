from odoo import api, fields, models
from odoo.addons.sms.models.sms_sms import SmsSms as OdooSmsSms
from odoo.tools import SQL, groupby

from ..tools.didww_sms_api import RETRY_STATE, DidwwSmsApi
from . import didww_sms_not_sent, didww_sms_queue, didww_sms_recording


class SmsSms(models.Model):
    """Which provider an SMS leaves through, and what is kept of DIDWW's answers.

    DIDWW companies' SMS go to :class:`DidwwSmsApi` (``tools/didww_sms_api.py``), which sends and
    answers a result per uuid; Odoo's ``_send_with_api`` records those (``_didww_record_results``
    where Odoo has none), :meth:`_handle_call_result_hook` keeps what is DIDWW's. The queue's
    pipeline is ``didww_sms_queue.py``, the SQL that records a chunk ``didww_sms_recording.py``,
    what is told of an SMS not sent ``didww_sms_not_sent.py``.
    """

    _inherit = "sms.sms"

    # a transient failure keeps the SMS queued for a later attempt (see _handle_call_result_hook)
    IAP_TO_SMS_STATE_SUCCESS = {**OdooSmsSms.IAP_TO_SMS_STATE_SUCCESS, RETRY_STATE: "outgoing"}

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
    didww_by_hand = fields.Boolean(
        "Texted by hand", readonly=True, copy=False,
        help="A person texted this one customer from the composer: quiet hours for mass and automated SMS "
             "do not hold it.")
    didww_send_now = fields.Boolean(
        "Send now", readonly=True, copy=False, help="The person texting chose to send outside quiet hours.")
    didww_keyword_reply = fields.Boolean(
        "Keyword reply", readonly=True, copy=False,
        help="The answer to a customer's STOP, START or HELP: sent whatever the consent and the hour.")
    didww_error_kind = fields.Char(
        "Last DIDWW error", readonly=True, copy=False,
        help="How the last attempt failed: timeout, dropped, refused, status (429/5xx).")
    didww_reason = fields.Char(
        "Reason", compute="_compute_didww_reason",
        help="Why the SMS is not sent (yet): DIDWW's reason for an SMS sent through DIDWW, else Odoo's.")

    @api.depends("failure_type", "didww_failure_reason")
    def _compute_didww_reason(self):
        # Odoo's labels speak of IAP ("Unregistered Account", "Unknown error"): not DIDWW's reasons
        labels = dict(self._fields["failure_type"]._description_selection(self.env))
        for sms in self:
            sms.didww_reason = sms.didww_failure_reason or labels.get(sms.failure_type) or False

    # ------------------------------------------------------------
    # CRUD: the origin of an SMS
    # ------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        defaults = None
        by_hand = self.env.context.get("didww_by_hand")
        for vals in vals_list:
            if by_hand:  # the composer on one document, a person texting (see sms.composer)
                vals.setdefault("didww_by_hand", True)
                vals.setdefault("didww_send_now", bool(self.env.context.get("didww_send_now")))
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
        record_sudo = self.env["didww.sms.document"].sudo()._didww_document(message_sudo.model, message_sudo.res_id)
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

    def _split_by_api(self):
        # 18.0 revisions with the provider hook: a batch per DIDWW company first (as sms_twilio
        # splits its companies), every other SMS to the next provider in line
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
        # DIDWW SMS commit chunk by chunk on their own (see didww_sms_queue): one batch keeps
        # DIDWW's requests flowing instead of draining the pipeline every sms.session.batch.size
        if self and len(self._didww_filter()) == len(self):
            yield self.ids
        else:
            yield from super()._split_batch()

    def _didww_filter(self):
        """The SMS of ``self`` that leave through DIDWW."""
        return self.filtered(lambda sms: sms.didww_company_id.didww_sms_active)

    def _send(self, unlink_failed=False, unlink_sent=True, raise_exception=False):
        """DIDWW SMS go to :class:`DidwwSmsApi` through the queue's pipeline, every other SMS to
        ``super()``. With the provider hook ``_split_by_api`` already gave DIDWW SMS their own
        batches (and their provider in context); 18.0 as first released mixes them in a batch."""
        didww_sms = self._didww_filter()
        if self - didww_sms:
            super(SmsSms, self - didww_sms)._send(
                unlink_failed=unlink_failed, unlink_sent=unlink_sent, raise_exception=raise_exception)
        if not didww_sms:
            return
        context_api = self.env.context.get("sms_api")
        ready_sudo = didww_sms.sudo()._didww_lock_ready()  # sudo: sms.sms and sms.tracker are technical records
        for company, company_sms in ready_sudo.grouped("didww_company_id").items():
            sms_api = context_api if isinstance(context_api, DidwwSmsApi) and context_api.company == company \
                else DidwwSmsApi(self.env)
            sms_api._set_company(company)
            didww_sms_queue.send(company_sms, sms_api, unlink_failed=unlink_failed, unlink_sent=unlink_sent,
                                 raise_exception=raise_exception)

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

    def _didww_send_with_api(self, sms_api, unlink_failed=False, unlink_sent=True, raise_exception=False):
        """Odoo's ``_send_with_api`` where it exists (it sends and records); on 18.0 as first
        released, the same: the provider's batch, then :meth:`_didww_record_results`."""
        if hasattr(self, "_send_with_api"):
            return self._send_with_api(sms_api, unlink_failed=unlink_failed, unlink_sent=unlink_sent,
                                       raise_exception=raise_exception)
        messages = [{"content": body, "numbers": [{"number": sms.number, "uuid": sms.uuid} for sms in body_sms]}
                    for body, body_sms in self.grouped("body").items()]
        results = sms_api._send_sms_batch(messages)
        return self._didww_record_results(sms_api, results, unlink_failed=unlink_failed, unlink_sent=unlink_sent)

    def _didww_record_results(self, sms_api, results, unlink_failed=False, unlink_sent=False):
        """Record a provider's ``results`` as Odoo's ``_send_with_api`` does on the 18.0 revisions
        that have it (this is its copy for the others, and for direct callers of the provider)."""
        all_sms_sudo = self.env["sms.sms"].sudo().search([("uuid", "in", [result["uuid"] for result in results])]) \
            .with_context(sms_skip_msg_notification=True)  # sudo: technical records, as Odoo does
        by_uuid = all_sms_sudo.grouped("uuid")
        for (state, failure_reason), group in groupby(results, key=lambda r: (r["state"], r.get("failure_reason"))):
            sms_sudo = all_sms_sudo.browse(by_uuid[r["uuid"]].id for r in group if r["uuid"] in by_uuid)
            if success_state := self.IAP_TO_SMS_STATE_SUCCESS.get(state):
                sms_sudo.sms_tracker_id._action_update_from_sms_state(success_state)
                sms_sudo.write({"state": success_state, "failure_type": False,
                                **({"to_delete": True} if unlink_sent else {})})
            else:
                failure_type = sms_api.PROVIDER_TO_SMS_FAILURE_TYPE.get(state, "unknown")
                sms_sudo.sms_tracker_id._action_update_from_sms_state(
                    "error", failure_type=failure_type, failure_reason=failure_reason)
                sms_sudo.write({"state": "error", "failure_type": failure_type,
                                **({"to_delete": True} if unlink_failed else {})})
        all_sms_sudo._handle_call_result_hook(results)
        all_sms_sudo.mail_message_id._notify_message_notification_update()

    # ------------------------------------------------------------
    # Results and failures
    # ------------------------------------------------------------

    def _handle_call_result_hook(self, results):
        """Keep what is DIDWW's of each result: message id and source of the sent SMS, the next
        attempt of the retried ones, the reason (and a note on the document) of the failed ones."""
        didww_sms = self.filtered("didww_company_id")
        by_uuid = didww_sms.grouped("uuid")
        outcomes = {"sent": [], "retry": [], "failed": []}
        for result in results:
            sms = by_uuid.get(result["uuid"])
            if not sms:
                continue
            if result["state"] in ("success", "sent") and result.get("didww_message_id"):
                outcomes["sent"].append((sms, result))
            elif result["state"] == RETRY_STATE:
                outcomes["retry"].append((sms, result))
            elif not self.IAP_TO_SMS_STATE_SUCCESS.get(result["state"]):
                outcomes["failed"].append((sms, result))
        if outcomes["sent"]:
            didww_sms_recording.record_sent(self.env, outcomes["sent"])
        if outcomes["retry"]:
            didww_sms_recording.record_retries(self.env, outcomes["retry"])
        if outcomes["failed"]:
            didww_sms_recording.record_failures(self.env, outcomes["failed"])
            self.browse(sms.id for sms, _result in outcomes["failed"])._didww_log_not_sent()
        others = self - didww_sms
        if others and hasattr(super(), "_handle_call_result_hook"):
            return super(SmsSms, others)._handle_call_result_hook(results)
        return None

    @api.model
    def _process_queue(self, ids=None):
        didww_sms_not_sent.fail_interrupted(self.env)
        result = super()._process_queue(ids=ids)
        # held and retried SMS wait for their time: wake the queue for the next one (the hourly
        # run would be late for a quiet-hours window opening at 08:00)
        now = fields.Datetime.now()
        next_sms = self.sudo().search([("state", "=", "outgoing"), ("didww_next_attempt", ">", now)],
                                      order="didww_next_attempt", limit=1)
        cron = self.env.ref("sms.ir_cron_sms_scheduler_action").sudo()
        if next_sms and not self.env["ir.cron.trigger"].sudo().search_count([  # sudo: the queue's own wake-ups
                ("cron_id", "=", cron.id), ("call_at", ">", now), ("call_at", "<=", next_sms.didww_next_attempt)],
                limit=1):
            cron._trigger(at=next_sms.didww_next_attempt)
        return result

    def _didww_destination(self, company):
        """The recipient in E.164, using the recipient's country, then the company's."""
        self.ensure_one()
        country = self.partner_id.country_id or company.country_id
        return self._didww_e164(self.number, country)

    def _didww_log_not_sent(self, reason=None):
        """Post why an SMS without a chatter message (mass, automated) was not sent on its document."""
        didww_sms_not_sent.log_not_sent(self, reason)

    def resend_failed(self):
        self.filtered(lambda sms: sms.state == "error").write(
            {"didww_attempts": 0, "didww_next_attempt": False, "didww_error_kind": False})
        return super().resend_failed()
