/* global JsSIP */
import { reactive } from "@odoo/owl";
import { browser } from "@web/core/browser/browser";
import { _t } from "@web/core/l10n/translation";
import { rpc } from "@web/core/network/rpc";
import { registry } from "@web/core/registry";
import { session } from "@web/session";

/** localStorage key remembering that the user switched the softphone off (no secret is stored). */
export const OFF_KEY = "didww_connector.softphone_off";

/** Failure reasons, as shown to the user. */
export const REASONS = {
    credentials: _t("Wrong credentials: check your VoIP username and secret in My Preferences"),
    unreachable: _t("Server unreachable"),
    microphone: _t("Microphone access denied: allow it in the browser to call"),
    config: _t("The softphone configuration could not be loaded"),
};

const BUSY = { status_code: 486, reason_phrase: "Busy Here" };

/**
 * The SIP stack behind the softphone. Tests replace ``createUA`` with a fake user agent that
 * speaks JsSIP's event API (``on``/``start``/``stop``/``call``, sessions with ``answer``,
 * ``terminate``, ``mute``, ``hold``, ``sendDTMF``).
 */
export const sipStack = {
    createUA(config) {
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
        });
    },
    /** JsSIP's cause names (JsSIP.C.causes), available before JsSIP is loaded in tests. */
    causes: {
        AUTHENTICATION_ERROR: "Authentication Error",
        BUSY: "Busy",
        REJECTED: "Rejected",
        CANCELED: "Canceled",
        NO_ANSWER: "No Answer",
        USER_DENIED_MEDIA_ACCESS: "User Denied Media Access",
        CONNECTION_ERROR: "Connection Error",
        REQUEST_TIMEOUT: "Request Timeout",
        BYE: "Terminated",
    },
};

function digitsOf(uri) {
    return uri?.user || "";
}

export class Softphone {
    constructor(env, { orm, notification }) {
        this.env = env;
        this.orm = orm;
        this.notification = notification;
        this.ua = null;
        this.session = null;
        this.audio = null;
        this.timer = null;
        this.state = reactive({
            available: Boolean(session.didww_softphone),
            enabled: !browser.localStorage.getItem(OFF_KEY),
            status: "off", // off | registering | ready | reconnecting | failed
            reason: "", // credentials | unreachable | microphone | config
            wasRegistered: false,
            call: null, // {direction, number, name, status: calling|ringing|active, muted, held, ...}
            lastCall: null, // {number, name, outcome, reason}
            elapsed: 0, // seconds since the call was answered
        });
    }

    get reasonText() {
        return REASONS[this.state.reason] || this.state.reason;
    }

    /** A call can be placed right now (registered, not in a call). */
    get canCall() {
        return this.state.status === "ready" && !this.state.call;
    }

    async start() {
        if (!this.state.available || !this.state.enabled || this.ua) {
            return;
        }
        this.state.status = "registering";
        this.state.reason = "";
        let config;
        try {
            // the secret travels only here: kept in memory by the SIP stack, never stored
            config = await rpc("/didww/voip/config", {}, { silent: true });
        } catch {
            this.state.status = "failed";
            this.state.reason = "config";
            return;
        }
        if (!this.state.enabled) {
            return;
        }
        if (!config.websocket_url || !config.uri || !config.secret) {
            this.state.status = "off";
            this.state.available = false;
            return;
        }
        this.pbx = config.pbx_server;
        const ua = sipStack.createUA(config);
        this.ua = ua;
        ua.on("connecting", () => {
            if (this.state.status !== "reconnecting" && this.state.status !== "failed") {
                this.state.status = "registering";
            }
        });
        ua.on("registered", () => {
            this.state.status = "ready";
            this.state.reason = "";
            this.state.wasRegistered = true;
        });
        ua.on("registrationFailed", ({ cause }) => {
            if (cause === sipStack.causes.AUTHENTICATION_ERROR) {
                this.state.status = "failed";
                this.state.reason = "credentials";
                this.ua = null;
                ua.stop(); // retrying with the same secret cannot succeed
            } else if (cause === sipStack.causes.CONNECTION_ERROR || cause === sipStack.causes.REQUEST_TIMEOUT) {
                this._unreachable();
            } else {
                this.state.status = "failed";
                this.state.reason = cause;
            }
        });
        ua.on("disconnected", () => {
            if (this.ua === ua) {
                this._unreachable();
            }
        });
        ua.on("newRTCSession", ({ originator, session: sipSession, request }) => {
            if (originator === "remote") {
                this._onIncoming(sipSession, request);
            }
        });
        ua.start();
    }

