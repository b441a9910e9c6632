/** @odoo-module **/
// A new administrator in Settings: with DIDWW off only its switch shows and Odoo IAP still sells
// SMS credits; once on, the webhook, numbers, API v3 and VoIP boxes appear with their help in
// view, the webhook title is not greyed, and IAP's credits are replaced by a DIDWW note.
import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("didww_settings_visibility_tour", {
    steps: () => [
        { trigger: "#didww_sms" },
        {
            content: "DIDWW off: only its switch",
            trigger: ".o_form_view:not(:has(#didww_webhook)):not(:has(#didww_numbers)):not(:has(#didww_api)):not(:has(#didww_voip)):not(:has(#didww_cdr))",
        },
        { content: "Odoo IAP sells credits while DIDWW is off", trigger: "#sms:contains(Buy Credits)" },
        { trigger: "#didww_sms input[type=checkbox]", run: "click" },
        { trigger: "#didww_webhook" },
        { trigger: "#didww_numbers" },
        { trigger: "#didww_api:contains(short-lived access tokens)" },
        { trigger: "#didww_cdr" },
        { trigger: "#didww_voip" },
        { content: "regional URLs in view", trigger: "#didww_sms:contains(https://eu.sms-out.didww.com (EU))" },
        { content: "what the rate fields mean", trigger: "#didww_sms:contains(at most this many requests per second)" },
        { content: "the webhook title is not greyed", trigger: "#didww_webhook .o_form_label:not(.text-muted):not(.o_form_label_readonly):contains(DIDWW: webhook)" },
        { content: "no IAP credits for a DIDWW company", trigger: "#sms:not(:contains(Buy Credits)):contains(leave through DIDWW)" },
        { content: "leave it as it was", trigger: ".o_control_panel button:contains(Discard)", run: "click" },
        { trigger: "body:not(:has(.o_form_dirty)) #didww_sms input[type=checkbox]:not(:checked)" },
    ],
});
