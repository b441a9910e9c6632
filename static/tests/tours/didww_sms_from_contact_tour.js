/** @odoo-module **/

import { registry } from "@web/core/registry";

/**
 * A user opens a contact, clicks the SMS button of the phone field, sees which DIDWW number the SMS
 * leaves from, sends it, and sees the SMS on the chatter with its status ("Sent": DIDWW accepted it).
 */
registry.category("web_tour.tours").add("didww_connector_sms_from_contact_tour", {
    steps: () => [
        {
            content: "Click the SMS button of the phone field (shown when the mouse is over the field)",
            trigger: ".o_form_view div[name='phone'] .o_field_phone_sms:not(:visible)",
            run: "click",
        },
        {
            content: "The composer says which DIDWW number the SMS leaves from",
            trigger: ".modal div[name='didww_source_info']:contains('+19179056077')",
        },
        {
            content: "Write the SMS",
            trigger: ".modal div[name='body'] textarea",
            run: "edit Hello from the DIDWW tour",
        },
        {
            content: "Send it",
            trigger: ".modal button[name='action_send_sms']",
            run: "click",
        },
        {
            content: "The SMS is on the chatter",
            trigger: "body:not(:has(.modal)) .o-mail-Message:contains('Hello from the DIDWW tour') .o-mail-Message-notification",
            run: "click",
        },
        {
            content: "Its status is Sent: DIDWW accepted it",
            trigger: ".o-mail-MessageNotificationPopover i[title='Sent']",
        },
    ],
});
