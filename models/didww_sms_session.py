from datetime import timedelta

from psycopg2 import IntegrityError

from odoo import api, fields, models
from odoo.tools import SQL, mute_logger

from .didww_sms_number import SourcePicker

PREVIEW_LENGTH = 80


def _preview(text):
    """First words of a message, on one line."""
    flat = " ".join((text or "").split())
    return flat if len(flat) <= PREVIEW_LENGTH else flat[:PREVIEW_LENGTH - 1].rstrip() + "…"


class DidwwSmsSession(models.Model):
    """A conversation between one DIDWW number and one customer number.

    It remembers the record (contact, lead…) the conversation is on and, while the number's
    stickiness window runs, the user who holds it: replies go to that user only, and that user's
    texts to the customer keep leaving from this number.
    """

    _name = "didww.sms.session"
    _description = "DIDWW SMS conversation"
    _order = "last_activity DESC, id DESC"

    # Relational fields: a user reads each target, or the field is not readable by them. A user sees
    # the conversations of their company's numbers (record rules), so its number and company; users
    # are readable by every internal user; res_id is a bare id (the document's name is shown only
    # through customer_name, computed with the reader's rights).
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
    def _didww_has_conversation(self, number, sender):
        """Whether ``number`` has a conversation with ``sender`` (as DIDWW wrote it) already."""
        # sudo: the webhook runs as the public user and asks only whether one exists
        return bool(self.sudo().search_count(
            [("number_id", "=", number.id), ("remote_number", "=", number._format_remote(sender))], limit=1))

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
    def _didww_get_or_create_many(self, keys):
        """``{(number id, remote number): conversation}`` for ``keys``, ``{(number, remote number)}``,
        the missing ones created together. A conversation a concurrent transaction is creating
        (invisible to this one until it commits) is left out."""
        if not keys:
            return {}
        # sudo: sessions are technical records kept for every user texting through the number
        sessions_sudo = self.sudo().search([("number_id", "in", list({number.id for number, _remote in keys})),
                                            ("remote_number", "in", list({remote for _number, remote in keys}))])
        found = {(session.number_id.id, session.remote_number): session for session in sessions_sudo}
        missing = [{"number_id": number.id, "remote_number": remote} for number, remote in keys
                   if (number.id, remote) not in found]
        if missing:
            try:
                with mute_logger("odoo.sql_db"), self.env.cr.savepoint():
                    created = self.sudo().create(missing)
            except IntegrityError:  # another transaction started one of them: one by one
                Number = self.env["didww.sms.number"]
                created = self.sudo().concat(*(
                    self._get_or_create(Number.browse(vals["number_id"]), vals["remote_number"]) for vals in missing))
            found.update({(session.number_id.id, session.remote_number): session for session in created})
        return {key: session for key in ((number.id, remote) for number, remote in keys) if (session := found.get(key))}

    @api.model
    def _didww_touch_inbound_many(self, touched):
        """Customers texted: ``{conversation: (document, message, text)}``. Each conversation
        remembers its document, its last activity and the last SMS (the conversations list), in
        one query whatever their number."""
        rows = [SQL("(%s, %s, %s, %s, %s)", session.id, record._name, record.id, message.id, _preview(text))
                for session, (record, message, text) in touched.items()]
        if not rows:
            return
        self.flush_model()
        self.env.cr.execute(SQL(
            "UPDATE didww_sms_session s SET last_activity = %(now)s, res_model = v.res_model, res_id = v.res_id, "
            "last_message_date = %(now)s, last_message_inbound = TRUE, last_message_text = v.text, "
            "last_inbound_message_id = v.message_id, write_date = %(now)s, write_uid = %(uid)s "
            "FROM (VALUES %(rows)s) AS v(id, res_model, res_id, message_id, text) WHERE s.id = v.id",
            now=fields.Datetime.now(), uid=self.env.uid, rows=SQL(", ").join(rows)))
        self.invalidate_model(["last_activity", "res_model", "res_id", "live_until", "sticky_until",
                               "last_message_date", "last_message_inbound", "last_message_text",
                               "last_inbound_message_id", "write_date", "write_uid"])

    @api.model
    def _touch_outbound_many(self, touches):
        """Users texted customers from DIDWW numbers: start or refresh each conversation (its
        user's stickiness, its document, its last message), in a few queries whatever their number.

        :param touches: ``[(number, remote number, user, record or None, text)]``; the last touch
            of a conversation wins.
        """
        last = {(number.id, remote): (user, record, text) for number, remote, user, record, text in touches}
        if not last:
            return
        # sudo: sessions are technical records kept for every user texting through the number
        sessions_sudo = self.sudo().search([("number_id", "in", list({key[0] for key in last})),
                                            ("remote_number", "in", list({key[1] for key in last}))])
        by_key = {(session.number_id.id, session.remote_number): session for session in sessions_sudo}
        missing = [{"number_id": number_id, "remote_number": remote} for number_id, remote in last
                   if (number_id, remote) not in by_key]
        if missing:
            try:
                with mute_logger("odoo.sql_db"), self.env.cr.savepoint():
                    created = self.sudo().create(missing)
            except IntegrityError:  # another transaction started one of them: one by one
                Number = self.env["didww.sms.number"]
                created = self.sudo().concat(*(
                    self._get_or_create(Number.browse(vals["number_id"]), vals["remote_number"]) for vals in missing))
            by_key.update({(session.number_id.id, session.remote_number): session for session in created})
        numbers = self.env["didww.sms.number"].sudo().browse({number_id for number_id, _remote in last})
        picker = SourcePicker(numbers, numbers._assigned_users_by_number()[0], {})
        rows = []
        for key, (user, record, text) in last.items():
            session = by_key.get(key)
            if not session:
                continue
            # a user holds the conversation only on a number they may use (see SourcePicker.may_hold)
            real_user = user and not user._is_public() and not user._is_superuser() and picker.may_hold(
                session.number_id, user)
            rows.append(SQL("(%s, %s, %s, %s, %s)", session.id, user.id if real_user else None,
                            record._name if record else None, record.id if record else None, _preview(text)))
        if not rows:
            return
        self.flush_model()
        self.env.cr.execute(SQL(
            "UPDATE didww_sms_session s SET last_activity = %(now)s, last_outbound = %(now)s, "
            "user_id = COALESCE(v.user_id::int, s.user_id), "
            "res_model = COALESCE(v.res_model::varchar, s.res_model), res_id = COALESCE(v.res_id::int, s.res_id), "
            "last_message_date = %(now)s, last_message_inbound = FALSE, last_message_text = v.text, "
            "write_date = %(now)s, write_uid = %(uid)s "
            "FROM (VALUES %(rows)s) AS v(id, user_id, res_model, res_id, text) WHERE s.id = v.id",
            now=fields.Datetime.now(), uid=self.env.uid, rows=SQL(", ").join(rows)))
        self.invalidate_model(["last_activity", "last_outbound", "user_id", "res_model", "res_id", "live_until",
                               "sticky_until", "last_message_date", "last_message_inbound", "last_message_text"])

    # ------------------------------------------------------------
    # Conversations list (CRM > Sales > SMS conversations)
    # ------------------------------------------------------------

    last_message_date = fields.Datetime("Last message", readonly=True, index=True)
    last_message_inbound = fields.Boolean("Last message received", readonly=True)
    last_message_text = fields.Char(
        "Last message text", readonly=True, groups="base.group_system",
        help="First words of the last message; shown to a user only when they can read the document.")
    # administrators only: the message is on a document the reader may not be allowed to open, and
    # Odoo shows a linked record's name (and exports its fields) as the field's reader sees the field
    last_inbound_message_id = fields.Many2one(
        "mail.message", "Last SMS received", readonly=True, ondelete="set null", groups="base.group_system")
    last_message_preview = fields.Char("Preview", compute="_compute_conversation_display")
    customer_name = fields.Char("Customer", compute="_compute_conversation_display")
    is_unread = fields.Boolean(
        "Unread", compute="_compute_is_unread", search="_search_is_unread",
        help="The last SMS the customer sent waits in your Inbox.")

    def _didww_last_message_vals(self, text, inbound):
        return {
            "last_message_date": fields.Datetime.now(),
            "last_message_inbound": inbound,
            "last_message_text": _preview(text),
        }

    def _didww_note_inbound(self, message, text):
        """Remember the SMS the customer just sent for the conversations list."""
        self.ensure_one()
        self.sudo().write(dict(self._didww_last_message_vals(text, inbound=True), last_inbound_message_id=message.id))

    def _didww_readable_documents(self):
        """``{session: readable}``: whether the current user can read each conversation's document."""
        readable = {}
        by_model = self.grouped("res_model")
        for model, sessions in by_model.items():
            if not model or model not in self.env:
                readable.update(dict.fromkeys(sessions, False))
                continue
            records = self.env[model].browse(sessions.mapped("res_id")).exists()
            allowed = set(records._filtered_access("read").ids)
            readable.update({session: session.res_id in allowed for session in sessions})
        return readable

    @api.depends("res_model", "res_id", "remote_number")
    @api.depends_context("uid")
    def _compute_conversation_display(self):
        readable = self._didww_readable_documents()
        for session in self:
            if readable.get(session):
                document = self.env[session.res_model].browse(session.res_id)
                session.customer_name = document.display_name
                session.last_message_preview = session.sudo().last_message_text
            else:
                # a document the user cannot open: neither its name nor what the customer wrote
                session.customer_name = session.remote_number
                session.last_message_preview = False

    def _didww_unread_message_ids(self, message_ids):
        """Ids among ``message_ids`` that wait unread in the current user's Inbox."""
        notifications = self.env["mail.notification"].sudo().search([
            ("mail_message_id", "in", list(message_ids)),
            ("res_partner_id", "=", self.env.user.partner_id.id),
            ("is_read", "=", False),
        ])
        return set(notifications.mail_message_id.ids)

    @api.depends("last_inbound_message_id")
    @api.depends_context("uid")
    def _compute_is_unread(self):
        # sudo: the message itself stays hidden; only whether it waits in the user's own Inbox is told
        sessions_sudo = self.sudo()
        unread = self._didww_unread_message_ids(sessions_sudo.last_inbound_message_id.ids)
        for session, session_sudo in zip(self, sessions_sudo, strict=True):
            session.is_unread = session_sudo.last_inbound_message_id.id in unread

    def _search_is_unread(self, operator, value):
        if operator not in ("=", "!=") or not isinstance(value, bool):
            raise NotImplementedError(self.env._("Unsupported search on Unread: %s", operator))
        notifications = self.env["mail.notification"].sudo().search([
            ("res_partner_id", "=", self.env.user.partner_id.id), ("is_read", "=", False),
            ("mail_message_id.model", "!=", False),
        ])
        # sudo: the user's own unread messages, matched on a field only administrators read
        sessions_sudo = self.sudo().search([("last_inbound_message_id", "in", notifications.mail_message_id.ids)])
        domain = [("id", "in", sessions_sudo.ids)]
        return domain if (operator == "=") == value else ["!", *domain]

    def action_open_document(self):
        """Open the conversation's document, on its chatter (replies leave from this number while the
        conversation is live, see the number's stickiness), and mark its SMS in the Inbox as read."""
        self.ensure_one()
        document = self.env["didww.sms.document"]._didww_document(self.res_model, self.res_id)
        if not document:
            return False
        document.check_access("read")
        # the SMS of this conversation waiting in the user's Inbox are read once its chatter is open
        self.env["mail.message"].search([
            ("model", "=", document._name), ("res_id", "=", document.id), ("needaction", "=", True),
        ]).set_message_done()
        return {
            "type": "ir.actions.act_window",
            "res_model": document._name,
            "res_id": document.id,
            "view_mode": "form",
            "views": [(False, "form")],
            "target": "current",
        }
