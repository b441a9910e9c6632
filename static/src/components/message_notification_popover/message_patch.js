import { Message } from "@mail/core/common/message";
import { patch } from "@web/core/utils/patch";

patch(Message.prototype, {
    /**
     * Odoo opens the notification popover with the raw message (toRaw): the popover shows the
     * statuses of the click and never renders again. An SMS's popover gets the observed message
     * instead, so that it follows the store while open: when the bus says that an SMS the queue
     * retried is sent, its icon turns Sent and the retry line goes (models/mail_notification.py).
     * Failures keep Odoo's way (the resend dialog).
     */
    onClickNotification(ev) {
        if (this.message.message_type !== "sms" || this.message.failureNotifications.length > 0) {
            return super.onClickNotification(...arguments);
        }
        this.popover.open(ev.target, { message: this.message });
    },
});
