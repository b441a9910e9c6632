from datetime import timedelta

from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import AccessError

END_STATES = ("done", "missed", "declined", "busy", "failed", "dropped", "interrupted")
LIVE_STATES = ("calling", "ringing", "in_progress")
END_CAUSES = [
    ("local", "Hung up by us"),
    ("remote", "Hung up by them"),
    ("dropped", "Dropped"),
    ("failed", "Failed"),
    ("interrupted", "Interrupted"),
    ("transferred", "Transferred by us"),
    ("transferred_by_them", "Transferred by them"),
]
# the softphone confirms a live call every HEARTBEAT seconds; a call silent for INTERRUPTED_AFTER is
# one whose browser vanished (tab closed, computer asleep, crash): the cron closes it
HEARTBEAT = 60
INTERRUPTED_AFTER = timedelta(minutes=3)
# an incoming call ending so was not answered: the caller gets a call back (and maybe a text)
UNANSWERED_STATES = ("missed", "declined", "busy")
MISSED_CALL_SMS_EVERY = timedelta(hours=1)
# a number this short is an extension of the PBX: dialled as typed, never turned into E.164
MAX_EXTENSION_DIGITS = 6


def format_duration(seconds):
    minutes, seconds = divmod(int(seconds or 0), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes:02d}:{seconds:02d}"


