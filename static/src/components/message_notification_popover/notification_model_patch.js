import { Notification } from "@mail/core/common/notification_model";
import { _t } from "@web/core/l10n/translation";
import { deserializeDateTime, formatDateTime } from "@web/core/l10n/dates";
import { patch } from "@web/core/utils/patch";

const { DateTime } = luxon;

patch(Notification.prototype, {
    /**
     * Why an SMS is retried, and when its next attempt is, in the reader's time zone: the hour
     * alone today, with the date otherwise (models/mail_notification.py sends both).
     */
    get didwwRetryText() {
        if (!this.didww_status_text) {
            return "";
        }
        if (!this.didww_retry_at) {
            return this.didww_status_text;
        }
        const when = deserializeDateTime(this.didww_retry_at);
        const time = when.hasSame(DateTime.now(), "day")
            ? when.toLocaleString(DateTime.TIME_SIMPLE)
            : formatDateTime(when, { showSeconds: false });
        return _t("%(reason)s; trying again at %(time)s", { reason: this.didww_status_text, time });
    },
});