    /** The WebSocket dropped or never opened: JsSIP retries with an exponential backoff. */
    _unreachable() {
        this.state.status = this.state.wasRegistered ? "reconnecting" : "failed";
        this.state.reason = "unreachable";
    }

    stop() {
        const ua = this.ua;
        this.ua = null;
        if (this.session) {
            this.hangup();
        }
        if (ua) {
            ua.stop();
        }
        this.state.status = "off";
        this.state.reason = "";
        this.state.wasRegistered = false;
    }

    /** Switch the softphone on or off (remembered in this browser). */
    async setEnabled(enabled) {
        this.state.enabled = enabled;
        if (enabled) {
            browser.localStorage.removeItem(OFF_KEY);
            await this.start();
        } else {
            browser.localStorage.setItem(OFF_KEY, "1");
            this.stop();
        }
    }

    /**
     * Call ``number``; ``resModel``/``resId`` designate the document it was clicked on (its
     * country formats the number, its chatter gets the note).
     */
    async dial(number, { resModel = false, resId = false } = {}) {
        if (!this.canCall) {
            return false;
        }
        const call = { direction: "outgoing", number, name: "", status: "calling", muted: false, held: false };
        this.state.call = call;
        this.state.lastCall = null;
        const prepared = await this.orm.call("didww.call", "didww_outgoing", [number], {
            res_model: resModel, res_id: resId,
        });
        if (prepared.error) {
            this.state.call = null;
            this.notification.add(prepared.error, { type: "danger" });
            return false;
        }
        Object.assign(this.state.call, { number: prepared.number, name: prepared.name || "", recordId: prepared.id });
        const target = `sip:${prepared.number}@${this.pbx}`;
        let sipSession;
        try {
            sipSession = this.ua.call(target, {
                mediaConstraints: { audio: true, video: false },
                rtcOfferConstraints: { offerToReceiveAudio: true, offerToReceiveVideo: false },
            });
        } catch (error) {
            this._ended("failed", error.message || String(error));
            return false;
        }
        this._bind(sipSession);
        return true;
    }

    async _onIncoming(sipSession, request) {
        const number = digitsOf(sipSession.remote_identity?.uri) || request?.from?.uri?.user || "";
        const displayName = sipSession.remote_identity?.display_name || "";
        if (this.session || this.state.call) {
            sipSession.terminate(BUSY); // one call at a time: the second caller hears busy
            const log = await this.orm.call("didww.call", "didww_incoming", [number], { display_name: displayName });
            await this.orm.call("didww.call", "didww_ended", [[log.id], "busy"]);
            return;
        }
        this.state.lastCall = null;
        this.state.call = { direction: "incoming", number, name: displayName, status: "ringing", muted: false, held: false };
        this._bind(sipSession);
        this._ring(true);
        const log = await this.orm.call("didww.call", "didww_incoming", [number], { display_name: displayName });
        if (this.state.call && this.session === sipSession) {
            Object.assign(this.state.call, { number: log.number, name: log.name || displayName, recordId: log.id });
            if (this.state.call.status === "active") {
                this.orm.call("didww.call", "didww_answered", [[log.id]]);
            }
        } else {
            // ended while its log was being created
            this.orm.call("didww.call", "didww_ended", [[log.id], this._pendingOutcome || "missed"]);
        }
    }

    _bind(sipSession) {
        this.session = sipSession;
        const attach = (pc) => {
            pc.addEventListener("track", (ev) => this._playRemote(ev.streams[0]));
        };
        if (sipSession.connection) {
            attach(sipSession.connection);
        }
        sipSession.on("peerconnection", ({ peerconnection }) => attach(peerconnection));
        sipSession.on("accepted", () => this._answered(sipSession));
        sipSession.on("confirmed", () => this._answered(sipSession));
        sipSession.on("ended", () => {
            if (this.session === sipSession) {
                this._ended("done");
            }
        });
        sipSession.on("failed", ({ cause }) => {
            if (this.session === sipSession) {
                this._failed(cause);
            }
        });
    }

