import { click, contains, openFormView, start, startServer } from "@mail/../tests/mail_test_helpers";
import { mailDataHelpers } from "@mail/../tests/mock_server/mail_mock_server";
import { describe, expect, test } from "@odoo/hoot";
import { mockDate, mockTimeZone } from "@odoo/hoot-mock";
import { smsModels } from "@sms/../tests/sms_test_helpers";
import { defineModels, models, serverState } from "@web/../tests/web_test_helpers";

describe.current.tags("desktop");

/** The SMS the queue sends, with when it tries a retried one again (fields read from the server). */
class SmsSms extends models.ServerModel {
    _name = "sms.sms";
}

/** Which SMS is a message's notification (sms.tracker, fields read from the server). */
class SmsTracker extends models.ServerModel {
    _name = "sms.tracker";
}

/**
 * mail.notification as models/mail_notification.py gives it to the web client: an SMS notification
 * says why the queue retries it and when, or False for both once it is not retried any more.
 */
class MailNotification extends smsModels.MailNotification {
    _to_store(ids, store) {
        super._to_store(...arguments);
        for (const notification of this.browse(ids)) {
            if (notification.notification_type !== "sms") {
                continue;
            }
            const retrying =
                notification.notification_status === "ready" && Boolean(notification.failure_reason);
            const [tracker] = this.env["sms.tracker"].search_read([
                ["mail_notification_id", "=", notification.id],
            ]);
            const [sms] = tracker
                ? this.env["sms.sms"].search_read([["uuid", "=", tracker.sms_uuid]])
                : [];
            store.add(this.browse(notification.id), {
                didww_status_text: retrying ? notification.failure_reason : false,
                didww_retry_at: (retrying && sms?.didww_next_attempt) || false,
            });
        }
    }
}

defineModels({ ...smsModels, MailNotification, SmsSms, SmsTracker });

test("the retry line of an SMS goes away live once the queue sends it", async () => {
    mockTimeZone(0);
    mockDate("2026-12-01 08:50:00");
    const pyEnv = await startServer();
    const partnerId = pyEnv["res.partner"].create({ name: "Ona Customer", partner_share: true });
    const messageId = pyEnv["mail.message"].create({
        author_id: serverState.partnerId,
        body: "Still there?",
        message_type: "sms",
        model: "res.partner",
        res_id: partnerId,
    });
    // what the queue leaves after DIDWW answered 503 (models/sms_sms.py): ready, with the reason
    const notificationId = pyEnv["mail.notification"].create({
        failure_reason: "DIDWW is temporarily unavailable",
        mail_message_id: messageId,
        notification_status: "ready",
        notification_type: "sms",
        res_partner_id: partnerId,
    });
    pyEnv["sms.sms"].create({
        body: "Still there?",
        didww_next_attempt: "2026-12-01 09:04:00",
        number: "+37041654321",
        state: "outgoing",
        uuid: "6c1f0b3a2d4e4f5a9b8c7d6e5f4a3b2c",
    });
    pyEnv["sms.tracker"].create({
        mail_notification_id: notificationId,
        sms_uuid: "6c1f0b3a2d4e4f5a9b8c7d6e5f4a3b2c",
    });
    await start();
    await openFormView("res.partner", partnerId);
    await contains(".o-mail-Message", { text: "Still there?" });
    await click(".o-mail-Message-notification");
    await contains(".o-mail-MessageNotificationPopover i.fa-send-o[title='Ready']");
    await contains(".o-mail-MessageNotificationPopover .o-didww-retrying", {
        text: "DIDWW is temporarily unavailable; trying again at 9:04 AM",
    });

    // the queue sends it at the next attempt: the SMS leaves, the notification is Sent and its
    // reason is gone; mail.message._notify_message_notification_update tells the author's browser
    pyEnv["sms.sms"].write(pyEnv["sms.sms"].search([]), { state: "sent" });
    pyEnv["mail.notification"].write([notificationId], {
        failure_reason: false,
        notification_status: "pending",
    });
    const store = new mailDataHelpers.Store();
    pyEnv["mail.message"]._message_notifications_to_store([messageId], store);
    const payload = store.get_result();
    // the shape tests/test_sms_failures_shown.py TestRetryShown checks on the real server's bus
    expect(payload["mail.notification"]).toEqual([
        {
            didww_retry_at: false,
            didww_status_text: false,
            failure_type: false,
            id: notificationId,
            message: messageId,
            notification_status: "pending",
            notification_type: "sms",
            persona: { id: partnerId, type: "partner" },
        },
    ]);
    const [author] = pyEnv["res.partner"].read(serverState.partnerId);
    pyEnv["bus.bus"]._sendone(author, "mail.record/insert", payload);

    // the open popover, without a reload: Sent, and no retry line
    await contains(".o-mail-MessageNotificationPopover i.fa-paper-plane-o[title='Sent']");
    await contains(".o-mail-MessageNotificationPopover", { text: "Ona Customer" });
    await contains(".o-didww-retrying", { count: 0 });
    await contains(".o-mail-MessageNotificationPopover i.fa-send-o", { count: 0 });
});
