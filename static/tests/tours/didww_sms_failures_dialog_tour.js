/** @odoo-module **/
// A salesperson opens the Sending Failures dialog of two failed SMS on a lead: one failed because
// of the trunk's set-up (they are told an administrator was notified, nothing to try again), the
// other because of the number, which they read whole, correct and send again.
import { registry } from "@web/core/registry";

function assertNotCut(content, selector) {
    return {
        content,
        trigger: selector,
        run() {
            const cell = this.anchor;
            if (cell.scrollWidth > cell.clientWidth + 1) {
                throw new Error(`${content}: cut (${cell.scrollWidth}px of text in ${cell.clientWidth}px)`);
            }
        },
    };
}

registry.category("web_tour.tours").add("didww_sms_failures_dialog_tour", {
    steps: () => [
        {
            content: "the SMS that failed on the trunk's set-up is red",
            trigger: ".o-mail-Message:contains(Set-up failure) .o-mail-Message-notification.text-danger",
            run: "click",
        },
        {
            content: "the salesperson is told an administrator was notified",
            trigger: ".modal .o_data_row:contains(your administrator has been notified)",
        },
        {
            content: "no Try Again, no Send & Close: it cannot succeed as it is",
            trigger: ".modal:not(:has(.o_data_row .o_boolean_toggle)):not(:has(button[name=action_resend]))",
        },
        { trigger: ".modal .modal-footer button:contains(Close)", run: "click" },
        { trigger: "body:not(:has(.modal))" },
        {
            content: "the SMS that failed on its number is red",
            trigger: ".o-mail-Message:contains(Number failure) .o-mail-Message-notification.text-danger",
            run: "click",
        },
        { content: "with DIDWW's reason", trigger: ".modal .o_data_row:contains(destination - is invalid)" },
        assertNotCut("the recipient is read whole", ".modal .o_data_row td[name=partner_name]"),
        assertNotCut("the number is read whole", ".modal .o_data_row td[name=sms_number]"),
        { trigger: ".modal .o_data_row td[name=sms_number]", run: "click" },
        { trigger: ".modal .o_data_row td[name=sms_number] input", run: "edit +1 603 995 5556" },
        { content: "Try Again is on", trigger: ".modal .o_data_row .o_boolean_toggle input:checked" },
        { trigger: ".modal button[name=action_resend]", run: "click" },
        { content: "sent again (the test checks what DIDWW got)", trigger: "body:not(:has(.modal))" },
    ],
});
