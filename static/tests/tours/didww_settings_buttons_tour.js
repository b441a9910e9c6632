/** @odoo-module **/

import { registry } from "@web/core/registry";

/**
 * An administrator finds DIDWW by searching Settings, types the API key and presses *Import
 * numbers* at once: no "unsaved changes" dialog, the numbers are imported, the page is not reloaded
 * and the search stays. *Check balance* shows the balance in dollars next to the button, *Test
 * connection* checks the trunk, *Regenerate secret* shows the new URL in place. The webhook URL on
 * a local address carries a warning; the API URL and the labels are shown whole.
 */

function notReloaded() {
    if (!window.__didwwSamePage) {
        throw new Error("the web client was reloaded");
    }
    const search = document.querySelector(".o_searchview_input");
    if (!search || search.value !== "DIDWW") {
        throw new Error(`the search was lost: ${search && search.value}`);
    }
}

registry.category("web_tour.tours").add("didww_connector_settings_buttons_tour", {
    url: "/odoo/settings",
    steps: () => [
        {
            content: "Search the settings for DIDWW",
            trigger: ".o_searchview_input",
            run: "edit DIDWW",
        },
        {
            content: "Only the DIDWW settings are shown; mark the page to see whether it reloads",
            trigger: "#didww_api:not(.d-none)",
            run() {
                window.__didwwSamePage = true;
            },
        },
        {
            content: "The API URL field holds DIDWW's longest URL whole (not cut)",
            trigger: "#didww_sms div[name='didww_sms_api_url'] input",
            run() {
                const style = getComputedStyle(this.anchor);
                const context = document.createElement("canvas").getContext("2d");
                context.font = `${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
                const needed = context.measureText("https://eu.sms-out.didww.com").width;
                const room =
                    this.anchor.clientWidth -
                    parseFloat(style.paddingLeft) -
                    parseFloat(style.paddingRight);
                if (needed > room) {
                    throw new Error(`the API URL is cut: ${needed}px of text in ${room}px`);
                }
            },
        },
        {
            content: "The labels stay on one line",
            trigger: "#didww_sms .o_setting_right_pane",
            run() {
                const labels = [
                    ...document.querySelectorAll("[id^='didww_'] .o_setting_right_pane .row label"),
                ];
                if (labels.length < 4) {
                    throw new Error(`expected the settings' labels, found ${labels.length}`);
                }
                for (const label of labels) {
                    const lineHeight = parseFloat(getComputedStyle(label).lineHeight) || 21;
                    if (label.offsetParent && label.getBoundingClientRect().height > lineHeight * 1.5) {
                        throw new Error(`the label "${label.textContent.trim()}" wraps`);
                    }
                }
            },
        },
        {
            content: "The webhook URL on a local address says DIDWW cannot reach it",
            trigger: "#didww_webhook .o_didww_webhook_warning:contains('DIDWW cannot reach it')",
        },
        {
            content: "Import numbers is offered before any API key is typed",
            trigger: "#didww_numbers button[name='action_didww_import_numbers']",
        },
        {
            content: "Type the API key",
            trigger: "#didww_api div[name='didww_api_key'] input",
            run: "edit API-KEY-1",
        },
        {
            content: "Import numbers right away",
            trigger: "#didww_numbers button[name='action_didww_import_numbers']",
            run: "click",
        },
        {
            content: "The numbers are imported, said in a notification",
            trigger: ".o_notification:contains('DIDWW numbers imported'):contains('1 created')",
        },
        {
            content: "No dialog was opened, the page was not reloaded, and the count is updated",
            trigger: "#didww_numbers div[name='didww_sms_number_count']:contains('3')",
            run() {
                if (document.querySelector(".modal")) {
                    throw new Error("a dialog opened");
                }
                notReloaded();
            },
        },
        {
            content: "Check the balance",
            trigger: "#didww_api button[name='action_didww_check_balance']",
            run: "click",
        },
        {
            content: "The balance shows next to the button, in dollars",
            trigger: "#didww_api div[name='didww_balance']:contains('$'):contains('12.50')",
            run: notReloaded,
        },
        {
            content: "Test the trunk's username and password",
            trigger: "#didww_sms button[name='action_didww_test_sms_trunk']",
            run: "click",
        },
        {
            content: "DIDWW accepted them; nothing was sent",
            trigger: ".o_notification:contains('accepted the trunk username and password')",
            run: notReloaded,
        },
        {
            content: "Regenerate the webhook secret (the URL ends with the test's old secret)",
            trigger:
                "#didww_webhook:has(div[name='didww_webhook_url']:contains('tour-old-secret')) button[name='action_didww_regenerate_webhook_secret']",
            run: "click",
        },
        {
            content: "Confirm",
            trigger: ".modal .modal-footer .btn-primary",
            run: "click",
        },
        {
            content: "A notification says the old URL no longer works",
            trigger: ".o_notification:contains('The old URL no longer works')",
        },
        {
            content: "The new URL is shown in place, with the search kept",
            trigger:
                "#didww_webhook div[name='didww_webhook_url']:contains('/didww/webhook/'):not(:contains('tour-old-secret'))",
            run: notReloaded,
        },
            {
            content: "Open the SMS numbers",
            trigger: "#didww_numbers button[name='action_didww_open_numbers']",
            run: "click",
        },
        {
            content: "Open the imported number",
            trigger: ".o_list_view .o_data_row td[name='number']:contains('+12125550777')",
            run: "click",
        },
        {
            content: "Outside developer mode the form shows no DIDWW technical id",
            trigger: ".o_form_view div[name='number'] input",
            run() {
                if (document.querySelector(".o_form_view [name='didww_did_id']")) {
                    throw new Error("the DIDWW DID id is shown outside developer mode");
                }
            },
        },
    ],
});