class DidwwCall(models.Model):
    _name = "didww.call"
    _description = "Softphone call"
    _order = "start desc, id desc"

    # Calls are written only by the softphone's methods below (users have no create or write right:
    # a call in a colleague's log, or on a contact, cannot be forged). Relational fields: a user reads
    # only their own calls (record rules), whose contact and document were readable by them when the
    # call was logged (checked below); users and companies are readable by every internal user.
    direction = fields.Selection([("outgoing", "Outgoing"), ("incoming", "Incoming")], required=True,
                                 readonly=True)
    number = fields.Char(required=True, readonly=True, help="The other party's number (E.164 when it is one)")
    partner_id = fields.Many2one("res.partner", "Contact", readonly=True, index="btree_not_null",
                                 ondelete="set null")
    res_model = fields.Char("Document Model", readonly=True)
    res_id = fields.Many2oneReference("Document", model_field="res_model", readonly=True)
    user_id = fields.Many2one("res.users", required=True, readonly=True, index=True,
                              default=lambda self: self.env.user, ondelete="cascade")
    company_id = fields.Many2one("res.company", required=True, readonly=True, index=True,
                                 default=lambda self: self.env.company)
    start = fields.Datetime(required=True, readonly=True, default=fields.Datetime.now)
    answered_at = fields.Datetime("Answered", readonly=True)
    duration = fields.Integer("Duration (seconds)", readonly=True, help="From answer to hang-up")
    duration_display = fields.Char("Duration", compute="_compute_duration_display")
    state = fields.Selection([
        ("calling", "Calling"),
        ("ringing", "Ringing"),
        ("in_progress", "In progress"),
        ("done", "Done"),
        ("missed", "Missed"),
        ("declined", "Declined"),
        ("busy", "Busy"),
        ("failed", "Failed"),
        ("dropped", "Dropped"),
        ("interrupted", "Interrupted"),
    ], required=True, readonly=True, default="calling")
    failure_reason = fields.Char(readonly=True)
    # calls read from DIDWW's call records (didww.cdr.export): logged by the import, or a softphone
    # call the import found in them
    source = fields.Selection([("softphone", "Softphone"), ("didww", "DIDWW call record")], default="softphone",
                              required=True, readonly=True,
                              help="Softphone: logged by the user's softphone. DIDWW call record: a call "
                                   "on a DIDWW number that the softphone did not see (a desk phone, a mobile "
                                   "app, another PBX extension), read from DIDWW's call records.")
    didww_disposition = fields.Char("DIDWW disposition", readonly=True,
                                    help="How the call ended according to DIDWW's call record.")
    didww_cdr_id = fields.Char("DIDWW call record", readonly=True, copy=False, index="btree_not_null",
                               help="Identifies DIDWW's record of the call: a call is logged once per record.")
    didww_number = fields.Char("DIDWW number", readonly=True,
                               help="The company's DIDWW number the call went through (from DIDWW's record).")

    _sql_constraints = [
        ("didww_cdr_id_company_unique", "unique(company_id, didww_cdr_id)",
         "This DIDWW call record is already logged."),
    ]
    end_cause = fields.Selection(END_CAUSES, readonly=True,
                                 help="Who or what ended the call: us, the other party, a lost connection, "
                                      "a failure, or the browser vanishing mid-call (closed by the server)")
    transfer_target = fields.Char("Transferred to", readonly=True,
                                  help="The number or extension the call was handed to")
    call_back_sms_at = fields.Datetime("Missed-call text sent", readonly=True,
                                       help="When the caller was texted about this missed call")
    last_seen = fields.Datetime("Last seen alive", readonly=True,
                                help="The softphone confirms a call in progress every minute; a call not "
                                     "confirmed for a few minutes is closed as interrupted")

    @api.depends("duration")
    def _compute_duration_display(self):
        for call in self:
            call.duration_display = format_duration(call.duration)

    @api.depends("direction", "number", "partner_id")
    def _compute_display_name(self):
        for call in self:
            who = call.partner_id.name or call.number
            call.display_name = (self.env._("Call to %s", who) if call.direction == "outgoing"
                                 else self.env._("Call from %s", who))

    @api.model
    def get_empty_list_help(self, help_message):
        """The Calls page with no call: what fills it, for this user."""
        user = self.env.user
        if user._didww_has_softphone():
            text = self.env._("Calls placed and received with the softphone (the phone icon in the top bar) "
                              "are logged here.")
        elif not user._is_system():
            text = self.env._(
                "Your calls are logged here once you have the softphone: enter the VoIP provider and username "
                "your administrator gave you in your Preferences (VoIP tab).")
        else:
            text = self.env._(
                "Your users' calls are logged here. A user gets the softphone (a phone icon in the top bar) "
                "once they have a VoIP provider and username in their Preferences (or in their user form, "
                "VoIP tab): then the Calls menu shows for them too.")
        # sudo: whether the company imports DIDWW's call records is an admin-only setting, read to explain
        if self.env.company.sudo().didww_cdr_import:
            text += " " + self.env._("Calls on your DIDWW numbers answered elsewhere (a desk phone, a mobile app) "
                                     "are added from DIDWW's call records.")
        return super().get_empty_list_help(Markup(
            '<p class="o_view_nocontent_smiling_face">%s</p><p>%s</p>') % (self.env._("No call yet"), text))

    # ------------------------------------------------------------------------------------------
    # Called by the softphone (static/src/softphone/softphone_service.js)
    # ------------------------------------------------------------------------------------------

    @api.model
    def didww_outgoing(self, number, res_model=False, res_id=False):
        """Log a call the user is placing; return what to dial (E.164 with the document's or
        the company's country, an extension as typed) and who it is."""
        document = self._didww_readable(self.env["sms.sms"]._didww_document(res_model, res_id))
        country = document["country_id"] if document and "country_id" in document._fields else None
        company = self.env["sms.sms"]._didww_company_of(document)
        country = country or company.country_id
        compact = "".join(ch for ch in (number or "") if ch.isdigit() or ch == "+")
        if not compact:
            return {"error": self.env._("There is no number to call.")}
        if len(compact.lstrip("+")) <= MAX_EXTENSION_DIGITS:
            dial = compact
        else:
            dial = self.env["didww.sms.number"]._didww_e164(number, country) or compact
        if not document:
            # dialled from the dial pad: the contact, open lead or colleague with that number
            document = self._didww_find_party(dial)
        partner = self._didww_partner_of(document)
        # sudo: users cannot create calls; this one is the user's own, on what they may read
        call = self.sudo().create({
            "user_id": self.env.uid, "direction": "outgoing", "number": dial,
            "partner_id": partner.id if partner else False,
            "res_model": document._name if document else False, "res_id": document.id if document else False,
            "company_id": company.id, "state": "calling",
        })
        return {"id": call.id, "number": dial, "name": (document.display_name if document else False)}

    @api.model
    def didww_incoming(self, number, display_name=False):
        """Log a call ringing for the user; return the caller's name when a contact or an open
        lead has that number."""
        compact = "".join(ch for ch in (number or "") if ch.isdigit() or ch == "+")
        Number = self.env["didww.sms.number"]
        number = (Number._didww_e164(compact) if len(compact.lstrip("+")) > MAX_EXTENSION_DIGITS else None) or compact \
            or display_name or "?"
        document = self._didww_find_party(number)
        partner = self._didww_partner_of(document)
        # sudo: users cannot create calls; this one is the user's own, on what they may read
        call = self.sudo().create({
            "user_id": self.env.uid, "company_id": self.env.company.id, "direction": "incoming", "number": number,
            "partner_id": partner.id if partner else False,
            "res_model": document._name if document else False, "res_id": document.id if document else False,
            "state": "ringing",
        })
        return {"id": call.id, "number": number, "name": document.display_name if document else display_name}

    def didww_answered(self):
        # sudo: users cannot write calls; the softphone updates the user's own
        self._didww_own().sudo().filtered(lambda c: c.state in ("calling", "ringing")).write(
            {"state": "in_progress", "answered_at": fields.Datetime.now()})
        return True

    def didww_ended(self, state, failure_reason=False, end_cause=False, transfer_target=False):
        """Close the call (done, missed, declined, busy, failed, dropped) and note it on the
        document; ``end_cause`` says who or what ended it (see END_CAUSES)."""
        if state not in END_STATES or state == "interrupted":
            state = "failed"
        if end_cause not in dict(END_CAUSES):
            end_cause = {"failed": "failed", "dropped": "dropped"}.get(state, False)
        now = fields.Datetime.now()
        for call in self._didww_own().filtered(lambda c: c.state not in END_STATES):
            final = state
            if final in ("done", "dropped") and not call.answered_at:
                final = "missed" if call.direction == "incoming" else "failed"
            # sudo: users cannot write calls; the softphone closes the user's own
            call.sudo().write({
                "state": final,
                "failure_reason": (failure_reason or False) if final in ("failed", "dropped") else False,
                "end_cause": end_cause,
                "transfer_target": (transfer_target or False) if end_cause in ("transferred", "transferred_by_them")
                else False,
                "duration": int((now - call.answered_at).total_seconds()) if call.answered_at else 0,
            })
            call._didww_post_note()
            if call.direction == "incoming" and final in UNANSWERED_STATES:
                call._didww_schedule_call_back()
        return True

    def didww_alive(self):
        """The softphone's heartbeat for its live calls (every HEARTBEAT seconds): a call not
        confirmed for INTERRUPTED_AFTER is closed by ``_cron_close_interrupted``."""
        calls = self._didww_own()
        # sudo: the call log is read-only for users; ownership was checked just above
        calls.sudo().filtered(lambda c: c.state in LIVE_STATES).write({"last_seen": fields.Datetime.now()})
        return True

    @api.model
    def _cron_close_interrupted(self):
        """Close calls left live by a browser that vanished (no heartbeat for INTERRUPTED_AFTER)."""
        limit = fields.Datetime.now() - INTERRUPTED_AFTER
        stale = self.search([("state", "in", LIVE_STATES), "|", ("last_seen", "<", limit),
                             "&", ("last_seen", "=", False), ("start", "<", limit)])
        for call in stale:
            seen = call.last_seen or call.start
            call.write({
                "state": "interrupted", "end_cause": "interrupted",
                "duration": max(0, int((seen - call.answered_at).total_seconds())) if call.answered_at else 0,
            })
            call._didww_post_note()
            if call.direction == "incoming" and not call.answered_at:
                call._didww_schedule_call_back()
        return len(stale)

    def _didww_schedule_call_back(self):
        """Missed-call rescue for unanswered incoming calls: a "Call back" activity for the
        called user on the caller's contact or lead (a new contact when nobody has the number,
        as inbound SMS do), and, where the company turns it on, a text to the caller from the
        user's DIDWW number, through Odoo's sms.sms queue: never to an opted-out number, once
        an hour per caller. Runs for the called user whoever processes the call (the softphone,
        a cron, a CDR import)."""
        for call in self:
            document = call._didww_call_back_document()
            if not document:
                continue
            user = call.user_id
            Activity = self.env["mail.activity"].sudo()  # sudo: the activity is the called user's
            call_type = self.env.ref("mail.mail_activity_data_call", raise_if_not_found=False)
            pending = Activity.search_count([
                ("res_model", "=", document._name), ("res_id", "=", document.id),
                ("user_id", "=", user.id), ("activity_type_id", "=", call_type.id if call_type else False),
                ("summary", "=", self.env._("Call back")),
            ]) if call_type else 0
            if call_type and not pending:  # one call back per caller, however often they called
                document.sudo().activity_schedule(
                    act_type_xmlid="mail.mail_activity_data_call", user_id=user.id,
                    summary=self.env._("Call back"),
                    note=self.env._("%(number)s called at %(when)s and was not answered.",
                                    number=call.number, when=fields.Datetime.to_string(call.start)))
            if call.source == "softphone":  # a call found later in DIDWW's records is too old to text about
                call._didww_text_missed_caller(document)
        return True

    def _didww_call_back_document(self):
        """The caller's contact or lead for a call back; a new contact for an unknown phone number."""
        self.ensure_one()
        # sudo: the caller's document is filed for the called user, whoever processes the call
        document = self.env["sms.sms"].sudo()._didww_document(self.res_model, self.res_id) or self.partner_id.sudo()
        if document and hasattr(document, "activity_schedule"):
            return document
        if not self.number.startswith("+") or len(self.number) <= MAX_EXTENSION_DIGITS + 1:
            return None  # an extension or a hidden number: nobody to call back outside the PBX
        # as an inbound SMS from that number: its contact (in any format), else a new contact
        partner = self.env["res.partner"]._didww_find_by_phone(self.number, self.company_id)
        partner = partner or self.env["res.partner"].sudo().with_context(mail_create_nolog=True).create({
            "name": self.number, "phone": self.number,
            "country_id": self.env["didww.sms.number"]._country_from_number(self.number).id,
        })
        # sudo: the call log is read-only for users; the new contact is the caller's
        self.sudo().write({"partner_id": partner.id, "res_model": "res.partner", "res_id": partner.id})
        return partner

    def _didww_text_missed_caller(self, document):
        """Text the caller about the missed call (see ``_didww_schedule_call_back``); the sms.sms
        or None, and why not in the log note."""
        self.ensure_one()
        company = self.company_id
        text = (company.didww_missed_call_sms_text or "").strip()
        if not (company.didww_missed_call_sms and company.didww_sms_active and text):
            return None
        remote = self.env["didww.sms.number"]._didww_e164(self.number)
        if not remote or len(remote) <= MAX_EXTENSION_DIGITS + 1:
            return None
        # sudo: the blacklist, the consent ledger and other users' call logs are technical lists;
        # a number opted out of another company only may be texted (see didww.sms.consent)
        if self.env["phone.blacklist"].sudo().search_count([("number", "=", remote), ("didww_consent", "=", False)]) \
                or self.env["didww.sms.consent"].sudo()._didww_opted_out(company, [remote]):
            return None
        recent = self.sudo().search_count([
            ("company_id", "=", company.id), ("number", "=", self.number),
            ("call_back_sms_at", ">=", fields.Datetime.now() - MISSED_CALL_SMS_EVERY)])
        if recent:
            return None
        source, _reason = self.env["didww.sms.number"]._pick_source_with_reason(company, self.user_id, remote)
        if not source:
            return None
        # sudo: posted on the caller's document on behalf of the called user, whoever processes
        # the call; the called user is the author, so the reply comes back to their conversation
        message = document.sudo().with_context(mail_create_nosubscribe=True)._message_sms(
            text, partner_ids=[], sms_numbers=[remote], author_id=self.user_id.partner_id.id, put_in_queue=True)
        sms_sudo = self.env["sms.sms"].sudo().search([("mail_message_id", "=", message.id)])
        sms_sudo.write({"didww_source": source.number, "didww_user_id": self.user_id.id})
        self.sudo().write({"call_back_sms_at": fields.Datetime.now()})  # sudo: the log is read-only for users
        self.env.ref("sms.ir_cron_sms_scheduler_action").sudo()._trigger()
        return sms_sudo

    # ------------------------------------------------------------------------------------------

    def _didww_own(self):
        """These calls, checked to be the request user's own (the softphone acts on no other)."""
        self.check_access("read")
        if any(call.user_id.id != self.env.uid for call in self):
            raise AccessError(self.env._("You can only update your own calls."))
        return self

    @api.model
    def _didww_readable(self, record):
        """``record`` when the user may read it, else None: a call shows its contact's and its
        document's name to its user, so it never links what they may not open."""
        return record if record and record.has_access("read") else None

    def _didww_partner_of(self, document):
        if not document:
            return None
        if document._name == "res.partner":
            return document
        partner = document["partner_id"] if "partner_id" in document._fields else None
        return self._didww_readable(partner)

    @api.model
    def _didww_find_caller(self, number):
        """The contact with that number, else the latest open lead with it (as the user sees them)."""
        if len(number.lstrip("+")) < 3:
            return None
        company_domain = [("company_id", "in", [False, self.env.company.id])]
        partner = self.env["res.partner"].search([("phone_mobile_search", "=", number), *company_domain], limit=1)
        if partner:
            return partner
        lead = self.env["crm.lead"].search([
            ("phone_mobile_search", "=", number), *company_domain, ("stage_id.is_won", "=", False),
        ], order="create_date DESC", limit=1)
        return lead or None

    @api.model
    def _didww_find_party(self, number):
        """Who a number is: the contact or open lead with it (``_didww_find_caller``, the addon's
        one phone normaliser), else, for an extension, the colleague whose VoIP username it is."""
        document = self._didww_find_caller(number)
        if document or not number or len(number.lstrip("+")) > MAX_EXTENSION_DIGITS:
            return document
        colleague = self.env["res.users"].search([
            ("didww_voip_username", "=", number), ("share", "=", False),
            ("company_ids", "in", self.env.company.id)], limit=1)
        return colleague.partner_id or None

    def _didww_note_body(self):
        self.ensure_one()
        state = dict(self._fields["state"]._description_selection(self.env))[self.state]
        who_ended = {"local": self.env._("hung up by %s", self.user_id.name),
                     "remote": self.env._("hung up by the other party")}.get(self.end_cause, "")
        values = {"number": self.number, "user": self.user_id.name, "duration": self.duration_display,
                  "reason": self.failure_reason or state, "state": state, "ended": who_ended}
        if self.state == "done" and self.end_cause == "transferred":
            return self.env._("Call with %(number)s: %(user)s talked to them for %(duration)s, then transferred "
                              "the call to %(target)s", target=self.transfer_target or "?", **values)
        if self.state == "done" and self.end_cause == "transferred_by_them":
            return self.env._("Call with %(number)s: %(user)s talked to them for %(duration)s, then they "
                              "transferred %(user)s to %(target)s", target=self.transfer_target or "?", **values)
        if self.state == "done" and self.direction == "outgoing":
            if who_ended:
                return self.env._("Outgoing call to %(number)s by %(user)s, %(duration)s, %(ended)s", **values)
            return self.env._("Outgoing call to %(number)s by %(user)s, %(duration)s", **values)
        if self.state == "done":
            if who_ended:
                return self.env._("Incoming call from %(number)s answered by %(user)s, %(duration)s, %(ended)s",
                                  **values)
            return self.env._("Incoming call from %(number)s answered by %(user)s, %(duration)s", **values)
        if self.state == "dropped":
            return self.env._("Call with %(number)s (%(user)s) dropped after %(duration)s: %(reason)s", **values)
        if self.state == "interrupted":
            return self.env._("Call with %(number)s (%(user)s) interrupted after %(duration)s: the softphone's "
                              "browser stopped answering", **values)
        if self.state == "failed":
            return self.env._("Call to %(number)s by %(user)s failed: %(reason)s", **values)
        if self.direction == "incoming":
            return self.env._("Missed call from %(number)s (for %(user)s)", **values)
        return self.env._("Call to %(number)s by %(user)s: not answered (%(state)s)", **values)

    def _didww_post_note(self):
        """Note the call on its document, authored by the call's user. The document is one the user
        may read (see ``_didww_readable``) but not always write, which Odoo asks to post."""
        document = self.env["sms.sms"]._didww_document(self.res_model, self.res_id) or self.partner_id
        if document and hasattr(document, "message_post"):
            # sudo: the user may post about their own call on a document they can only read
            document.sudo().message_post(body=self._didww_note_body(), message_type="comment",
                                         subtype_xmlid="mail.mt_note", author_id=self.user_id.partner_id.id)
