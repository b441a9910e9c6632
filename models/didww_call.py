from datetime import timedelta

from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError

from ..tools.phone import is_extension
from . import didww_call_note, didww_call_party, didww_call_rescue

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
    ("replaced", "Replaced by the transferred caller"),
]
# the softphone confirms a live call every HEARTBEAT seconds; a call silent for INTERRUPTED_AFTER is
# one whose browser vanished (tab closed, computer asleep, crash): the cron closes it
HEARTBEAT = 60
INTERRUPTED_AFTER = timedelta(minutes=3)


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
    # attended transfer: the user asks a colleague first (a second call), then transfers the caller
    # to them or goes back to the caller. Both ends of each link are calls of the same user.
    consult_for_id = fields.Many2one("didww.call", "Asked first about", readonly=True, index="btree_not_null",
                                     ondelete="set null",
                                     help="On a call to a colleague asked first: the call in progress it was about")
    consult_ids = fields.One2many("didww.call", "consult_for_id", "Colleagues asked first", readonly=True)
    replaced_call_id = fields.Many2one("didww.call", "Took the place of", readonly=True, ondelete="set null",
                                       help="On a caller transferred to the user after a colleague asked them "
                                            "first: the colleague's call it replaced")
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
    def didww_outgoing(self, number, res_model=False, res_id=False, consult_for=False):
        """Log a call the user is placing; return what to dial (E.164 with the document's or
        the company's country, an extension as typed) and who it is. ``consult_for``: the id of
        the user's call in progress about which they ask this colleague first (attended transfer)."""
        about = self._didww_own_call(consult_for)
        if about and about.state != "in_progress":
            return {"error": self.env._("The call you wanted to ask about is no longer in progress.")}
        document = didww_call_party.readable(self.env["didww.sms.document"]._didww_document(res_model, res_id))
        country = document["country_id"] if document and "country_id" in document._fields else None
        company = self.env["sms.sms"]._didww_company_of(document)
        country = country or company.country_id
        compact = "".join(ch for ch in (number or "") if ch.isdigit() or ch == "+")
        if not compact:
            return {"error": self.env._("There is no number to call.")}
        if is_extension(compact):
            dial = compact
        else:
            dial = self.env["didww.sms.number"]._didww_e164(number, country) or compact
        if not document:
            # dialled from the dial pad: the contact, open lead or colleague with that number
            document = didww_call_party.find_party(self.env, dial)
        partner = didww_call_party.partner_of(document)
        # sudo: users cannot create calls; this one is the user's own, on what they may read
        call = self.sudo().create({
            "user_id": self.env.uid, "direction": "outgoing", "number": dial,
            "partner_id": partner.id if partner else False,
            "res_model": document._name if document else False, "res_id": document.id if document else False,
            "company_id": company.id, "state": "calling", "consult_for_id": about.id,
        })
        return {"id": call.id, "number": dial, "name": (document.display_name if document else False)}

    @api.model
    def didww_incoming(self, number, display_name=False, replaces=False):
        """Log a call ringing for the user; return the caller's name when a contact or an open
        lead has that number. ``replaces``: the id of the user's call with a colleague who asked
        them first and now transfers their caller, whose call takes its place (attended transfer)."""
        replaced = self._didww_own_call(replaces)
        compact = "".join(ch for ch in (number or "") if ch.isdigit() or ch == "+")
        Number = self.env["didww.sms.number"]
        number = (Number._didww_e164(compact) if not is_extension(compact) else None) or compact \
            or display_name or "?"
        document = didww_call_party.find_party(self.env, number)
        partner = didww_call_party.partner_of(document)
        # sudo: users cannot create calls; this one is the user's own, on what they may read
        call = self.sudo().create({
            "user_id": self.env.uid, "company_id": self.env.company.id, "direction": "incoming", "number": number,
            "partner_id": partner.id if partner else False,
            "res_model": document._name if document else False, "res_id": document.id if document else False,
            "state": "ringing", "replaced_call_id": replaced.id,
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
            if call.direction == "incoming" and final in didww_call_rescue.UNANSWERED_STATES:
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
        """Missed-call rescue for these unanswered incoming calls (models/didww_call_rescue.py)."""
        return didww_call_rescue.schedule_call_back(self)

    # ------------------------------------------------------------------------------------------

    def _didww_own(self):
        """These calls, checked to be the request user's own (the softphone acts on no other)."""
        self.check_access("read")
        if any(call.user_id.id != self.env.uid for call in self):
            raise AccessError(self.env._("You can only update your own calls."))
        return self

    @api.model
    def _didww_own_call(self, call_id):
        """The request user's call with the id the softphone sent (none for ``False``)."""
        if call_id and (not isinstance(call_id, int) or isinstance(call_id, bool)):
            raise UserError(self.env._("%s does not designate a call.", call_id))
        return self.browse(call_id or []).exists()._didww_own()

    def _didww_note_body(self):
        self.ensure_one()
        return didww_call_note.note_body(self)

    def _didww_post_note(self):
        """Note the call on its document, authored by the call's user. The document is one the user
        may read (see ``didww_call_party.readable``) but not always write, which Odoo asks to post."""
        document = self.env["didww.sms.document"]._didww_document(self.res_model, self.res_id) or self.partner_id
        if document and hasattr(document, "message_post"):
            # sudo: the user may post about their own call on a document they can only read
            document.sudo().message_post(body=self._didww_note_body(), message_type="comment",
                                         subtype_xmlid="mail.mt_note", author_id=self.user_id.partner_id.id)
