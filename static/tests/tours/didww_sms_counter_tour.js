/** @odoo-module **/

import { registry } from "@web/core/registry";

/**
 * The SMS counter outside the composer (an SMS template here; SMS Marketing's mailing uses the same
 * widget): for a company sending through DIDWW it says so instead of linking Odoo IAP's prices.
 */
registry.category("web_tour.tours").add("didww_connector_sms_counter_tour", {
    steps: () => [
        {
            content: "Type an SMS",
            trigger: ".o_form_view div[name='body'] textarea",
            run: "edit Hello from DIDWW",
        },
        {
            content: "The counter says the SMS go through DIDWW, with no link to IAP's prices",
            trigger: ".o_sms_container:contains('characters') .o_didww_sms_route:contains('sent through DIDWW')",
            run() {
                if (document.querySelector(".o_sms_container a.fa-info-circle")) {
                    throw new Error("the counter still links Odoo IAP's SMS prices");
                }
            },
        },
    ],
});

registry.category("web_tour.tours").add("didww_connector_sms_counter_iap_tour", {
    steps: () => [
        {
            content: "Type an SMS",
            trigger: ".o_form_view div[name='body'] textarea",
            run: "edit Hello from IAP",
        },
        {
            content: "A company not on DIDWW keeps Odoo's link to IAP's prices",
            trigger: ".o_sms_container a.fa-info-circle",
            run() {
                if (document.querySelector(".o_didww_sms_route")) {
                    throw new Error("the counter speaks of DIDWW for a company not on it");
                }
            },
        },
    ],
});
