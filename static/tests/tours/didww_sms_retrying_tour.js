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
            content: "says why in words, and when the next attempt is",
            trigger: ".o-didww-retrying:contains(DIDWW is temporarily unavailable; trying again at)",
        },
    ],
});
