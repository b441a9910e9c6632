/* global JsSIP */
import { loadBundle } from "@web/core/assets";

/** The bundle holding JsSIP (see __manifest__.py), loaded when the softphone starts. */
export const JSSIP_BUNDLE = "didww_connector.assets_jssip";

/** The number or extension of a SIP URI (JsSIP's ``URI``), as dialled. */
export function digitsOf(uri) {
    return uri?.user || "";
}

/**
 * The SIP stack behind the softphone: JsSIP, created with the user's configuration. Tests
 * replace ``createUA`` with a fake user agent that speaks JsSIP's event API (``on``/``start``/
 * ``stop``/``call``, sessions with ``answer``, ``terminate``, ``mute``, ``hold``, ``sendDTMF``).
 */
export const sipStack = {
    /** Load JsSIP, once, when a softphone starts: nobody else downloads or parses it. */
    async load() {
        if (!window.JsSIP) {
            await loadBundle(JSSIP_BUNDLE);
        }
    },

    async createUA(config) {
        await this.load();
        JsSIP.debug.disable("JsSIP:*"); // SIP traces stay out of the console
        return new JsSIP.UA({
            sockets: [new JsSIP.WebSocketInterface(config.websocket_url)],
            uri: config.uri,
            authorization_user: config.username,
            password: config.secret,
            register: true,
            session_timers: true,
            user_agent: "Odoo DIDWW softphone",
            connection_recovery_min_interval: config.recovery_min_interval || 2,
            connection_recovery_max_interval: config.recovery_max_interval || 30,
            // the same Contact and instance for every tab of this browser: the tab taking over the
            // registration replaces the previous tab's contact instead of adding one
            ...(config.contact_uri ? { contact_uri: config.contact_uri, instance_id: config.instance_id } : {}),
        });
    },
    /** JsSIP's cause names (JsSIP.C.causes), available before JsSIP is loaded. */
    causes: {
        CONNECTION_ERROR: "Connection Error",
        REQUEST_TIMEOUT: "Request Timeout",
        SIP_FAILURE_CODE: "SIP Failure Code",
        INTERNAL_ERROR: "Internal Error",
        BUSY: "Busy",
        REJECTED: "Rejected",
        REDIRECTED: "Redirected",
        UNAVAILABLE: "Unavailable",
        NOT_FOUND: "Not Found",
        ADDRESS_INCOMPLETE: "Address Incomplete",
        INCOMPATIBLE_SDP: "Incompatible SDP",
        MISSING_SDP: "Missing SDP",
        AUTHENTICATION_ERROR: "Authentication Error",
        BYE: "Terminated",
        WEBRTC_ERROR: "WebRTC Error",
        CANCELED: "Canceled",
        NO_ANSWER: "No Answer",
        EXPIRES: "Expires",
        NO_ACK: "No ACK",
        DIALOG_ERROR: "Dialog Error",
        USER_DENIED_MEDIA_ACCESS: "User Denied Media Access",
        BAD_MEDIA_DESCRIPTION: "Bad Media Description",
        RTP_TIMEOUT: "RTP Timeout",
    },
};
