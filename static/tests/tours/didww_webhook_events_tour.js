/** @odoo-module **/
// An administrator looks at what DIDWW posted: outcomes in words with the numbers formatted, what to
// do about an SMS to a number not added yet, its text decoded, Process again answering, a status
// linked to its SMS, a status bar with the normal flow only, the payload readable.
import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("didww_webhook_events_tour", {
    steps: () => [
        { content: "a status in words", trigger: ".o_data_row td[name=result_display]:contains(Handed to the carrier: the SMS to +370 41 654321)" },
        { content: "an inbound SMS in words", trigger: ".o_data_row td[name=result_display]:contains(SMS from +370 691 11222 posted on Contact)" },
        {
            content: "an SMS to a number not added yet, formatted",
            trigger: ".o_data_row td[name=result_display]:contains(Sent to +370 37 200003, which is not one of your DIDWW numbers)",
            run: "click",
        },
        { content: "what to do", trigger: ".o-didww-event-hint:contains(Add +370 37 200003 in Settings > DIDWW > SMS numbers):contains(Process again)" },
        { content: "the text, decoded", trigger: ".o_form_view [name=sms_text]:contains(Labas, ar dar turite?)" },
        { content: "no past time as next attempt", trigger: ".o_form_view:not(:has([name=next_attempt_display]))" },
        { trigger: ".o_form_view .o_statusbar_buttons button[name=action_process_again]", run: "click" },
        { content: "Process again answers", trigger: ".o_notification:contains(Not processed yet):contains(Sent to +370 37 200003)" },
        { trigger: ".breadcrumb-item:contains(DIDWW webhook events)", run: "click" },
        { trigger: ".o_data_row:contains(Inbound SMS):contains(SMS from) td[name=kind]", run: "click" },
        { trigger: ".o_form_view [name=result_display]:contains(SMS from +370 691 11222 posted on Contact)" },
        {
            content: "the status bar shows the normal flow only",
            trigger: ".o_statusbar_status:contains(Waiting):contains(Processed):not(:contains(Error)):not(:contains(Ignored))",
        },
        { content: "the payload, labelled", trigger: ".o_notebook .nav-link:contains(Payload)" },
        { content: "readable, one field a line", trigger: ".o_field_ace .ace_editor .ace_line:contains(\"from\")" },
        { trigger: ".o_notebook .nav-link:contains(Technical)", run: "click" },
        { trigger: ".o_form_view [name=dedupe_key]" },
        { trigger: "button[name=action_open_document]:contains(Open document)", run: "click" },
        { content: "the contact the SMS was posted on", trigger: ".o_form_view .o-mail-Message:contains(Hello from a stranger)" },
        { trigger: ".breadcrumb-item:contains(DIDWW webhook events)", run: "click" },
        { trigger: ".o_data_row:contains(SMS status) td[name=kind]", run: "click" },
        { content: "DIDWW's own words", trigger: ".o_form_view [name=didww_report]:contains(Success)" },
        { content: "the SMS's document", trigger: ".o_form_view [name=target_name]:contains(Contact Ona Customer)" },
        { trigger: "button[name=action_open_document]:contains(Open SMS)", run: "click" },
        { content: "the SMS on its chatter", trigger: ".o_form_view .o-mail-Message:contains(Status please)" },
    ],
});
