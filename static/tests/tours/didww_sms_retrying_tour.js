/** @odoo-module **/
// DIDWW did not take an SMS yet: its message says the queue retries it, why and when.
import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("didww_sms_retrying_tour", {
    steps: () => [
        {
            content: "the SMS waiting for a retry on the lead",
            trigger: ".o-mail-Message:contains(Are you there) .o-mail-Message-notification",
            run: "click",
        },
        {
            content: "says which attempt failed, why, and when the next one is",
            trigger: ".o-didww-retrying:contains(Attempt 1 of 6 failed):contains(Next try at)",
        },
    ],
});
