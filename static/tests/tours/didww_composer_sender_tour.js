/** @odoo-module **/
// A user with no DIDWW number opens the composer from a lead's phone: the composer says which
// number the SMS leaves from, that it is the company's, why, and who gets the replies.
import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("didww_composer_sender_tour", {
    steps: () => [
        {
            content: "the SMS button next to the phone (shown on hover)",
            trigger: "[name=phone] .o_field_phone_sms:not(:visible)",
            run: "click",
        },
        {
            trigger: ".modal [name=didww_source_info]:contains(the company's number, because no DIDWW number is assigned to you):contains(Replies go to Sally Sales)",
        },
        { content: "one pair of brackets only", trigger: ".modal [name=didww_source_info]:not(:contains('))'))" },
        { content: "no link to Odoo IAP's SMS prices", trigger: ".modal .o_sms_count:not(:has(a))" },
        { trigger: ".modal button:contains(Close)", run: "click" },
        { trigger: "body:not(:has(.modal))" },
    ],
});
