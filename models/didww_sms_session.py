from datetime import timedelta

from psycopg2 import IntegrityError

from odoo import api, fields, models
from odoo.tools import SQL, mute_logger

from .didww_sms_source_picker import SourcePicker

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
    remote_number = fields.Char("Customer number (E.164)", required=True, index=True)
    user_id = fields.Many2one("res.users", "Sticky user", ondelete="set null")
    res_model = fields.Char("Document model")
    res_id = fields.Many2oneReference("Document ID", model_field="res_model")
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
        Number = self.env["didww.sms.number"]
        by_key = self._didww_get_or_create_many({(Number.browse(number_id), remote) for number_id, remote in last})
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
