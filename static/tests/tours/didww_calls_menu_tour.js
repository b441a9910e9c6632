/** @odoo-module **/

import { registry } from "@web/core/registry";

/**
 * A user without a softphone finds no Calls app; an administrator opens Calls and, with no call yet,
 * is told how users get the softphone (not pointed at a phone icon they may not have).
 */
registry.category("web_tour.tours").add("didww_connector_calls_menu_user_tour", {
    url: "/odoo",
    steps: () => [
        {
            content: "Open the apps menu",
            trigger: ".o_navbar_apps_menu button",
            run: "click",
        },
        {
            content: "The apps are listed (CRM among them), Calls is not",
            trigger: ".o-dropdown--menu .o_app[data-menu-xmlid='crm.crm_menu_root']",
            run() {
                if (document.querySelector(".o_app[data-menu-xmlid='didww_connector.didww_call_menu']")) {
                    throw new Error("a user without a softphone sees the Calls app");
                }
            },
        },
    ],
});

registry.category("web_tour.tours").add("didww_connector_calls_menu_admin_tour", {
    url: "/odoo",
    steps: () => [
        {
            content: "Open the apps menu",
            trigger: ".o_navbar_apps_menu button",
            run: "click",
        },
        {
            content: "Open Calls",
            trigger: ".o-dropdown--menu .o_app[data-menu-xmlid='didww_connector.didww_call_menu']",
            run: "click",
        },
        {
            content: "The empty page says how users get the softphone",
            trigger: ".o_view_nocontent:contains('once they have a VoIP provider and username in their Preferences')",
        },
    ],
});
