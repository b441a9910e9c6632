/** @odoo-module **/
// A first number: its Country starts as the company's, so the national number typed as on the
// DIDWW panel is accepted and stored in E.164.
import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("didww_number_country_tour", {
    steps: () => [
        { trigger: ".o_list_button_add, .o-kanban-button-new", run: "click" },
        { content: "the company's country, not a placeholder", trigger: ".o_field_widget[name=country_id] input:value(United States)" },
        { trigger: ".o_field_widget[name=number] input", run: "edit 917 905 6099" },
        { trigger: ".o_form_button_save", run: "click" },
        { trigger: ".o_form_saved, .o_form_view:not(:has(.o_form_button_save:visible))" },
        { trigger: ".o_field_widget[name=number] input:value(+19179056099)" },
    ],
});
