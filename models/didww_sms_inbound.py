import hashlib

from markupsafe import Markup, escape

from odoo import api, fields, models

from ..tools import sms_keywords


class ConversationBusy(Exception):
    """Another transaction is processing a text from the same sender: try again after it commits."""


class DidwwSmsInbound(models.AbstractModel):
    """Inbound routing: an SMS a customer texted to a DIDWW number, to the document it belongs to.

    The conversation of the number and the sender says where (its live sticky document, else the
    sender's contact, else their open lead, else a new contact) and whom to notify (the holder of a
    sticky conversation, else the number's users, among those who may read the document). A text
    that is an opt-out or opt-in keyword of the number (STOP / START) also moves the sender on or
    off Odoo's SMS blacklist.
    """

    _name = "didww.sms.inbound"
    _description = "DIDWW inbound SMS routing"

    @api.model
    def _route(self, number, sms):
        """Post the inbound ``sms`` (a ``tools.didww_webhook.InboundSms``) to ``number`` on its
        document and notify the right users. Return ``(record, message, notified users)``.

        :raises ConversationBusy: another transaction is processing a text from this sender.
        """
        remote = number._format_remote(sms.sender)
        self._lock_sender(number.company_id, remote)
        session_sudo = self.env["didww.sms.session"]._get_or_create(number, remote)
        if not session_sudo:
            raise ConversationBusy(self.env._("the conversation is being created by another delivery"))
        record, partner = self._target(session_sudo, remote)
        notify_users = session_sudo.user_id if session_sudo._is_sticky() else number._assigned_users()
        notify_users = self._readers(record, notify_users)  # a notification would show the text
        session_sudo.write({"last_activity": fields.Datetime.now(), "res_model": record._name, "res_id": record.id})

        # posted as Odoo posts an SMS (message type 'sms', an internal note): the customer is the
        # author, the text is the body. The context makes the users told of it recipients by their
        # notification preference, never SMS recipients (mail_followers.py): nobody is texted back.
        # sudo: processing runs as the cron's user; the reply is filed on whatever document it belongs to
        message = record.sudo().with_context(mail_create_nosubscribe=True, didww_inbound_sms=True).message_post(
            body=self._message_body(number, sms.text),
            author_id=partner.id if partner else False,
            email_from=False if partner else remote,
            message_type="sms",
            subtype_xmlid="mail.mt_note",
            partner_ids=notify_users.partner_id.ids,
        )
        self._push_to_open_chatters(record, notify_users)
        session_sudo._didww_note_inbound(message, sms.text)  # the conversations list
        self._handle_opt_out(session_sudo, sms.text, record)  # STOP / START keywords
        return record, message, notify_users

    @api.model
    def _message_body(self, number, text):
        """The customer's text, and a discreet line saying which DIDWW number received it. Odoo's
        SMS posting escapes the text, makes its links clickable and keeps its line breaks."""
        line = Markup('<br/><span class="o-didww-sms-to small text-muted">{}</span>').format(
            self.env._("Texted to %(number)s", number=self._didww_display_number(number.number)))
        return escape(text or "") + line

    @api.model
    def _push_to_open_chatters(self, record, users):
        """Tell the users who follow ``record`` or were told of the SMS that its chatter has a new
        message: an open chatter shows it at once, whatever their notification preference (Odoo
        pushes a new message only to the users it notifies in their Odoo Inbox). The push holds the
        document's model and id only; the browser fetches the message with the user's own rights."""
        followers = record.sudo().message_partner_ids.user_ids  # sudo: who follows, not what they read
        partners = (users | followers).filtered(lambda user: user.active and user._is_internal()).partner_id
        payload = {"model": record._name, "id": record.id}
        for partner in partners:
            partner._bus_send("didww_connector/sms_received", payload)

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

    @api.model
    def _target(self, session, remote):
        """(record, author partner) of an inbound text in ``session``: the live sticky session's
        document, else the contact, else an open lead, else a new contact named after the number."""
        company = session.company_id
        if session._is_sticky():
            record = self.env["sms.sms"].sudo()._didww_document(session.res_model, session.res_id)
            if record:
                if record._name == "res.partner":
                    return record, record
                return record, record["partner_id"] if "partner_id" in record._fields else None
        partner = self.env["res.partner"]._didww_find_by_phone(remote, company)
        if partner:
            return partner, partner
        lead = self.env["crm.lead"].sudo().search([
            ("phone_sanitized", "=", remote), ("company_id", "in", [False, company.id]),
            ("active", "=", True), ("stage_id.is_won", "=", False),
        ], order="create_date DESC", limit=1)
        if lead:
            return lead, lead.partner_id or None
        # sudo: inbound texts are filed on any contact or lead of the company, whoever reads them;
        # no "Contact created" note: the SMS posted on it right after says where it came from
        partner = self.env["res.partner"].sudo().with_context(mail_create_nolog=True).create({
            "name": remote, "phone": remote,
            "country_id": self.env["didww.sms.number"]._country_from_number(remote).id,
        })
        return partner, partner

    @api.model
    def _readers(self, record, users):
        """The users among ``users`` who can read ``record``: only they are notified of an inbound
        SMS on it (a notification would show them its text)."""
        return users.filtered(lambda user: record.with_user(user).has_access("read"))

    # ------------------------------------------------------------
    # Opt-out keywords (STOP / START)
    # ------------------------------------------------------------

    @api.model
    def _handle_opt_out(self, session, text, record=None):
        """Act on an inbound SMS of ``session`` whose whole text is an opt-out or opt-in keyword of
        its number.

        Opt-out puts the customer on Odoo's ``phone.blacklist`` (honoured by mass SMS, SMS
        templates and automated actions), opt-in takes them off; both are noted on ``record``'s
        chatter. The number's confirmation text, if any, is texted back only when the customer's
        state changed, so a STOP delivered twice gets one reply. Return ``"out"``, ``"in"`` or ``None``.
        """
        session.ensure_one()
        number = session.number_id
        kind = sms_keywords.match(text, number.optout_keywords, number.optin_keywords)
        if not kind:
            return None
        remote = number._didww_e164(session.remote_number, number.country_id)
        keyword = sms_keywords.normalize(text)
        record = record or self.env["sms.sms"]._didww_document(session.res_model, session.res_id)
        if not remote:
            # a short code or an alphanumeric sender: nothing Odoo could text, nothing to blacklist
            if record:
                record.sudo()._message_log(body=self.env._(
                    "%(remote)s texted %(keyword)s, but it is not a phone number the SMS blacklist can hold.",
                    remote=session.remote_number, keyword=keyword))
            return kind
        # sudo: the webhook runs as the public user; the blacklist is a technical list
        Blacklist = self.env["phone.blacklist"].sudo()
        changed = (Blacklist._didww_opt_out(remote, keyword, number) if kind == "out"
                   else Blacklist._didww_opt_in(remote, keyword, number))
        if record:
            if kind == "out":
                note = self.env._(
                    "%(remote)s texted %(keyword)s to %(number)s: they no longer receive mass or automated SMS "
                    "(SMS blacklist).", remote=remote, keyword=keyword, number=number.number)
            else:
                note = self.env._("%(remote)s texted %(keyword)s to %(number)s: removed from the SMS blacklist.",
                                  remote=remote, keyword=keyword, number=number.number)
            if not changed:
                note = self.env._("%(note)s (Already the case: nothing changed.)", note=note)
            record.sudo()._message_log(body=Markup("<p>{}</p>").format(note))
        reply = number.optout_reply if kind == "out" else number.optin_reply
        if changed and reply and reply.strip() and record:
            self._send_confirmation(session, record, remote, reply.strip())
        return kind

    @api.model
    def _send_confirmation(self, session, record, remote, text):
        """Text ``text`` to ``remote`` from ``session``'s number, logged on ``record``."""
        # sudo: posted by the system on behalf of the number, whatever user processes the webhook
        message = record.sudo().with_context(mail_create_nosubscribe=True)._message_sms(
            text, partner_ids=[], sms_numbers=[remote], author_id=self.env.ref("base.partner_root").id,
            put_in_queue=True)
        sms_sudo = self.env["sms.sms"].sudo().search([("mail_message_id", "=", message.id)])
        sms_sudo.write({"didww_source": session.number_id.number})  # leaves from the number the customer texted
        self.env.ref("sms.ir_cron_sms_scheduler_action").sudo()._trigger()
        return sms_sudo
