import { registry } from "@web/core/registry";

/**
 * A customer's SMS was posted on a document (didww.sms.inbound._push_to_open_chatters): an open
 * chatter of that document fetches its new messages, as Odoo does after posting from it, whatever
 * the user's notification preference (Odoo pushes new messages only to Inbox notifications).
 */
export const didwwSmsReceivedService = {
    dependencies: ["bus_service"],
    start(env, { bus_service }) {
        bus_service.subscribe("didww_connector/sms_received", ({ model, id }) => {
            env.bus.trigger("MAIL:RELOAD-THREAD", { model, id });
        });
    },
};

registry.category("services").add("didww_sms_received", didwwSmsReceivedService);
