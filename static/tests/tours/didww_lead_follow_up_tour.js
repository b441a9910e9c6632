/** @odoo-module **/
// A salesperson texts a follow-up to several leads at once: the Action menu has one "Send SMS"
// and the follow-up entry, the composer says how many will be texted before anything leaves, a
// notification says what happened, and each lead shows its SMS with its status.
import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("didww_lead_follow_up_tour", {
    steps: () => [
        ...["Tour lead A", "Tour lead B", "Tour lead C"].map((name) => ({
            content: `select ${name}`,
            trigger: `.o_data_row:contains("${name}") .o_list_record_selector input`,
            run: "click",
        })),
        { content: "open the Action menu", trigger: ".o_cp_action_menus button:contains(Actions)", run: "click" },
        {
            content: "one Send SMS entry point: no 'Send SMS (DIDWW)' next to Odoo's",
            trigger: ".o-dropdown--menu:has(.o-dropdown-item:contains(Send SMS)):not(:has(.o-dropdown-item:contains((DIDWW))))",
        },
        { trigger: ".o-dropdown--menu .o-dropdown-item:contains(Send follow-up SMS)", run: "click" },
        {
            content: "before sending: how many will be texted, and why one is skipped",
            trigger: ".modal [name=didww_recipients_info]:contains(2 of the 3 selected will be texted):contains(Opted out (1))",
        },
        { content: "the sender is named", trigger: ".modal [name=didww_source_info]:contains(your number)" },
        { content: "no link to Odoo IAP's SMS prices", trigger: ".modal .o_sms_count:not(:has(a))" },
        { trigger: ".modal button[name=action_send_sms]", run: "click" },
        { content: "it says what it did", trigger: ".o_notification:contains(2 SMS on their way):contains(Opted out (1))" },
        { content: "the list is back, selection cleared", trigger: "body:not(:has(.modal)) .o_list_view:not(:has(.o_data_row_selected))" },
        { trigger: '.o_data_row:contains("Tour lead A") td[name=name]', run: "click" },
        { trigger: ".o_form_view .o_field_widget[name=name]:contains(Tour lead A), .o_form_view [name=name] textarea:value(Tour lead A)" },
        {
            content: "the SMS is on the lead with its status icon",
            trigger: ".o-mail-Message:contains(Hello Ona) .o-mail-Message-notification .fa-mobile",
        },
    ],
});
