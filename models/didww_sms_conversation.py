from odoo import api, fields, models

from ..tools import sms_keywords
from .didww_sms_session import _preview


class DidwwSmsSession(models.Model):
    """The conversations list (CRM > Sales > SMS Conversations, and Settings > DIDWW for
    administrators): one line per customer and DIDWW number, its last message, and the document
    a click opens."""

    _inherit = "didww.sms.session"

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
    customer_name = fields.Char(
        "Customer", compute="_compute_conversation_display",
        help="The contact of the conversation's document (the lead's customer, or the contact itself).")
    document_name = fields.Char("Document", compute="_compute_conversation_display",
                                help="The lead, order… the conversation is on, when it is not the contact.")
    remote_display = fields.Char("Customer number", compute="_compute_remote_display")
    direction = fields.Selection([("in", "Received"), ("out", "Sent")], compute="_compute_direction",
                                 help="Whether the last message came from the customer or was sent to them.")
    opt_keyword = fields.Selection(
        [("out", "Opted out (STOP)"), ("in", "Opted in (START)")], "Opt-out", compute="_compute_opt_keyword",
        help="Opted out: the customer texted an opt-out keyword (STOP…) and is on the SMS blacklist: they no "
             "longer receive mass or automated SMS. Opted in: their last message was an opt-in keyword (START…).")
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

    @api.depends("remote_number", "number_id.country_id")
    def _compute_remote_display(self):
        for session in self:
            session.remote_display = self._didww_display_number(session.remote_number, session.number_id.country_id)

    @api.depends("last_message_inbound", "last_message_date")
    def _compute_direction(self):
        for session in self:
            session.direction = session.last_message_date and ("in" if session.last_message_inbound else "out")

    @staticmethod
    def _customer_of(document):
        """The customer of a document, as a name: its contact, else the name typed on it (a lead)."""
        if document._name == "res.partner":
            return document.display_name
        partner = document["partner_id"] if "partner_id" in document._fields else None
        if partner and partner._name == "res.partner":
            return partner.display_name
        for name in ("contact_name", "partner_name"):
            if name in document._fields and document[name]:
                return document[name]
        return False

    @api.depends("res_model", "res_id", "remote_number", "last_message_inbound")
    @api.depends_context("uid")
    def _compute_conversation_display(self):
        readable = self._didww_readable_documents()
        for session in self:
            session.update({"customer_name": False, "document_name": False, "last_message_preview": False})
            if not readable.get(session):
                continue  # a document the user cannot open: neither its name nor what the customer wrote
            document = self.env[session.res_model].browse(session.res_id)
            text = session.sudo().last_message_text
            session.customer_name = self._customer_of(document)
            if document._name != "res.partner":
                session.document_name = document.display_name
            session.last_message_preview = text

    @api.depends("remote_number", "last_message_text", "last_message_inbound")
    def _compute_opt_keyword(self):
        # sudo: whether a number is on the SMS blacklist, as Odoo shows it on every contact and lead
        # (phone_sanitized_blacklisted); the last text is read only to match it with the keywords
        sessions_sudo = self.sudo()
        blacklisted = set(self.env["phone.blacklist"].sudo().search(
            [("number", "in", list(set(sessions_sudo.mapped("remote_number"))))]).mapped("number"))
        for session, session_sudo in zip(self, sessions_sudo, strict=True):
            number = session_sudo.number_id
            if session.remote_number in blacklisted:
                session.opt_keyword = "out"
            elif session.last_message_inbound and sms_keywords.match(
                    session_sudo.last_message_text, number.optout_keywords, number.optin_keywords) == "in":
                session.opt_keyword = "in"
            else:
                session.opt_keyword = False

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
            return {"type": "ir.actions.client", "tag": "display_notification", "params": {
                "type": "warning", "message": self.env._(
                    "The document of this conversation was deleted: the customer's next SMS is filed on their "
                    "contact or lead again.")}}
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
