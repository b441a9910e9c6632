import hashlib
from datetime import timedelta

from markupsafe import Markup, escape

from odoo import api, fields, models
from odoo.osv import expression

from ..tools import sms_keywords
from .didww_sms_inbound_batch import POST_DEFAULT, InboundBatch


class DidwwSmsInbound(models.AbstractModel):
    """Inbound routing: an SMS a customer texted to a DIDWW number, to the document it belongs to.

    The conversation of the number and the sender says where (its live sticky document, else the
    sender's contact, else their open lead, else a new contact) and whom to notify (the holder of a
    sticky conversation, else the number's users, among those who may read the document). A text
    that is a keyword of the number (STOP / START) also changes the sender's consent at the
    number's company (``didww.sms.consent``); HELP / INFO are answered with the company's help text.
    A processing batch routes its SMS together (:class:`InboundBatch`).
    """

    _name = "didww.sms.inbound"
    _description = "DIDWW inbound SMS routing"

    @api.model
    def _batch(self, deliveries, alone=False):
        """An :class:`InboundBatch` for ``deliveries``, ``[(event, number, sms)]``."""
        return InboundBatch(self, deliveries, alone=alone)

    @api.model
    def _message_body(self, number, text):
        """The customer's text, and a discreet line saying which DIDWW number received it. Odoo's
        SMS posting escapes the text, makes its links clickable and keeps its line breaks."""
        line = Markup('<br/><span class="o-didww-sms-to small text-muted">{}</span>').format(
            self.env._("Texted to %(number)s", number=self._didww_display_number(number.number)))
        return escape(text or "") + line

    @api.model
    def _push_to_open_chatters(self, users_by_record):
        """Tell the users who follow each record of ``users_by_record`` or were told of an SMS on it
        (its value) that its chatter has new messages: an open chatter shows them at once, whatever
        their notification preference (Odoo pushes a new message only to the users it notifies in
        their Odoo Inbox). Once per record a batch; the push holds the document's model and id only,
        the browser fetches the messages with the user's own rights."""
        by_model = {}
        for record in users_by_record:
            by_model.setdefault(record._name, []).append(record.id)
        # sudo: who follows, not what they read
        followers = self.env["mail.followers"].sudo().search_fetch(
            expression.OR([[("res_model", "=", model), ("res_id", "in", ids)] for model, ids in by_model.items()]),
            ["res_model", "res_id", "partner_id"]) if by_model else self.env["mail.followers"]
        partners_by_record = {}
        for follower in followers:
            partners_by_record.setdefault((follower.res_model, follower.res_id), set()).add(follower.partner_id.id)
        internal = {}  # user -> active and internal
        for record, notified in users_by_record.items():
            users = notified | self.env["res.partner"].browse(
                partners_by_record.get((record._name, record.id), ())).user_ids
            for user in users:
                if user not in internal:
                    internal[user] = user.active and user._is_internal()
            payload = {"model": record._name, "id": record.id}
            for partner in users.filtered(internal.get).partner_id:
                partner._bus_send("didww_connector/sms_received", payload)

    @api.model
    def _lock_senders(self, senders):
        """Serialise the texts of each sender, ``(company, remote)``, so that a new sender gets one
        contact. Return the ``(company id, remote)`` of those another transaction holds.

        Waiting for a lock would not be enough: this transaction's snapshot predates what the
        holder commits (a new contact). A busy sender's text raises :class:`ConversationBusy`
        instead, and is processed again, with a fresh snapshot, after the holder commits.
        """
        keys = {self._sender_lock_key(company, remote): (company.id, remote) for company, remote in senders}
        if not keys:
            return set()
        self.env.cr.execute("SELECT key FROM unnest(%s::bigint[]) AS key WHERE NOT pg_try_advisory_xact_lock(key)",
                            [list(keys)])
        return {keys[key] for (key,) in self.env.cr.fetchall()}

    @api.model
    def _sender_lock_key(self, company, remote):
        digest = hashlib.sha256(f"didww:{company.id}:{remote}".encode()).digest()
        return int.from_bytes(digest[:8], "big", signed=True)

    @api.model
    def _find_targets(self, remotes, company):
        """``{remote: (record, author partner)}`` for the ``remotes`` of ``company`` that have a
        contact, else an open lead (the target of a text outside a live sticky conversation)."""
        partners = self.env["res.partner"]._didww_find_by_phones(remotes, company)
        targets = {remote: (partner, partner) for remote, partner in partners.items()}
        left = [remote for remote in remotes if remote not in targets]
        if left:
            leads = self.env["crm.lead"].sudo().search([
                ("phone_sanitized", "in", left), ("company_id", "in", [False, company.id]),
                ("active", "=", True), ("stage_id.is_won", "=", False),
            ], order="create_date DESC")
            for lead in leads:
                targets.setdefault(lead.phone_sanitized, (lead, lead.partner_id or None))
        return targets

    @api.model
    def _create_contact(self, remote):
        """A new contact for a sender nobody knows, named after their number."""
        # sudo: inbound texts are filed on any contact or lead of the company, whoever reads them;
        # no "Contact created" note: the SMS posted on it right after says where it came from
        return self.env["res.partner"].sudo().with_context(mail_create_nolog=True).create({
            "name": remote, "phone": remote, "country_id": self._didww_country_of(remote).id,
        })

    @api.model
    def _post_values(self, records):
        """``{(model, id): values}``: what ``message_post`` looks up for each of ``records`` (all of
        one model), computed for all at once as it would for each (its reply-to default, the
        author's address, is :data:`POST_DEFAULT`)."""
        company = self.env.company
        alias_domains = records._mail_get_alias_domains(default_company=company)
        companies = records._mail_get_companies(default=company)
        reply_to = records._notify_get_reply_to(default=POST_DEFAULT)
        return {(records._name, record.id): {
            "record_name": record.display_name,
            "record_alias_domain_id": alias_domains[record.id].id,
            "record_company_id": companies[record.id].id,
            "reply_to": reply_to[record.id],
        } for record in records}

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
        record = record or self.env["didww.sms.document"]._didww_document(session.res_model, session.res_id)
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
