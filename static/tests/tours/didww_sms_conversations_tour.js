/** @odoo-module **/
// The SMS Conversations list: each line names the customer (the contact, not the lead's title), the
// number, the document and the direction; a STOP line stands out; a line opens its document, where
// the customer's SMS shows as an SMS by the customer (the SMS icon, no technical header).
import { registry } from "@web/core/registry";

function listSteps() {
    return [
        { content: "the columns that identify a conversation", trigger: ".o_list_table thead:contains(Customer):contains(Customer number):contains(Document):contains(Direction)" },
        {
            content: "an SMS sent on a lead: its customer, number, lead and direction",
            trigger: ".o_data_row:contains(Petras Bike):contains(+370 610 00008):contains(Blue bike) td[name=direction]:contains(Sent)",
        },
        {
            content: "a STOP line stands out",
            trigger: ".o_data_row.text-muted:contains(Jonas Stop) td[name=opt_keyword]:contains(Opted out (STOP))",
        },
        {
            content: "an SMS received from a contact",
            trigger: ".o_data_row:contains(Ona Customer):contains(+370 41 654321) td[name=direction]:contains(Received)",
            run: "click",
        },
        { content: "the line opened the contact", trigger: ".o_form_view .o_field_widget[name=name]:contains(Ona Customer), .o_form_view .o_field_widget[name=name] input" },
        {
            content: "the customer's SMS, by the customer, with the SMS icon",
            trigger: ".o-mail-Message:contains(Is the blue bike still available?):has(.o-mail-Message-author:contains(Ona Customer)) .o-mail-Message-notification i.fa-mobile",
        },
        {
            content: "no technical header; the DIDWW number on a discreet line",
            trigger: ".o-mail-Message:contains(Is the blue bike still available?):not(:contains(SMS received)) .o-didww-sms-to:contains(Texted to +370 41 123456)",
        },
    ];
}

registry.category("web_tour.tours").add("didww_sms_conversations_tour", { steps: listSteps });

registry.category("web_tour.tours").add("didww_sms_conversations_admin_tour", {
    steps: () => [
        { trigger: '.dropdown-toggle[data-menu-xmlid="didww_connector.didww_menu_root"]', run: "click" },
        { trigger: '.dropdown-item[data-menu-xmlid="didww_connector.didww_sms_session_menu"]', run: "click" },
        { content: "the same list, with the same words", trigger: ".o_breadcrumb:contains(SMS Conversations)" },
        ...listSteps(),
    ],
});
