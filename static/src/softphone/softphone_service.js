import { reactive } from "@odoo/owl";
import { browser } from "@web/core/browser/browser";
import { _t } from "@web/core/l10n/translation";
import { rpc } from "@web/core/network/rpc";
import { registry } from "@web/core/registry";
import { user } from "@web/core/user";
import { session } from "@web/session";

import { browserTabs } from "./browser_tabs";

import {
    DROP_CAUSES,
    DROP_TEXTS,
    OUTCOME_TYPES,
    REASONS,
    badgeOf,
    causeText,
    outcomeText,
} from "./call_state";
import { Ringer } from "./ringer";
import { digitsOf, sipStack } from "./sip_stack";
import { AttendedTransfer } from "./softphone_transfer";

export { REASONS } from "./call_state";
export { sipStack } from "./sip_stack";
export { TRANSFER_TIMEOUT_MS } from "./softphone_transfer";

/** localStorage key remembering that the user switched the softphone off (no secret is stored). */
export const OFF_KEY = "didww_connector.softphone_off";
/** localStorage key of this browser's SIP Contact and instance id (shared by its tabs; no secret). */
export const CONTACT_KEY = "didww_connector.softphone_contact";
/** What a tab may ask the tab holding the registration to do. */
const COMMANDS = ["setEnabled", "dial", "answer", "decline", "hangup", "toggleMute", "toggleHold", "sendDtmf",
    "transfer", "consult", "completeTransfer", "backToCaller"];
/** State every tab keeps for itself (the rest mirrors the tab holding the registration). */
const LOCAL_KEYS = ["panelOpen", "tab"];

/**
 * How long a call in progress may go without media (ICE ``disconnected``) or without its
 * connection to the phone system before the softphone ends it as dropped. ICE reports
 * ``disconnected`` about 8 s after the other side vanished: the call ends within 20 s.
 */
export const DEAD_LINE = { mediaMs: 8000, signallingMs: 12000 };
/** The softphone confirms its live calls to the server this often (didww.call.HEARTBEAT). */
export const HEARTBEAT_MS = 60000;

const BUSY = { status_code: 486, reason_phrase: "Busy Here" };

