import { Message } from "@mail/core/common/message_model";
import { _t } from "@web/core/l10n/translation";
import { patch } from "@web/core/utils/patch";

patch(Message.prototype, {
    /** An SMS a customer sent: an SMS message that texted nobody (the users told of it got a note). */
    get didwwIsReceivedSms() {
        return (
            this.message_type === "sms" &&
            !this.notifications.some((notification) => notification.notification_type === "sms")
        );
    },

    get didwwSmsLabel() {
        return _t("SMS");
    },
});
