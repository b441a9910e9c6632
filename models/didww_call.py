from odoo import api, fields, models
from odoo.exceptions import AccessError

END_STATES = ("done", "missed", "declined", "busy", "failed")
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
        document = self._didww_find_caller(number)
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

    def didww_ended(self, state, failure_reason=False):
        """Close the call (done, missed, declined, busy, failed) and note it on the document."""
        if state not in END_STATES:
            state = "failed"
        now = fields.Datetime.now()
        for call in self._didww_own().filtered(lambda c: c.state not in END_STATES):
            final = state
            if final == "done" and not call.answered_at:
                final = "missed" if call.direction == "incoming" else "failed"
            # sudo: users cannot write calls; the softphone closes the user's own
            call.sudo().write({
                "state": final,
                "failure_reason": (failure_reason or False) if final == "failed" else False,
                "duration": int((now - call.answered_at).total_seconds()) if call.answered_at else 0,
            })
            call._didww_post_note()
        return True

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

    def _didww_note_body(self):
        self.ensure_one()
        state = dict(self._fields["state"]._description_selection(self.env))[self.state]
        values = {"number": self.number, "user": self.user_id.name, "duration": self.duration_display,
                  "reason": self.failure_reason or state, "state": state}
        if self.state == "done" and self.direction == "outgoing":
            return self.env._("Outgoing call to %(number)s by %(user)s, %(duration)s", **values)
        if self.state == "done":
            return self.env._("Incoming call from %(number)s answered by %(user)s, %(duration)s", **values)
        if self.state == "failed":
            return self.env._("Call to %(number)s by %(user)s failed: %(reason)s", **values)
        if self.direction == "incoming":
            return self.env._("Missed call from %(number)s (for %(user)s)", **values)
        return self.env._("Call to %(number)s by %(user)s: not answered (%(state)s)", **values)

    def _didww_post_note(self):
        document = self.env["sms.sms"]._didww_document(self.res_model, self.res_id) or self.partner_id
        if document and hasattr(document, "message_post"):
            document.message_post(body=self._didww_note_body(), message_type="comment",
                                  subtype_xmlid="mail.mt_note")

    def _didww_schedule_call_back(self):
        """A "Call back" activity for the user of each missed incoming call, on its contact (or
        lead), unless that user already has an open "Call back" there. Calls without a document,
        or whose user is not an internal user, get none."""
        activity_type = self.env.ref("mail.mail_activity_data_call", raise_if_not_found=False)
        summary = self.env._("Call back")
        Activity = self.env["mail.activity"].sudo()  # sudo: an activity for another user, planned by the server
        scheduled = self.env["mail.activity"]
        for call in self.filtered(lambda c: c.direction == "incoming" and c.state == "missed"):
            document = self.env["sms.sms"]._didww_document(call.res_model, call.res_id) or call.partner_id
            if not document or not hasattr(document, "activity_schedule") or call.user_id.share \
                    or not call.user_id.active:
                continue
            if Activity.search_count([
                ("res_model", "=", document._name), ("res_id", "=", document.id),
                ("user_id", "=", call.user_id.id), ("summary", "=", summary),
            ], limit=1):
                continue
            when = fields.Datetime.context_timestamp(call.with_user(call.user_id), call.start)
            # sudo: the user of a call may not be allowed to write on the contact; the activity is theirs
            scheduled |= document.sudo().activity_schedule(
                activity_type_id=activity_type.id if activity_type else False, summary=summary,
                note=self.env._("Missed call from %(number)s on %(when)s.", number=call.number,
                                when=when.strftime("%Y-%m-%d %H:%M")),
                user_id=call.user_id.id, date_deadline=fields.Date.context_today(call.with_user(call.user_id)))
        return scheduled
