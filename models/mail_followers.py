from odoo import models


class MailFollowers(models.Model):
    _inherit = "mail.followers"

    def _get_recipient_data(self, records, message_type, subtype_id, pids=None):
        # An SMS a customer sent (didww.sms.inbound._route) is posted as message type 'sms', for
        # which Odoo's sms module makes the given partners SMS recipients, to be texted: the users
        # told of a received SMS are notified as for a note instead (Inbox or email, by preference)
        if message_type == "sms" and self.env.context.get("didww_inbound_sms"):
            message_type = "comment"
        return super()._get_recipient_data(records, message_type, subtype_id, pids=pids)
