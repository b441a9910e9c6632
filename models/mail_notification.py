from odoo import fields, models


class MailNotification(models.Model):
    _inherit = "mail.notification"

    # an SMS the sending company's consent ledger stops where it leaves (didww.sms.rules)
    failure_type = fields.Selection(selection_add=[("sms_blacklist", "Opted out")],
                                    ondelete={"sms_blacklist": "set null"})

    def _to_store(self, store, /):
        result = super()._to_store(store)
        # an SMS that DIDWW has not taken yet is retried: its message says why and when (Odoo shows
        # only a status icon), from the reason the queue wrote on the notification
        retrying = self.filtered(lambda notification: notification.notification_type == "sms"
                                 and notification.notification_status == "ready" and notification.failure_reason)
        for notification in retrying:
            store.add(notification, {"didww_status_text": notification.failure_reason})
        return result
