import { contains, openFormView, start, startServer } from "@mail/../tests/mail_test_helpers";
import { describe, test } from "@odoo/hoot";
import { defineSMSModels } from "@sms/../tests/sms_test_helpers";
import { serverState } from "@web/../tests/web_test_helpers";

describe.current.tags("desktop");
defineSMSModels();

/** An SMS the customer sent, as didww.sms.inbound posts it: message type 'sms', the customer as author. */
function receivedSms(pyEnv, partnerId, body) {
    return pyEnv["mail.message"].create({
        author_id: partnerId,
        body,
        message_type: "sms",
        model: "res.partner",
        res_id: partnerId,
    });
}

test("a customer's SMS shows the SMS icon, not the envelope of the users told of it", async () => {
    const pyEnv = await startServer();
    const partnerId = pyEnv["res.partner"].create({ name: "Ona Customer", partner_share: true });
    const messageId = receivedSms(pyEnv, partnerId, "Is the blue one still available?");
    pyEnv["mail.notification"].create({
        mail_message_id: messageId,
        notification_status: "sent",
        notification_type: "email",
        res_partner_id: serverState.partnerId,
    });
    await start();
    await openFormView("res.partner", partnerId);
    await contains(".o-mail-Message", { text: "Is the blue one still available?" });
    await contains(".o-mail-Message-notification i.fa-mobile");
    await contains(".o-mail-Message-notification", { text: "SMS" });
    await contains(".o-mail-Message-notification i.fa-envelope-o", { count: 0 });
});

test("a customer's SMS nobody was told of shows the SMS icon too", async () => {
    const pyEnv = await startServer();
    const partnerId = pyEnv["res.partner"].create({ name: "Ona Customer", partner_share: true });
    receivedSms(pyEnv, partnerId, "Thanks!");
    await start();
    await openFormView("res.partner", partnerId);
    await contains(".o-mail-Message", { text: "Thanks!" });
    await contains(".o-didww-received-sms i.fa-mobile");
});

test("a customer's SMS appears on the open chatter without a reload", async () => {
    const pyEnv = await startServer();
    const partnerId = pyEnv["res.partner"].create({ name: "Ona Customer", partner_share: true });
    await start();
    await openFormView("res.partner", partnerId);
    await contains(".o-mail-Thread");
    await contains(".o-mail-Message", { count: 0 });
    receivedSms(pyEnv, partnerId, "Can you call me back?");
    const [self] = pyEnv["res.partner"].read(serverState.partnerId);
    pyEnv["bus.bus"]._sendone(self, "didww_connector/sms_received", { model: "res.partner", id: partnerId });
    await contains(".o-mail-Message", { text: "Can you call me back?" });
    await contains(".o-didww-received-sms i.fa-mobile");
});
