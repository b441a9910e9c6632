/** @odoo-module **/
// An SMS that DIDWW did not take yet says why and when it is tried again; the SMS queue runs
// (as its cron does), DIDWW takes it, and the open page drops the line and says Sent, with no
// reload: the bus message of the send is all that reaches the page.
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
            content: "why in words, and when (no HTTP code)",
            trigger: ".o-mail-MessageNotificationPopover .o-didww-retrying:contains(DIDWW is temporarily unavailable; trying again at):not(:contains(503))",
        },
        {
            content: "the SMS queue runs now, as an administrator's 'Run Manually' of its cron",
            trigger: ".o-mail-MessageNotificationPopover i.fa-send-o",
            async run() {
                const [cronId] = await rpc("/web/dataset/call_kw/ir.cron/search", {
                    model: "ir.cron",
                    method: "search",
                    args: [[["cron_name", "=", "SMS: SMS Queue Manager"]]],
                    kwargs: {},
                });
                await rpc("/web/dataset/call_kw/ir.cron/method_direct_trigger", {
                    model: "ir.cron",
                    method: "method_direct_trigger",
                    args: [[cronId]],
                    kwargs: {},
                });
            },
        },
        {
            content: "the open popover says Sent, and the line is gone, without a reload",
            trigger: ".o-mail-MessageNotificationPopover:has(i.fa-paper-plane-o[title=Sent]):not(:has(.o-didww-retrying))",
        },
    ],
});
