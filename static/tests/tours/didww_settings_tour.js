/** @odoo-module **/

import { registry } from "@web/core/registry";

/**
 * An administrator turns DIDWW on in Settings > General Settings > Integrations, enters the HTTP OUT
 * trunk's credentials, copies the webhook URL, then opens the SMS numbers and edits one.
 */
registry.category("web_tour.tours").add("didww_connector_settings_tour", {
    url: "/odoo/settings",
    steps: () => [
        {
            content: "Open General Settings",
            trigger: ".settings_tab [data-key='general_settings']",
            run: "click",
        },
        {
            content: "Turn on 'DIDWW: send SMS through DIDWW'",
            trigger: "#didww_sms .o_setting_left_pane input[type='checkbox']",
            run: "click",
        },
        {
            content: "Enter the trunk username",
            trigger: "#didww_sms div[name='didww_sms_username'] input",
            run: "edit tour-trunk-user",
        },
        {
            content: "Enter the trunk password: a password field",
            trigger: "#didww_sms div[name='didww_sms_password'] input[type='password']",
            run: "edit tour-trunk-pass",
        },
        {
            content: "Save the settings (the web client reloads)",
            trigger: ".o_form_button_save",
            async run(helpers) {
                // marks the page as it was before saving, so the next step waits for the reload
                document.body.classList.add("o_didww_before_save");
                await helpers.click();
            },
        },
        {
            content: "The settings are saved and DIDWW is on",
            trigger: "body:not(.o_didww_before_save) #didww_sms .o_setting_left_pane input[type='checkbox']:checked",
        },
        {
            content: "The webhook URL is shown",
            trigger: "#didww_webhook div[name='didww_webhook_url']:contains('/didww/webhook/')",
            run() {
                // headless Chromium has no clipboard permission: record what the copy button writes
                window.__didwwCopied = [];
                navigator.clipboard.writeText = async (text) => {
                    window.__didwwCopied.push(text);
                };
            },
        },
        {
            content: "Copy the webhook URL",
            trigger: "#didww_webhook .o_clipboard_button",
            run: "click",
        },
        {
            content: "The copied text is the webhook URL",
            trigger: "#didww_webhook div[name='didww_webhook_url']",
            run() {
                const copied = window.__didwwCopied || [];
                const shown = this.anchor.textContent.trim();
                if (copied.length !== 1 || !copied[0].includes("/didww/webhook/") || !shown.includes(copied[0])) {
                    throw new Error(`copied ${JSON.stringify(copied)}, shown ${shown}`);
                }
            },
        },
        {
            content: "Open the SMS numbers",
            trigger: "#didww_numbers button[name='action_didww_open_numbers']",
            run: "click",
        },
        {
            content: "Open the tour's number",
            trigger: ".o_list_view .o_data_row td[name='number']:contains('+19179056077')",
            run: "click",
        },
        {
            content: "Set a session stickiness of 45 minutes",
            trigger: ".o_form_view div[name='session_stickiness'] input",
            run: "edit 45",
        },
        {
            content: "Save the number",
            trigger: ".o_form_button_save",
            run: "click",
        },
        {
            content: "The number is saved",
            trigger: ".o_form_view .o_form_saved",
        },
    ],
});
