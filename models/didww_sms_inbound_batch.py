"""A batch of inbound SMS routed together (see :class:`InboundBatch`); the routing itself is
``didww.sms.inbound`` (``didww_sms_inbound.py``)."""

from odoo import fields


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
        self.pushes = {}  # record -> the users told of its SMS, whose open chatters flush() refreshes
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
        self.pending["push"] = (record, notify_users)
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
        if "push" in self.pending:
            record, users = self.pending["push"]
            self.pushes[record] = self.pushes.get(record, users) | users
        self.pending = {}

    def flush(self):
        """Update the conversations of the SMS posted (their document, last activity and last
        message) and refresh the open chatters of their documents."""
        self.pending = {}
        if self.touched:
            self.env["didww.sms.session"]._didww_touch_inbound_many(self.touched)
        if self.pushes:
            self.inbound._push_to_open_chatters(self.pushes)
        self.touched, self.pushes = {}, {}


# message_post's reply-to default (the author's address), told apart from a document's own reply-to
POST_DEFAULT = object()
