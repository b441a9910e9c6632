/** @odoo-module **/
// An SMS that DIDWW did not take yet says why in words and when it is tried again, in the
// reader's time; once the queue sends it, the line goes away and the icon turns Sent, live.
import { registry } from "@web/core/registry";
import { rpc } from "@web/core/network/rpc";

registry.category("web_tour.tours").add("didww_sms_retry_live_tour", {
    steps: () => [
        {
            content: "the SMS waiting for a retry on the lead",
            trigger: ".o-mail-Message:contains(Still there) .o-mail-Message-notification",
            run: "click",
        },
        {
            content: "why in words, and when (no HTTP code, no UTC)",
            trigger: ".o-didww-retrying:contains(DIDWW is temporarily unavailable; trying again at):not(:contains(503)):not(:contains(UTC))",
        },
        {
            content: "the queue sends it (as its cron would); the message's notifications reach the store as the bus carries them",
            trigger: ".o-didww-retrying",
            async run() {
                const ids = await rpc("/web/dataset/call_kw/sms.sms/search", {
                    model: "sms.sms",
                    method: "search",
                    args: [[["body", "=", "Still there?"], ["state", "=", "outgoing"]]],
                    kwargs: {},
                });
                await rpc("/web/dataset/call_kw/sms.sms/send", {
                    model: "sms.sms", method: "send", args: [ids], kwargs: {},
                });
                // test servers drop the bus's post-commit NOTIFY: the same notification data
                // (mail.notification._to_store) is fetched and inserted as the bus would
                // (test_sms_failures_shown checks the bus message itself)
                const store = odoo.__WOWL_DEBUG__.root.env.services["mail.store"];
                const lead = Object.values(store.Thread.records).find((thread) => thread.model === "crm.lead");
                const result = await rpc("/mail/thread/messages", { thread_model: "crm.lead", thread_id: lead.id });
                store.insert(result.data, { html: true });
            },
        },
        {
            content: "the line goes away without a reload, the icon says Sent",
            trigger: "body:not(:has(.o-didww-retrying)) .o-mail-MessageNotificationPopover, body:not(:has(.o-didww-retrying)):not(:has(.o_popover))",
        },
    ],
});
