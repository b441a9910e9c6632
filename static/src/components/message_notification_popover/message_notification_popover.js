import { MessageNotificationPopover } from "@mail/core/common/message_notification_popover";
import { _t } from "@web/core/l10n/translation";
import { deserializeDateTime, formatDateTime } from "@web/core/l10n/dates";
import { patch } from "@web/core/utils/patch";

const { DateTime } = luxon;

patch(MessageNotificationPopover.prototype, {
    /**
     * Why an SMS is retried, and when its next attempt is, in the reader's time zone: the hour
     * alone today, with the date otherwise (models/mail_notification.py sends both).
     */
    didwwRetryText(notification) {
        if (!notification.didww_status_text) {
            return "";
        }
        if (!notification.didww_retry_at) {
            return notification.didww_status_text;
        }
        const when = deserializeDateTime(notification.didww_retry_at);
        const time = when.hasSame(DateTime.now(), "day")
            ? when.toLocaleString(DateTime.TIME_SIMPLE)
            : formatDateTime(when, { showSeconds: false });
        return _t("%(reason)s; trying again at %(time)s", {
            reason: notification.didww_status_text,
            time,
        });
    },
});