/** The softphone: the SIP user agent, the call in progress and what the user is told. */
export class Softphone {
    constructor(env, { orm, notification }) {
        this.env = env;
        this.orm = orm;
        this.notification = notification;
        this.ua = null;
        this.session = null; // the SIP session of state.call
        this.attended = new AttendedTransfer(this); // asking a colleague first (softphone_transfer.js)
        this.streams = new Map(); // the remote sound of each SIP session
        this.audio = null;
        this.timer = null;
        this.heartbeat = null;
        this.deadLineTimer = null;
        this.ringer = new Ringer();
        this.announced = null; // the registration failure already announced
        this._logging = Promise.resolve(); // the calls' logs are closed in order (see _logEnd)
        this.state = reactive({
            available: Boolean(session.didww_softphone),
            enabled: !browser.localStorage.getItem(OFF_KEY),
            status: "off", // off | registering | ready | reconnecting | failed
            reason: "", // credentials | unreachable | microphone | config
            wasRegistered: false,
            panelOpen: false, // the user opened the panel (it also shows by itself during a call)
            tab: "leader", // leader: this tab holds the registration | follower: another tab does
            call: null,
            consult: null, // the call to a colleague asked first, while `call` is on hold (attended transfer)
            lastCall: null, // {number, name, outcome, reason, text}
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

    /** What the top bar's badge says: ringing, in call, on hold, reconnecting... else the registration. */
    get badge() {
        return badgeOf(this.state.status, this.state.call, this.state.consult);
    }

    /**
     * Join this user's other tabs: the tab elected (see browser_tabs.js) registers, the others
     * mirror its state and forward their commands to it; when it closes, another one takes over.
     */
    boot() {
        if (!this.state.available) {
            return;
        }
        const name = `didww_connector.softphone.${session.db}.${user.userId}`;
        if (browserTabs.isShared()) {
            this.channel = browserTabs.channel(name);
            this.channel.onmessage = ({ data }) => this._onMessage(data);
            this.state.tab = "follower";
            this._post({ type: "hello" });
        }
        browserTabs.claim(name, () => this._lead());
    }

    _lead() {
        this.state.tab = "leader";
        if (this.state.call) {
            // the call of the tab that held the registration ended with it (the server closes
            // its log as interrupted)
            this.state.call = null;
            this.state.consult = null;
        }
        if (this.channel) {
            this._publishChanges();
            this._post({ type: "state", state: this._snapshot() });
        }
        browser.addEventListener("pagehide", () => this.ua?.stop()); // unregister, best effort
        browser.addEventListener("beforeunload", (ev) => {
            if (this.state.call) {
                ev.preventDefault(); // closing this tab ends the call: the browser asks first
                ev.returnValue = "";
            }
        });
        this.start();
    }

    _post(message) {
        this.channel?.postMessage(message);
    }

    /** The shared state, as plain data. */
    _snapshot() {
        const snapshot = JSON.parse(JSON.stringify(this.state));
        for (const key of LOCAL_KEYS) {
            delete snapshot[key];
        }
        return snapshot;
    }

    /** Send the state to the other tabs whenever it changes (at most once a microtask). */
    _publishChanges() {
        let scheduled = false;
        const observer = reactive(this.state, () => {
            if (!scheduled) {
                scheduled = true;
                Promise.resolve().then(() => {
                    scheduled = false;
                    JSON.stringify(observer); // observe every key again
                    this._post({ type: "state", state: this._snapshot() });
                });
            }
        });
        JSON.stringify(observer);
    }

    _onMessage(data) {
        if (this.state.tab === "leader") {
            if (data.type === "hello") {
                this._post({ type: "state", state: this._snapshot() });
            } else if (data.type === "command" && COMMANDS.includes(data.name)) {
                this[data.name](...(data.args || []));
            }
        } else if (data.type === "state") {
            Object.assign(this.state, Object.fromEntries(
                Object.entries(data.state).filter(([key]) => !LOCAL_KEYS.includes(key))));
        } else if (data.type === "notify") {
            this._showNotification(data.text, data.options, data.ifPanelClosed);
        }
    }

    /** In a tab that does not hold the registration: ask the one that does. */
    _forward(name, args = []) {
        if (this.state.tab !== "follower") {
            return false;
        }
        this._post({ type: "command", name, args });
        return true;
    }

    /** Tell the user, in every tab (``ifPanelClosed``: only where the panel does not show it). */
    _tell(text, options, ifPanelClosed = false) {
        this._showNotification(String(text), options, ifPanelClosed);
        this._post({ type: "notify", text: String(text), options, ifPanelClosed });
    }

    _showNotification(text, options, ifPanelClosed) {
        if (!ifPanelClosed || !this.state.panelOpen) {
            this.notification.add(text, options);
        }
    }

    /** This browser's SIP Contact and instance id, the same in all its tabs. */
    _contact() {
        let contact;
        try {
            contact = JSON.parse(browser.localStorage.getItem(CONTACT_KEY) || "null");
        } catch {
            contact = null;
        }
        if (!contact?.uri || !contact?.instance) {
            const token = (n) => Array.from(crypto.getRandomValues(new Uint8Array(n)),
                (b) => "abcdefghijklmnopqrstuvwxyz0123456789"[b % 36]).join("");
            contact = { uri: `sip:${token(8)}@${token(12)}.invalid;transport=ws`, instance: crypto.randomUUID() };
            browser.localStorage.setItem(CONTACT_KEY, JSON.stringify(contact));
        }
        return contact;
    }

    async start() {
        if (!this.state.available || !this.state.enabled || this.ua || this.state.tab === "follower") {
            return;
        }
        this.state.status = "registering";
        this.state.reason = "";
        let config;
        try {
            // the secret travels only here: kept in memory by the SIP stack, never stored
            config = await rpc("/didww/voip/config", {}, { silent: true });
        } catch {
            this._failure("failed", "config");
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
        let ua;
        try {
            const contact = this._contact();
            ua = await sipStack.createUA({ ...config, contact_uri: contact.uri, instance_id: contact.instance });
        } catch {
            this._failure("failed", "config");
            return;
        }
        if (!this.state.enabled || this.ua) {
            return;
        }
        this.ua = ua;
        ua.on("connecting", () => {
            if (this.state.status !== "reconnecting" && this.state.status !== "failed") {
                this.state.status = "registering";
            }
        });
        ua.on("connected", () => this._signallingBack());
        ua.on("registered", () => {
            this.state.status = "ready";
            this.state.reason = "";
            this.state.wasRegistered = true;
            this.announced = null;
            this._signallingBack();
        });
        ua.on("registrationFailed", ({ cause }) => {
            if (cause === sipStack.causes.AUTHENTICATION_ERROR) {
                this.ua = null;
                ua.stop(); // retrying with the same secret cannot succeed
                this._failure("failed", "credentials");
            } else if (cause === sipStack.causes.CONNECTION_ERROR || cause === sipStack.causes.REQUEST_TIMEOUT) {
                this._unreachable();
            } else {
                this._failure("failed", causeText(cause));
            }
        });
        ua.on("disconnected", () => {
            if (this.ua === ua) {
                this._unreachable();
                this._signallingLost();
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
        this._failure(this.state.wasRegistered ? "reconnecting" : "failed", "unreachable");
    }

    /** Show a registration problem; announce it once (until the softphone registers again). */
    _failure(status, reason) {
        this.state.status = status;
        this.state.reason = reason;
        if (this.announced === reason) {
            return;
        }
        this.announced = reason;
        const text = REASONS[reason] || reason;
        if (status === "reconnecting") {
            this._tell(_t("The softphone lost its connection (%s): it keeps retrying.", text),
                { type: "warning", title: _t("Softphone") });
        } else {
            this._tell(_t("The softphone could not connect: %s.", text),
                { type: "danger", title: _t("Softphone") });
        }
    }

    stop() {
        const ua = this.ua;
        this.ua = null;
        if (this.attended.session) {
            this.backToCaller();
        }
        if (this.session) {
            this.hangup();
        }
        if (ua) {
            ua.stop();
        }
        this.state.status = "off";
        this.state.reason = "";
        this.state.wasRegistered = false;
        this.announced = null;
    }

    /** Switch the softphone on or off (remembered in this browser). */
    async setEnabled(enabled) {
        this.state.enabled = enabled;
        if (this.state.tab === "follower") {
            this._forward("setEnabled", [enabled]);
            return;
        }
        if (enabled) {
            browser.localStorage.removeItem(OFF_KEY);
            await this.start();
        } else {
            browser.localStorage.setItem(OFF_KEY, "1");
            this.stop();
        }
    }

    setPanelOpen(open) {
        this.state.panelOpen = open;
    }

    /**
     * Call ``number``; ``resModel``/``resId`` designate the document it was clicked on (its
     * country formats the number, its chatter gets the note).
     */
    async dial(number, { resModel = false, resId = false } = {}) {
        if (!this.canCall) {
            return false;
        }
        if (this._forward("dial", [number, { resModel, resId }])) {
            return true;
        }
        const call = this._newCall("outgoing", number, "", "calling");
        this.state.call = call;
        this.state.lastCall = null;
        let prepared;
        try {
            prepared = await this.orm.call("didww.call", "didww_outgoing", [number], {
                res_model: resModel, res_id: resId,
            });
        } catch (error) {
            this.state.call = null;
            throw error;
        }
        if (prepared.error) {
            this.state.call = null;
            this._tell(prepared.error, { type: "danger" });
            return false;
        }
        Object.assign(this.state.call, { number: prepared.number, name: prepared.name || "", recordId: prepared.id });
        this._startHeartbeat();
        const target = `sip:${prepared.number}@${this.pbx}`;
        let sipSession;
        try {
            sipSession = this.ua.call(target, {
                mediaConstraints: { audio: true, video: false },
                rtcOfferConstraints: { offerToReceiveAudio: true, offerToReceiveVideo: false },
            });
        } catch (error) {
            this._ended("failed", { reason: error.message || String(error), endCause: "failed" });
            return false;
        }
        this._bind(sipSession);
        return true;
    }

    _newCall(direction, number, name, status) {
        return {
            direction, number, name, status, muted: false, held: false, reconnecting: false, dtmf: "",
            transferring: false,
        };
    }

    async _onIncoming(sipSession, request) {
        if (this.attended.replacing?.newSession === sipSession) {
            return this.attended.takeOver(sipSession);
        }
        const number = digitsOf(sipSession.remote_identity?.uri) || request?.from?.uri?.user || "";
        const displayName = sipSession.remote_identity?.display_name || "";
        if (this.session || this.state.call) {
            sipSession.terminate(BUSY); // one call at a time: the second caller hears busy
            const log = await this.orm.call("didww.call", "didww_incoming", [number], { display_name: displayName });
            // the panel shows the call in progress, not this one: always a notification
            this._tell(outcomeText({ direction: "incoming", number: log.number, name: log.name || displayName }, "busy"),
                { type: OUTCOME_TYPES.busy });
            await this.orm.call("didww.call", "didww_ended", [[log.id], "busy"], { end_cause: "local" });
            return;
        }
        this.state.lastCall = null;
        this.state.call = this._newCall("incoming", number, displayName, "ringing");
        this._bind(sipSession);
        this.ringer.start();
        const log = await this.orm.call("didww.call", "didww_incoming", [number], { display_name: displayName });
        if (this.state.call && this.session === sipSession) {
            Object.assign(this.state.call, { number: log.number, name: log.name || displayName, recordId: log.id });
            this._startHeartbeat();
            if (this.state.call.status === "active") {
                this.orm.call("didww.call", "didww_answered", [[log.id]]);
            }
        } else {
            // ended while its log was being created
            const [outcome, endCause] = this._pendingOutcome || ["missed", "remote"];
            this._logEnd(log.id, outcome, { endCause });
        }
    }

    /** ``sipSession`` becomes the session of the call. */
    _bind(sipSession) {
        this.session = sipSession;
        this._listen(sipSession);
    }

    /** Follow a SIP session's events, for the call or the consultation it belongs to at the time. */
    _listen(sipSession) {
        const attach = (pc) => {
            pc.addEventListener("track", (ev) => {
                this.streams.set(sipSession, ev.streams[0]);
                if (sipSession === (this.attended.session || this.session)) {
                    this._playRemote(ev.streams[0]);
                }
            });
            pc.addEventListener("iceconnectionstatechange", () => this._onMedia(sipSession, pc.iceConnectionState));
        };
        if (sipSession.connection) {
            attach(sipSession.connection);
        }
        sipSession.on("peerconnection", ({ peerconnection }) => attach(peerconnection));
        for (const event of ["accepted", "confirmed"]) {
            sipSession.on(event, () => {
                this._answered(sipSession);
                this.attended.answered(sipSession);
            });
        }
        sipSession.on("ended", ({ originator, cause } = {}) => {
            const [outcome, options] = DROP_CAUSES.includes(cause) || originator === "system"
                ? ["dropped", { reason: causeText(cause), endCause: "dropped" }]
                : ["done", { endCause: originator === "local" ? "local" : "remote" }];
            if (this.session === sipSession) {
                this._ended(outcome, options);
            } else if (this.attended.session === sipSession) {
                this.attended.ended(outcome, options);
            }
        });
        sipSession.on("failed", ({ cause, originator, message } = {}) => {
            if (this.session === sipSession) {
                this._failed(cause, originator, message?.status_code);
            } else if (this.attended.session === sipSession) {
                this.attended.ended(...this._failureOutcome(cause, originator, message?.status_code));
            }
        });
        sipSession.on("refer", (refer) => this._onRefer(sipSession, refer));
        sipSession.on("replaces", (replaces) => this.attended.onReplaces(sipSession, replaces));
    }

    /**
     * Blind transfer: hand the call in progress to ``number`` (an extension or a phone number).
     * The other party is asked (SIP REFER) to call it; once the phone system accepts, this call ends.
     */
    transfer(number) {
        if (this._forward("transfer", [number])) {
            return;
        }
        const call = this.state.call;
        const target = (number || "").replace(/[^0-9+*#]/g, "");
        if (!this.session || call?.status !== "active" || !target) {
            return;
        }
        const sipSession = this.session;
        call.transferring = target;
        sipSession.refer(`sip:${target}@${this.pbx}`, {
            eventHandlers: {
                requestSucceeded: () => {
                    if (this.session !== sipSession) {
                        return;
                    }
                    this._ended("done", { endCause: "transferred", transferTarget: target });
                    try {
                        sipSession.terminate();
                    } catch {
                        // the other party already hung up this leg
                    }
                },
                requestFailed: ({ cause } = {}) => {
                    if (this.session === sipSession) {
                        call.transferring = false;
                        this._tell(_t("The transfer to %(target)s failed: %(reason)s", {
                            target, reason: causeText(cause),
                        }), { type: "danger" });
                    }
                },
            },
        });
    }

    /** The other party transfers us (SIP REFER): call the target, this call ends as transferred. */
    _onRefer(sipSession, { request, accept, reject }) {
        const call = this.state.call;
        if (this.session !== sipSession || call?.status !== "active" || this.state.consult) {
            reject();
            return;
        }
        const target = request?.refer_to?.uri?.user || "";
        this._ended("done", { endCause: "transferred_by_them", transferTarget: target });
        this.state.call = this._newCall("outgoing", target, "", "calling");
        const next = this.state.call; // the reactive call, as compared below
        accept((newSession) => this._bind(newSession), {
            mediaConstraints: { audio: true, video: false },
        });
        this.orm.call("didww.call", "didww_outgoing", [target]).then((prepared) => {
            if (this.state.call !== next || prepared.error) {
                return;
            }
            Object.assign(next, { number: prepared.number, name: prepared.name || "", recordId: prepared.id });
            this._startHeartbeat();
            if (next.status === "active") {
                this.orm.call("didww.call", "didww_answered", [[prepared.id]]);
            }
        });
    }

    // ------------------------------------------------------------------------------------------
    // Attended transfer (softphone_transfer.js): ask a colleague first, then complete the transfer
    // or go back to the caller
    // ------------------------------------------------------------------------------------------

    /** Ask first: put the caller on hold and call ``number`` (a colleague), as a second call. */
    async consult(number) {
        if (this._forward("consult", [number])) {
            return true;
        }
        return this.attended.consult(number);
    }

    /** End the call with the colleague asked first and take the caller back. */
    backToCaller() {
        if (!this._forward("backToCaller")) {
            this.attended.backToCaller();
        }
    }

    /** Hand the caller to the colleague asked first (SIP REFER with Replaces). */
    completeTransfer() {
        if (!this._forward("completeTransfer")) {
            this.attended.complete();
        }
    }

    _answered(sipSession) {
        const call = this.state.call;
        if (this.session !== sipSession || !call || call.status === "active") {
            return;
        }
        this.ringer.stop();
        call.status = "active";
        call.answeredAt = Date.now();
        this._startTimer(call);
        if (call.recordId) {
            this.orm.call("didww.call", "didww_answered", [[call.recordId]]);
        }
    }

    /** The timer of ``call`` (answered), in state.elapsed. */
    _startTimer(call) {
        const tick = () => {
            // rounded: an interval tick lands a hair before or after each whole second
            this.state.elapsed = Math.round((Date.now() - call.answeredAt) / 1000);
        };
        browser.clearInterval(this.timer);
        tick();
        this.timer = browser.setInterval(tick, 1000);
    }

    /** ICE state of the call's media: ``failed`` ends it now, ``disconnected`` after DEAD_LINE.mediaMs. */
    _onMedia(sipSession, iceState) {
        const call = this.state.call;
        if (this.session !== sipSession || !call) {
            return;
        }
        if (iceState === "failed") {
            this._drop(sipSession, "media");
        } else if (iceState === "disconnected") {
            call.reconnecting = true;
            this._armDeadLine(sipSession, "media", DEAD_LINE.mediaMs);
        } else if (iceState === "connected" || iceState === "completed") {
            if (this.deadLineTimer?.why === "media") {
                this._disarmDeadLine();
            }
            call.reconnecting = this.state.status === "reconnecting";
        }
    }

    /** The WebSocket to the phone system dropped during a call: it must come back within DEAD_LINE.signallingMs. */
    _signallingLost() {
        if (this.session && this.state.call) {
            this.state.call.reconnecting = true;
            if (!this.deadLineTimer) {
                this._armDeadLine(this.session, "signalling", DEAD_LINE.signallingMs);
            }
        }
    }

    _signallingBack() {
        if (this.deadLineTimer?.why === "signalling") {
            this._disarmDeadLine();
        }
        if (this.state.call && !this.deadLineTimer) {
            this.state.call.reconnecting = false;
        }
    }

    _armDeadLine(sipSession, why, delay) {
        this._disarmDeadLine();
        const id = browser.setTimeout(() => this._drop(sipSession, why), delay);
        this.deadLineTimer = { id, why };
    }

    _disarmDeadLine() {
        if (this.deadLineTimer) {
            browser.clearTimeout(this.deadLineTimer.id);
            this.deadLineTimer = null;
        }
    }

    /** End a call whose media or signalling is dead, on this side, and say so. */
    _drop(sipSession, why) {
        if (this.session !== sipSession) {
            return;
        }
        const answered = this.state.call?.status === "active";
        this._ended(answered ? "dropped" : "failed", { reason: DROP_TEXTS[why], endCause: "dropped" });
        try {
            sipSession.terminate();
        } catch {
            // already gone on the SIP side
        }
    }

    _failed(cause, originator, statusCode) {
        if (cause === sipStack.causes.USER_DENIED_MEDIA_ACCESS) {
            this.state.reason = "microphone";
        }
        this._ended(...this._failureOutcome(cause, originator, statusCode));
    }

    /** How a call that could not start ends: ``[outcome, {reason, endCause}]``. */
    _failureOutcome(cause, originator, statusCode) {
        const c = sipStack.causes;
        const endCause = originator === "local" ? "local" : "remote";
        if (cause === c.USER_DENIED_MEDIA_ACCESS) {
            return ["failed", { reason: REASONS.microphone, endCause: "failed" }];
        }
        if (cause === c.BUSY) {
            return ["busy", { endCause: "remote" }];
        }
        if (cause === c.REJECTED) {
            return ["declined", { endCause }];
        }
        if (cause === c.CANCELED || cause === c.NO_ANSWER || cause === c.EXPIRES) {
            // the caller gave up, or nobody answered
            return ["missed", { endCause }];
        }
        return ["failed", { reason: causeText(cause, statusCode), endCause: "failed" }];
    }

    _ended(outcome, { reason = "", endCause = false, transferTarget = false } = {}) {
        const call = this.state.call;
        this.ringer.stop();
        this._disarmDeadLine();
        browser.clearTimeout(this.attended.timer);
        for (const timer of ["timer", "heartbeat"]) {
            if (this[timer]) {
                browser.clearInterval(this[timer]);
                this[timer] = null;
            }
        }
        this.streams.delete(this.session);
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
        const text = outcomeText(call, outcome, { reason, endCause, transferTarget, elapsed: this.state.elapsed });
        this.state.lastCall = { number: call.number, name: call.name, outcome, reason, text };
        this._notify(text, outcome);
        if (call.recordId) {
            this._logEnd(call.recordId, outcome, { reason, endCause, transferTarget });
        } else {
            this._pendingOutcome = [outcome, endCause];
        }
        if (this.state.consult) {
            this.attended.promote();
        }
    }

    /**
     * Close a call's log (``didww.call.didww_ended``), after the ones closed before it: the call
     * with a colleague asked first is closed before the caller's, whose note tells about it.
     */
    _logEnd(recordId, outcome, { reason = "", endCause = false, transferTarget = false } = {}) {
        const logged = this._logging.then(() => this.orm.call("didww.call", "didww_ended", [[recordId], outcome], {
            failure_reason: reason || false, end_cause: endCause, transfer_target: transferTarget,
        }));
        this._logging = logged.catch(() => {}); // the error is shown once, by ``logged``
        return logged;
    }

    /** Tell how a call ended, as a notification when the panel is closed (it shows it otherwise). */
    _notify(text, outcome) {
        this._tell(text, { type: OUTCOME_TYPES[outcome] || "info" }, true);
    }

    _startHeartbeat() {
        if (this.heartbeat || !(this.state.call?.recordId || this.state.consult?.recordId)) {
            return;
        }
        this.heartbeat = browser.setInterval(() => {
            const ids = [this.state.call?.recordId, this.state.consult?.recordId].filter(Boolean);
            if (ids.length) {
                this.orm.silent.call("didww.call", "didww_alive", [ids]).catch(() => {});
            }
        }, HEARTBEAT_MS);
    }

    answer() {
        if (this._forward("answer")) {
            return;
        }
        if (this.session && this.state.call?.status === "ringing") {
            this.ringer.stop();
            this.session.answer({ mediaConstraints: { audio: true, video: false } });
        }
    }

    decline() {
        if (this._forward("decline")) {
            return;
        }
        if (this.session && this.state.call?.status === "ringing") {
            const sipSession = this.session;
            this._ended("declined", { endCause: "local" });
            sipSession.terminate({ status_code: 603, reason_phrase: "Decline" });
        }
    }

    hangup() {
        if (this._forward("hangup")) {
            return;
        }
        const sipSession = this.session;
        if (!sipSession) {
            return;
        }
        const wasActive = this.state.call?.status === "active";
        this._ended(wasActive ? "done" : "missed", { endCause: "local" });
        sipSession.terminate();
    }

    toggleMute() {
        if (this._forward("toggleMute")) {
            return;
        }
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
        if (this._forward("toggleHold")) {
            return;
        }
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
        if (this._forward("sendDtmf", [tone])) {
            return;
        }
        if (this.session && this.state.call?.status === "active") {
            this.session.sendDTMF(tone);
            this.state.call.dtmf += tone;
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
}

export const softphoneService = {
    dependencies: ["orm", "notification"],
    start(env, services) {
        const softphone = new Softphone(env, services);
        softphone.boot();
        return softphone;
    },
};

registry.category("services").add("didww_softphone", softphoneService);
