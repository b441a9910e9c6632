/** @odoo-module **/
// Settings > Technical > SMS: an SMS that DIDWW refused says why in DIDWW's words (not IAP's
// "Unknown error" / "Unregistered Account") and which DIDWW number it was sent from.
import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("didww_sms_list_tour", {
    steps: () => [
        {
            content: "DIDWW's reason, and the number it left from",
            trigger: ".o_data_row:contains(+12125550142):has(td[name=didww_reason]:contains(DIDWW refused this SMS: destination - is invalid)):has(td[name=didww_source]:contains(+19179056077))",
        },
        {
            content: "the trunk's failure says what to fix, not IAP's label",
            trigger: ".o_data_row:contains(+37041654321):has(td[name=didww_reason]:contains(Check the trunk username))",
        },
        {
            content: "no IAP label in the list",
            trigger: ".o_list_view:not(:has(td:contains(Unregistered Account))):not(:has(td:contains(Unknown error)))",
        },
        {
            content: "the number is read whole",
            trigger: ".o_data_row:contains(+12125550142) td[name=number]",
            run() {
                if (this.anchor.scrollWidth > this.anchor.clientWidth + 1) {
                    throw new Error("the number is cut");
                }
            },
        },
    ],
});
