/** @odoo-module **/

import { registry } from "@web/core/registry";

/**
 * An internal user (not an administrator) opens My Preferences, picks their VoIP provider and enters
 * their VoIP username and secret; the secret field is masked. The Python test checks what was saved.
 */
registry.category("web_tour.tours").add("didww_connector_voip_preferences_tour", {
    url: "/odoo",
    steps: () => [
        {
            content: "Open the user menu",
            trigger: ".o_user_menu button",
            run: "click",
        },
        {
            content: "Open My Preferences",
            trigger: "[data-menu='settings']",
            run: "click",
        },
        {
            content: "Open the VoIP tab",
            trigger: ".modal .o_notebook .nav-link:contains('VoIP')",
            run: "click",
        },
        {
            content: "Pick the VoIP provider",
            trigger: ".modal div[name='didww_voip_provider_id'] input",
            run: "edit Tour PBX",
        },
        {
            trigger: ".o-autocomplete--dropdown-item:contains('Tour PBX')",
            run: "click",
        },
        {
            content: "Enter the VoIP username",
            trigger: ".modal div[name='didww_voip_username'] input",
            run: "edit 1001",
        },
        {
            content: "Enter the VoIP secret in a masked field",
            trigger: ".modal div[name='didww_voip_secret'] input[type='password']",
            run: "edit s3cret-from-tour",
        },
        {
            content: "Save the preferences",
            trigger: ".modal button[name='preference_save']",
            run: "click",
        },
        {
            content: "The preferences dialog is closed",
            trigger: "body:not(:has(.modal))",
        },
    ],
});
