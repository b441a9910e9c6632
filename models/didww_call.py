from datetime import timedelta

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
]
# the softphone confirms a live call every HEARTBEAT seconds; a call silent for INTERRUPTED_AFTER is
# one whose browser vanished (tab closed, computer asleep, crash): the cron closes it
HEARTBEAT = 60
INTERRUPTED_AFTER = timedelta(minutes=3)
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
    end_cause = fields.Selection(END_CAUSES, readonly=True,
                                 help="Who or what ended the call: us, the other party, a lost connection, "
                                      "a failure, or the browser vanishing mid-call (closed by the server)")
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

    # ------------------------------------------------------------------------------------------
    # Called by the softphone (static/src/softphone/softphone_service.js)
    # ------------------------------------------------------------------------------------------

    @api.model
    def didww_outgoing(self, number, res_model=False, res_id=False):
        """Log a call the user is placing; return what to dial (E.164 with the document's or
        the company's country, an extension as typed) and who it is."""
        document = self.env["sms.sms"]._didww_document(res_model, res_id)
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
        call = self.create({
            "direction": "outgoing", "number": dial, "partner_id": partner.id if partner else False,
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
        call = self.create({
            "direction": "incoming", "number": number, "partner_id": partner.id if partner else False,
            "res_model": document._name if document else False, "res_id": document.id if document else False,
            "state": "ringing",
        })
        return {"id": call.id, "number": number, "name": document.display_name if document else display_name}

    def didww_answered(self):
        self.filtered(lambda c: c.state in ("calling", "ringing")).write(
            {"state": "in_progress", "answered_at": fields.Datetime.now()})
        return True

    def didww_ended(self, state, failure_reason=False, end_cause=False):
        """Close the call (done, missed, declined, busy, failed, dropped) and note it on the
        document; ``end_cause`` says who or what ended it (see END_CAUSES)."""
        if state not in END_STATES or state == "interrupted":
            state = "failed"
        if end_cause not in dict(END_CAUSES):
            end_cause = {"failed": "failed", "dropped": "dropped"}.get(state, False)
        now = fields.Datetime.now()
        for call in self.filtered(lambda c: c.state not in END_STATES):
            final = state
            if final in ("done", "dropped") and not call.answered_at:
                final = "missed" if call.direction == "incoming" else "failed"
            call.write({
                "state": final,
                "failure_reason": (failure_reason or False) if final in ("failed", "dropped") else False,
                "end_cause": end_cause,
                "duration": int((now - call.answered_at).total_seconds()) if call.answered_at else 0,
            })
            call._didww_post_note()
        return True

    def didww_alive(self):
        """The softphone's heartbeat for its live calls (every HEARTBEAT seconds): a call not
        confirmed for INTERRUPTED_AFTER is closed by ``_cron_close_interrupted``."""
        calls = self._didww_own_calls()
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
        return len(stale)

    def _didww_own_calls(self):
        """``self`` when every call is the current user's; an AccessError otherwise."""
        others = self.sudo().filtered(lambda c: c.user_id != self.env.user)  # sudo: read the owner only
        if others:
            raise AccessError(self.env._("You can only act on your own calls."))
        return self

    # ------------------------------------------------------------------------------------------

    def _didww_partner_of(self, document):
        if not document:
            return None
        if document._name == "res.partner":
            return document
        return document["partner_id"] if "partner_id" in document._fields else None

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
        document = self.env["sms.sms"]._didww_document(self.res_model, self.res_id) or self.partner_id
        if document and hasattr(document, "message_post"):
            document.message_post(body=self._didww_note_body(), message_type="comment",
                                  subtype_xmlid="mail.mt_note")