    _answered(sipSession) {
        const call = this.state.call;
        if (this.session !== sipSession || !call || call.status === "active") {
            return;
        }
        this._ring(false);
        call.status = "active";
        call.answeredAt = Date.now();
        this.state.elapsed = 0;
        this.timer = browser.setInterval(() => {
            // rounded: an interval tick lands a hair before or after each whole second
            this.state.elapsed = Math.round((Date.now() - call.answeredAt) / 1000);
        }, 1000);
        if (call.recordId) {
            this.orm.call("didww.call", "didww_answered", [[call.recordId]]);
        }
    }

    _failed(cause) {
        const c = sipStack.causes;
        if (cause === c.USER_DENIED_MEDIA_ACCESS) {
            this.state.reason = "microphone";
            return this._ended("failed", REASONS.microphone);
        }
        if (cause === c.BUSY) {
            return this._ended("busy");
        }
        if (cause === c.REJECTED) {
            return this._ended("declined");
        }
        if (cause === c.CANCELED || cause === c.NO_ANSWER) {
            // the caller gave up, or nobody answered
            return this._ended("missed");
        }
        return this._ended("failed", cause);
    }

    _ended(outcome, reason = "") {
        const call = this.state.call;
        this._ring(false);
        if (this.timer) {
            browser.clearInterval(this.timer);
            this.timer = null;
        }
        this.session = null;
        this.state.call = null;
        if (this.audio) {
            this.audio.srcObject = null;
        }
        if (!call) {
            return;
        }
        if (outcome !== "failed" || reason !== REASONS.microphone) {
            if (this.state.reason === "microphone") {
                this.state.reason = "";
            }
        }
        this.state.lastCall = { number: call.number, name: call.name, outcome, reason };
        if (call.recordId) {
            this.orm.call("didww.call", "didww_ended", [[call.recordId], outcome], {
                failure_reason: reason || false,
            });
        } else {
            this._pendingOutcome = outcome;
        }
    }

    answer() {
        if (this.session && this.state.call?.status === "ringing") {
            this._ring(false);
            this.session.answer({ mediaConstraints: { audio: true, video: false } });
        }
    }

    decline() {
        if (this.session && this.state.call?.status === "ringing") {
            const sipSession = this.session;
            this._ended("declined");
            sipSession.terminate({ status_code: 603, reason_phrase: "Decline" });
        }
    }

    hangup() {
        const sipSession = this.session;
        if (!sipSession) {
            return;
        }
        const wasActive = this.state.call?.status === "active";
        this._ended(wasActive ? "done" : "missed");
        sipSession.terminate();
    }

    toggleMute() {
        const call = this.state.call;
        if (!this.session || call?.status !== "active") {
            return;
        }
        if (call.muted) {
            this.session.unmute({ audio: true });
        } else {
            this.session.mute({ audio: true });
        }
        call.muted = !call.muted;
    }

    toggleHold() {
        const call = this.state.call;
        if (!this.session || call?.status !== "active") {
            return;
        }
        if (call.held) {
            this.session.unhold();
        } else {
            this.session.hold();
        }
        call.held = !call.held;
    }

    sendDtmf(tone) {
        if (this.session && this.state.call?.status === "active") {
            this.session.sendDTMF(tone);
        }
    }

    _playRemote(stream) {
        if (!this.audio) {
            this.audio = document.createElement("audio");
            this.audio.autoplay = true;
        }
        this.audio.srcObject = stream;
        this.audio.play?.()?.catch?.(() => {});
    }

    /** A ring tone made with Web Audio (no sound file); silent where audio is not allowed yet. */
    _ring(on) {
        if (this._ringer) {
            browser.clearInterval(this._ringer.interval);
            this._ringer.context.close();
            this._ringer = null;
        }
        const AudioContext = browser.AudioContext || window.AudioContext;
        if (!on || !AudioContext) {
            return;
        }
        try {
            const context = new AudioContext();
            const beep = () => {
                const oscillator = context.createOscillator();
                const gain = context.createGain();
                gain.gain.value = 0.1;
                oscillator.frequency.value = 440;
                oscillator.connect(gain).connect(context.destination);
                oscillator.start();
                oscillator.stop(context.currentTime + 1);
            };
            beep();
            this._ringer = { context, interval: browser.setInterval(beep, 3000) };
        } catch {
            this._ringer = null;
        }
    }
}

export const softphoneService = {
    dependencies: ["orm", "notification"],
    start(env, services) {
        const softphone = new Softphone(env, services);
        softphone.start();
        return softphone;
    },
};

registry.category("services").add("didww_softphone", softphoneService);
