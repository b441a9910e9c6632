from odoo import fields, models


class MailNotification(models.Model):
    _inherit = "mail.notification"

    # an SMS the sending company's consent ledger stops where it leaves (didww.sms.rules)
    failure_type = fields.Selection(selection_add=[("sms_blacklist", "Opted out")],
                                    ondelete={"sms_blacklist": "set null"})

    def _to_store(self, store, /):
        result = super()._to_store(store)
        # an SMS that DIDWW has not taken yet is retried: its message says why and when (Odoo shows
        # only a status icon), from the reason the queue wrote on the notification and the SMS's
        # next attempt (rendered in the reader's time zone by the popover). Every SMS notification
        # says it, False included, so that the line goes away live once the SMS is sent.
        sms_notifications = self.filtered(lambda notification: notification.notification_type == "sms")
        retrying = sms_notifications.filtered(
            lambda notification: notification.notification_status == "ready" and notification.failure_reason)
        next_attempt = {}
        if retrying:
            # sudo: sms.sms and sms.tracker are technical records; this reads when the SMS is tried again
            trackers_sudo = retrying.sudo().sms_tracker_ids
            sms_sudo = self.env["sms.sms"].sudo().search([("uuid", "in", trackers_sudo.mapped("sms_uuid"))])
            by_uuid = {sms.uuid: sms.didww_next_attempt for sms in sms_sudo}
            next_attempt = {tracker.mail_notification_id.id: by_uuid.get(tracker.sms_uuid) for tracker in trackers_sudo}
        for notification in sms_notifications:
            is_retrying = notification in retrying
            when = next_attempt.get(notification.id)
            store.add(notification, {
                "didww_status_text": notification.failure_reason if is_retrying else False,
                "didww_retry_at": fields.Datetime.to_string(when) if is_retrying and when else False,
            })
        return result
