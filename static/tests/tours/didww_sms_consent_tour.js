/** @odoo-module **/
// A salesperson opens a contact who texted STOP to the company's number: the SMS consent tab shows
// the company's opt-out and its history; the composer opened from the phone field says the SMS
// will not be sent.
import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("didww_connector_sms_consent_tour", {
    steps: () => [
        {
            content: "The contact has an SMS consent tab",
            trigger: ".o_notebook .nav-link:contains('SMS consent')",
            run: "click",
        },
        {
            content: "Opted out of the company",
            trigger: ".o_notebook div[name='didww_consent_ids'] .o_data_row:contains('+12125550199'):contains('Opted out')",
        },
        {
            content: "The history shows the STOP texted to the company's number",
            trigger: ".o_notebook div[name='didww_consent_event_ids'] .o_data_row:contains('STOP'):contains('texting STOP to +19179056077')",
        },
        {
            content: "Click the SMS button of the phone field (shown when the mouse is over the field)",
            trigger: ".o_form_view div[name='phone'] .o_field_phone_sms:not(:visible)",
            run: "click",
        },
        {
            content: "The composer says this SMS will not be sent",
            trigger: ".modal [name='didww_optout_warning']:contains('opted out of SMS from'):contains('will not be sent')",
        },
        { trigger: ".modal button:contains(Close)", run: "click" },
        { trigger: "body:not(:has(.modal))" },
    ],
});

// An administrator finds the consent history under Settings > DIDWW, for an export.
registry.category("web_tour.tours").add("didww_connector_sms_consent_audit_tour", {
    steps: () => [
        {
            content: "The history lists the STOP",
            trigger: ".o_list_view .o_data_row:contains('+12125550199'):contains('STOP')",
        },
        {
            content: "Select every line for the export",
            trigger: ".o_list_view thead .o_list_record_selector input",
            run: "click",
        },
        {
            content: "Export is offered in the Actions menu",
            trigger: ".o_control_panel .o_cp_action_menus button",
            run: "click",
        },
        { trigger: ".o-dropdown--menu .o-dropdown-item:contains('Export')" },
    ],
});
