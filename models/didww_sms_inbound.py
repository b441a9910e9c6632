import hashlib
from datetime import timedelta

from markupsafe import Markup

from odoo import api, fields, models
from odoo.tools import plaintext2html

from ..tools import sms_keywords


class ConversationBusy(Exception):
    """Another transaction is processing a text from the same sender: try again after it commits."""


class DidwwSmsInbound(models.AbstractModel):
    """Inbound routing: an SMS a customer texted to a DIDWW number, to the document it belongs to.

    The conversation of the number and the sender says where (its live sticky document, else the
    sender's contact, else their open lead, else a new contact) and whom to notify (the holder of a
    sticky conversation, else the number's users, among those who may read the document). A text
    that is a keyword of the number (STOP / START) also changes the sender's consent at the
    number's company (``didww.sms.consent``); HELP / INFO are answered with the company's help text.
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
        session_sudo._didww_note_inbound(message, sms.text)  # the conversations list
        self._handle_opt_out(session_sudo, sms.text, record, sms)  # STOP / START / HELP keywords
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
    # Keywords (STOP / START / HELP): the company's consent ledger
    # ------------------------------------------------------------

    @api.model
    def _handle_opt_out(self, session, text, record=None, sms=None):
        """Act on an inbound SMS of ``session`` whose whole text is a keyword of its number.

        STOP (opt-out) and START (opt-in) change the number's consent at the number's company
        only (``didww.sms.consent``, which keeps Odoo's blacklist as the union of the companies);
        both are noted on ``record``'s chatter. The number's confirmation text, if any, is texted
        back only when the consent changed, so a STOP delivered twice gets one reply. HELP / INFO
        are answered with the company's help text once per conversation a day.
        Return ``"out"``, ``"in"``, ``"help"`` or ``None``.
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
            # a short code or an alphanumeric sender: nothing Odoo could text, nothing to record
            if record:
                record.sudo()._message_log(body=self.env._(
                    "%(remote)s texted %(keyword)s, but it is not a phone number the SMS blacklist can hold.",
                    remote=session.remote_number, keyword=keyword))
            return kind
        if kind == "help":
            self._answer_help(session, record, remote, keyword, text, sms)
            return kind
        company = number.company_id
        # sudo: the webhook runs as the public user; the ledger is written by its own methods
        _consent, changed = self.env["didww.sms.consent"].sudo()._didww_set(
            company, remote, "opted_out" if kind == "out" else "opted_in", "keyword", keyword=keyword,
            message=text, didww_message_id=sms.uuid if sms else None, didww_number=number.number,
            origin=self.env._("texting %(keyword)s to %(number)s (DIDWW)", keyword=keyword, number=number.number))
        reply = ((number.optout_reply if kind == "out" else number.optin_reply) or "").strip()
        if record:
            if kind == "out":
                note = self.env._(
                    "%(remote)s texted %(keyword)s to %(number)s: %(company)s no longer texts them "
                    "(SMS consent: opted out).", remote=remote, keyword=keyword, number=number.number,
                    company=company.name)
            else:
                note = self.env._("%(remote)s texted %(keyword)s to %(number)s: %(company)s may text them again "
                                  "(SMS consent: opted in).", remote=remote, keyword=keyword,
                                  number=number.number, company=company.name)
            if not changed:
                note = self.env._("%(note)s (Already the case: nothing changed.)", note=note)
            record.sudo()._message_log(body=Markup("<p>{}</p>").format(note))
        if changed and reply and record:
            self._send_confirmation(session, record, remote, reply)
        return kind

    @api.model
    def _answer_help(self, session, record, remote, keyword, text, sms):
        """Text the company's help text for HELP / INFO, once per conversation a day."""
        number = session.number_id
        company = number.company_id
        Event = self.env["didww.sms.consent.event"].sudo()  # sudo: the ledger's history, read by the system
        answered = Event.search_count([
            ("company_id", "=", company.id), ("number", "=", remote), ("didww_number", "=", number.number),
            ("action", "=", "help"), ("replied", "=", True),
            ("date", ">", fields.Datetime.now() - timedelta(days=1))], limit=1)
        reply = company._didww_help_text()
        self.env["didww.sms.consent"].sudo()._didww_set(
            company, remote, None, "help", keyword=keyword, message=text,
            didww_message_id=sms.uuid if sms else None, didww_number=number.number,
            origin=self.env._("texting %(keyword)s to %(number)s (DIDWW)", keyword=keyword, number=number.number),
            replied=bool(record and not answered))
        if record and not answered:
            self._send_confirmation(session, record, remote, reply)

    @api.model
    def _send_confirmation(self, session, record, remote, text):
        """Text ``text`` to ``remote`` from ``session``'s number, logged on ``record``."""
        # sudo: posted by the system on behalf of the number, whatever user processes the webhook
        message = record.sudo().with_context(mail_create_nosubscribe=True)._message_sms(
            text, partner_ids=[], sms_numbers=[remote], author_id=self.env.ref("base.partner_root").id,
            put_in_queue=True)
        sms_sudo = self.env["sms.sms"].sudo().search([("mail_message_id", "=", message.id)])
        # leaves from the number the customer texted, whatever the consent and the hour: it answers them
        sms_sudo.write({"didww_source": session.number_id.number, "didww_keyword_reply": True})
        self.env.ref("sms.ir_cron_sms_scheduler_action").sudo()._trigger()
        return sms_sudo
