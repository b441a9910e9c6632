import hashlib
from datetime import timedelta

from markupsafe import Markup, escape

from odoo import api, fields, models

from ..tools import sms_keywords


class ConversationBusy(Exception):
    """Another transaction is processing a text from the same sender: try again after it commits."""


class InboundBatch:
    """The inbound SMS of one company in a processing batch, routed with what they need read once
    for all (in the company's environment, as each SMS alone would be).

    Built by :meth:`DidwwSmsInbound._batch`: the senders are locked and their conversations,
    contacts and open leads looked up in a few queries whatever the batch's size, the missing
    conversations created together, who may read each document checked once a user, and the
    values Odoo's ``message_post`` would look up for each document computed once. Each SMS is then
    posted by :meth:`route`, in its event's savepoint; the conversations are updated by
    :meth:`flush`, in one query, once the batch is done. What an SMS changed is kept (:meth:`keep`)
    only once its savepoint is released. A batch ``alone`` reads what each SMS needs when it routes
    it (in its savepoint), for when reading it for all failed.
    """

    def __init__(self, inbound, deliveries, alone=False):
        self.inbound = inbound  # didww.sms.inbound, with the company of the SMS
        self.env = inbound.env
        self.numbers = {event.id: number for event, number, _sms in deliveries}
        self.remotes = {event.id: number._format_remote(sms.sender) for event, number, sms in deliveries}
        self.busy = set()  # (company id, remote) another transaction is processing
        self.sessions = {}  # (number id, remote) -> didww.sms.session (sudo)
        self.targets = {}  # (company id, remote) -> (record, author partner) when no conversation holds one
        self.readable = {}  # (model, record id, user id) -> may read
        self.post_values = {}  # (model, record id) -> message_post's values for it
        self.documents = {}  # session -> its document, while it is sticky or once a text was posted on it
        self.assigned = {}  # number -> its users
        self.touched = {}  # session -> (record, message, text), written by flush()
        self.pending = {}  # what the SMS being routed changed, until keep()
        self.alone = alone
        keys = {(number, self.remotes[event.id]) for event, number, _sms in deliveries}
        if keys and not alone:
            self._prefetch(keys)

    def _prefetch(self, keys):
        inbound, env = self.inbound, self.env
        self.busy = inbound._lock_senders({(number.company_id, remote) for number, remote in keys})
        keys = {(number, remote) for number, remote in keys if (number.company_id.id, remote) not in self.busy}
        self.sessions = env["didww.sms.session"]._didww_get_or_create_many(keys)
        now = fields.Datetime.now()
        sticky = [session for session in self.sessions.values() if session._is_sticky(now)]
        documents = env["didww.sms.document"]._didww_documents_of(sticky)
        remotes_by_company = {}
        for number, remote in keys:
            session = self.sessions.get((number.id, remote))
            if not (session and documents.get(session)):
                remotes_by_company.setdefault(number.company_id, set()).add(remote)
        for company, remotes in remotes_by_company.items():
            self.targets.update({(company.id, remote): target
                                 for remote, target in inbound._find_targets(remotes, company).items()})
        records = [*documents.values(), *(record for record, _partner in self.targets.values())]
        self.assigned = {number: number._assigned_users() for number in {number for number, _remote in keys}}
        users = env["res.users"].union(*self.assigned.values(), *(session.user_id for session in sticky))
        self._prefetch_documents(records, users)
        self.documents = documents

    def _prefetch_documents(self, records, users):
        """Who among ``users`` may read each of ``records``, and ``message_post``'s values for each."""
        by_model = {}
        for record in records:
            by_model.setdefault(record._name, set()).add(record.id)
        for model, ids in by_model.items():
            records_sudo = self.env[model].sudo().browse(ids)  # sudo: see _filtered_access below
            for user in users:
                allowed = set(records_sudo.with_user(user)._filtered_access("read").ids)
                self.readable.update({(model, record_id, user.id): record_id in allowed for record_id in ids})
            self.post_values.update(self.inbound._post_values(records_sudo))

    def number_of(self, event):
        return self.numbers.get(event.id)

    def route(self, event, number, sms):
        """Post ``sms`` (a ``tools.didww_webhook.InboundSms``) of ``event`` to ``number`` on its
        document and notify the right users. Return ``(record, message, notified users)``.

        :raises ConversationBusy: another transaction is processing a text from this sender, or
            creating its conversation.
        """
        inbound = self.inbound
        self.pending = {"event": event.id}
        remote = self.remotes[event.id]
        company = number.company_id
        if self.alone:
            self._prefetch({(number, remote)})
        if (company.id, remote) in self.busy:
            raise ConversationBusy(inbound.env._("another text from this sender was being processed"))
        session_sudo = self.sessions.get((number.id, remote))
        if not session_sudo:
            raise ConversationBusy(inbound.env._("the conversation is being created by another delivery"))
        sticky = session_sudo._is_sticky()
        record, partner = self._target(session_sudo, remote, sticky)
        if number not in self.assigned:
            self.assigned[number] = number._assigned_users()
        notify_users = session_sudo.user_id if sticky else self.assigned[number]
        notify_users = notify_users.filtered(lambda user: self._may_read(record, user))  # it would show the text

        # posted as Odoo posts an SMS (message type 'sms', an internal note): the customer is the
        # author, the text is the body. The context makes the users told of it recipients by their
        # notification preference, never SMS recipients (mail_followers.py): nobody is texted back.
        # sudo: processing runs as the cron's user; the reply is filed on whatever document it belongs to
        message = record.sudo().with_context(mail_create_nosubscribe=True, didww_inbound_sms=True).message_post(
            body=inbound._message_body(number, sms.text),
            author_id=partner.id if partner else False,
            email_from=False if partner else remote,
            message_type="sms",
            subtype_xmlid="mail.mt_note",
            partner_ids=notify_users.partner_id.ids,
            **self._post_values_of(record, False if partner else remote),
        )
        inbound._push_to_open_chatters(record, notify_users)
        self.pending["touched"] = (session_sudo, (record, message, sms.text))
        inbound._handle_opt_out(session_sudo, sms.text, record, sms)  # STOP / START / HELP keywords
        return record, message, notify_users

    def _target(self, session, remote, sticky):
        """(record, author partner) of an inbound text in ``session`` (see
        :meth:`DidwwSmsInbound._target`), from the batch's lookups."""
        if sticky and (document := self.documents.get(session)):
            return document, document if document._name == "res.partner" else (
                document["partner_id"] if "partner_id" in document._fields else None)
        key = (session.company_id.id, remote)
        target = self.targets.get(key)
        if not target:
            partner = self.inbound._create_contact(remote)
            target = (partner, partner)
            self.pending["target"] = (key, target)
        return target

    def _may_read(self, record, user):
        key = (record._name, record.id, user.id)
        if key not in self.readable:  # a document created for this SMS
            self.readable[key] = record.with_user(user).has_access("read")
        return self.readable[key]

    def _post_values_of(self, record, email_from):
        key = (record._name, record.id)
        if key not in self.post_values:  # a contact created for the batch: its other texts reuse them
            self.post_values.update(self.inbound._post_values(record.sudo()))
        values = self.post_values[key]
        reply_to = values["reply_to"]
        return dict(values, reply_to=email_from if reply_to is POST_DEFAULT else reply_to)

    def keep(self, event):
        """The SMS of ``event`` is posted for good (its savepoint was released): keep what routing
        it changed (nothing when it was not the last one routed)."""
        if self.pending.get("event") != event.id:
            return
        if "target" in self.pending:
            key, target = self.pending["target"]
            self.targets[key] = target
        if "touched" in self.pending:
            session, touch = self.pending["touched"]
            self.touched[session] = touch
            self.documents[session] = touch[0]
        self.pending = {}

    def flush(self):
        """Update the conversations of the SMS posted: their document, last activity and last message."""
        self.pending = {}
        if self.touched:
            self.env["didww.sms.session"]._didww_touch_inbound_many(self.touched)
        self.touched = {}


# message_post's reply-to default (the author's address), told apart from a document's own reply-to
POST_DEFAULT = object()


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
