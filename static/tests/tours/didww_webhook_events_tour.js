/** @odoo-module **/
// An administrator looks at what DIDWW posted: results in words, a status bar with the normal
// flow only, the payload labelled and readable in the code editor (Odoo 18's "javascript" mode).
import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("didww_webhook_events_tour", {
    steps: () => [
        { content: "a status in words", trigger: ".o_data_row td[name=result_display]:contains(DIDWW says Success: the SMS to +37041654321 is Sent)" },
        { content: "an inbound SMS in words", trigger: ".o_data_row td[name=result_display]:contains(SMS posted on Contact)" },
        { trigger: ".o_data_row:contains(Inbound SMS) td[name=kind]", run: "click" },
        { trigger: ".o_form_view [name=result_display]:contains(SMS posted on Contact)" },
        {
            content: "the status bar shows the normal flow only",
            trigger: ".o_statusbar_status:contains(Waiting):contains(Processed):not(:contains(Error)):not(:contains(Ignored))",
        },
        { content: "the payload, labelled", trigger: ".o_notebook .nav-link:contains(Payload)" },
        { content: "readable, one field a line", trigger: ".o_field_ace .ace_editor .ace_line:contains(\"from\")" },
        { trigger: ".o_notebook .nav-link:contains(Technical)", run: "click" },
        { trigger: ".o_form_view [name=dedupe_key]" },
        { trigger: "button[name=action_open_document]", run: "click" },
        { content: "the contact the SMS was posted on", trigger: ".o_form_view .o-mail-Message:contains(Hello from a stranger)" },
    ],
});
