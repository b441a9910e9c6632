/** @odoo-module **/
// A follow-up texted to many leads failed for one of them: the lead shows the SMS icon in red,
// which opens Odoo's Sending Failures dialog with DIDWW's reason, and sends it again from there.
import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("didww_lead_sms_failure_tour", {
    steps: () => [
        {
            content: "the failed SMS is red on the lead",
            trigger: ".o-mail-Message:contains(Hello Ona) .o-mail-Message-notification.text-danger",
            run: "click",
        },
        { content: "with the reason", trigger: ".modal:contains(No DIDWW number to send from)" },
        { trigger: ".modal button[name=action_resend]", run: "click" },
        { content: "sent again (the test checks DIDWW got it)", trigger: "body:not(:has(.modal))" },
    ],
});
