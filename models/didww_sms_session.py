import hashlib
from datetime import timedelta

from markupsafe import Markup
from psycopg2 import IntegrityError

from odoo import api, fields, models
from odoo.tools import mute_logger, plaintext2html


class ConversationBusy(Exception):
    """Another transaction is processing a text from the same sender: try again after it commits."""


class DidwwSmsSession(models.Model):
    """A conversation between one DIDWW number and one customer number.

    It remembers the record (contact, lead…) the conversation is on and, while the number's
    stickiness window runs, the user who holds it: replies go to that user only, and that user's
    texts to the customer keep leaving from this number.
    """

    _name = "didww.sms.session"
    _description = "DIDWW SMS conversation"
    _order = "last_activity DESC, id DESC"

    number_id = fields.Many2one("didww.sms.number", required=True, index=True, ondelete="cascade")
    company_id = fields.Many2one(related="number_id.company_id", store=True, index=True)
    remote_number = fields.Char("Customer number", required=True, index=True)
    user_id = fields.Many2one("res.users", "Sticky user", ondelete="set null")
    res_model = fields.Char("Document model")
    res_id = fields.Many2oneReference("Document", model_field="res_model")
    last_activity = fields.Datetime(required=True, default=fields.Datetime.now, index=True)
    last_outbound = fields.Datetime("Last text sent", help="A user's hold on the conversation runs from here.")
    live_until = fields.Datetime(
        compute="_compute_windows", help="Texts to this customer leave from this number until then.")
    sticky_until = fields.Datetime(
        compute="_compute_windows", help="Until then, the customer's replies go to the sticky user only.")

    _sql_constraints = [
        ("number_remote_unique", "unique(number_id, remote_number)", "One conversation per number and customer."),
    ]

    @api.depends("last_activity", "last_outbound", "number_id.session_stickiness", "user_id")
    def _compute_windows(self):
        for session in self:
            window = timedelta(minutes=session.number_id.session_stickiness)
            session.live_until = session.last_activity + window if window and session.last_activity else False
            session.sticky_until = (session.last_outbound + window
                                    if window and session.user_id and session.last_outbound else False)

    def _is_live(self, now=None):
        self.ensure_one()
        return bool(self.live_until and self.live_until > (now or fields.Datetime.now()))

    def _is_sticky(self, now=None):
        """A user holds the conversation: replies go to them only."""
        self.ensure_one()
        return bool(self.sticky_until and self.sticky_until > (now or fields.Datetime.now()))

    @api.model
    def _live_by_remote(self, numbers, remote_numbers):
        """``{remote number: live conversations on numbers, most recent first}``, in one query."""
        remote_numbers = [remote for remote in set(remote_numbers) if remote]
        if not numbers or not remote_numbers:
            return {}
        sessions = self.sudo().search([("number_id", "in", numbers.ids), ("remote_number", "in", remote_numbers)],
                                      order="last_activity DESC, id DESC")
        now = fields.Datetime.now()
        result = {}
        for session in sessions.filtered(lambda s: s._is_live(now)):
            result.setdefault(session.remote_number, []).append(session)
        return result

    @api.model
    def _get_or_create(self, number, remote_number):
        """The conversation of ``number`` with ``remote_number``, created if needed. Empty when a
        concurrent transaction is creating it (invisible to this one until it commits)."""
        # sudo: sessions are technical records kept for every user texting through the number
        domain = [("number_id", "=", number.id), ("remote_number", "=", remote_number)]
        session = self.sudo().search(domain, limit=1)
        if session:
            return session
        try:
            with mute_logger("odoo.sql_db"), self.env.cr.savepoint():
                return self.sudo().create({"number_id": number.id, "remote_number": remote_number})
        except IntegrityError:
            return self.sudo().search(domain, limit=1)

    @api.model
    def _touch_outbound(self, number, remote_number, user, record=None):
        """A user texted ``remote_number`` from ``number``: start or refresh their stickiness."""
        session_sudo = self._get_or_create(number, remote_number)
        if not session_sudo:
            return session_sudo  # another transaction is starting this conversation right now
        now = fields.Datetime.now()
        vals = {"last_activity": now, "last_outbound": now}
        if user and not user._is_public() and not user._is_superuser():
            vals["user_id"] = user.id
        if record:
            vals.update(res_model=record._name, res_id=record.id)
        session_sudo.write(vals)
        return session_sudo

    # ------------------------------------------------------------
    # Inbound routing: an inbound SMS to the document it belongs to
    # ------------------------------------------------------------

    @api.model
    def _route_inbound(self, number, sms):
        """Post the inbound ``sms`` (a ``tools.didww_webhook.InboundSms``) to ``number`` on its
        document and notify the right users. Return ``(record, message, notified users)``.

        :raises ConversationBusy: another transaction is processing a text from this sender.
        """
        remote = number._format_remote(sms.sender)
        self._lock_sender(number.company_id, remote)
        session_sudo = self._get_or_create(number, remote)
        if not session_sudo:
            raise ConversationBusy(self.env._("the conversation is being created by another delivery"))
        record, partner = session_sudo._inbound_target(remote)
        notify_users = session_sudo.user_id if session_sudo._is_sticky() else number._assigned_users()
        session_sudo.write({"last_activity": fields.Datetime.now(), "res_model": record._name, "res_id": record.id})

        when = fields.Datetime.to_string(sms.time) if sms.time else ""
        body = Markup("<p><strong>{label}</strong> {sender} &rarr; {to}{when}</p>{text}").format(
            label=self.env._("SMS received"), sender=remote, to=number.number,
            when=Markup(" <small>({})</small>").format(when) if when else "",
            text=plaintext2html(sms.text or ""),
        )
        # sudo: processing runs as the cron's user; the message is authored by the sender and
        # posted as an internal note that notifies only the assigned users (a 'sms' message type
        # would text the customer followers back)
        message = record.sudo().with_context(mail_create_nosubscribe=True).message_post(
            body=body,
            author_id=partner.id if partner else False,
            email_from=False if partner else remote,
            message_type="comment",
            subtype_xmlid="mail.mt_note",
            partner_ids=notify_users.partner_id.ids,
        )
        return record, message, notify_users

    @api.model
    def _lock_sender(self, company, remote):
        """Serialise the texts of one sender, so that a new sender gets one contact.

        Waiting for the lock would not be enough: this transaction's snapshot predates what the
        holder commits (a new contact). A busy lock raises :class:`ConversationBusy` instead, and
        the event is processed again, with a fresh snapshot, after the holder commits.
        """
        self.env.cr.execute("SELECT pg_try_advisory_xact_lock(%s)", [self._sender_lock_key(company, remote)])
        if not self.env.cr.fetchone()[0]:
            raise ConversationBusy(self.env._("another text from this sender was being processed"))

    @api.model
    def _sender_lock_key(self, company, remote):
        digest = hashlib.sha256(f"didww:{company.id}:{remote}".encode()).digest()
        return int.from_bytes(digest[:8], "big", signed=True)

    def _inbound_target(self, remote):
        """(record, author partner) of an inbound text in this conversation: the live sticky
        session's document, else the contact, else an open lead, else a new contact named after
        the number."""
        self.ensure_one()
        company = self.company_id
        if self._is_sticky():
            record = self.env["sms.sms"].sudo()._didww_document(self.res_model, self.res_id)
            if record:
                if record._name == "res.partner":
                    return record, record
                return record, record["partner_id"] if "partner_id" in record._fields else None
        # sudo: inbound texts are filed on any contact or lead of the company, whoever reads them
        Partner = self.env["res.partner"].sudo()
        company_domain = [("company_id", "in", [False, company.id])]
        partner = Partner.search([("phone_sanitized", "=", remote), *company_domain], limit=1)
        if not partner:
            partner = Partner.search([("phone_mobile_search", "=", remote), *company_domain], limit=1)
        if partner:
            return partner, partner
        lead = self.env["crm.lead"].sudo().search([
            ("phone_sanitized", "=", remote), ("company_id", "in", [False, company.id]),
            ("active", "=", True), ("stage_id.is_won", "=", False),
        ], order="create_date DESC", limit=1)
        if lead:
            return lead, lead.partner_id or None
        partner = Partner.create({"name": remote, "phone": remote})
        return partner, partner
