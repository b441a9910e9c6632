import { defineMailModels } from "@mail/../tests/mail_test_helpers";
import { beforeEach, describe, expect, test } from "@odoo/hoot";
import { queryOne } from "@odoo/hoot-dom";
import { advanceTime, animationFrame } from "@odoo/hoot-mock";
import {
    contains,
    defineModels,
    fields,
    getService,
    models,
    mountView,
    mountWithCleanup,
    onRpc,
    patchWithCleanup,
} from "@web/../tests/web_test_helpers";
import { browser } from "@web/core/browser/browser";
import { session } from "@web/session";

import { JSSIP_BUNDLE } from "@didww_connector/softphone/sip_stack";
import { browserTabs } from "@didww_connector/softphone/browser_tabs";
import { OFF_KEY, Softphone, sipStack } from "@didww_connector/softphone/softphone_service";
import { SoftphoneSystray } from "@didww_connector/softphone/softphone_systray";

describe.current.tags("desktop");

const SECRET = "s3cret-of-the-user";

/** An RTCPeerConnection as far as the softphone watches it: its ICE state. */
class FakePeerConnection extends EventTarget {
    iceConnectionState = "new";
    setIce(state) {
        this.iceConnectionState = state;
        this.dispatchEvent(new Event("iceconnectionstatechange"));
    }
}

/** A SIP session speaking JsSIP's API, driven by the test. */
class FakeSession {
    constructor(number, displayName = "") {
        this.handlers = {};
        this.connection = new FakePeerConnection();
        this.remote_identity = { uri: { user: number }, display_name: displayName };
        this.actions = [];
    }
    on(event, callback) {
        (this.handlers[event] ||= []).push(callback);
    }
    emit(event, data = {}) {
        for (const callback of this.handlers[event] || []) {
            callback(data);
        }
    }
    answer() {
        this.actions.push("answer");
        this.emit("accepted");
    }
    terminate(options) {
        this.actions.push(`terminate ${options?.status_code || ""}`.trim());
    }
    mute() {
        this.actions.push("mute");
    }
    unmute() {
        this.actions.push("unmute");
    }
    hold() {
        this.actions.push("hold");
    }
    unhold() {
        this.actions.push("unhold");
    }
    sendDTMF(tone) {
        this.actions.push(`dtmf ${tone}`);
    }
    refer(target, options) {
        this.actions.push(options.replaces ? `refer ${target} replacing ${options.replaces.remote_identity.uri.user}`
            : `refer ${target}`);
        this.referHandlers = options.eventHandlers;
    }
}

/** A user agent speaking JsSIP's API: the test emits what the server would cause. */
class FakeUA {
    constructor(config) {
        this.config = config;
        this.handlers = {};
        this.calls = [];
        this.started = false;
        this.stopped = false;
    }
    on(event, callback) {
        (this.handlers[event] ||= []).push(callback);
    }
    emit(event, data = {}) {
        for (const callback of this.handlers[event] || []) {
            callback(data);
        }
    }
    start() {
        this.started = true;
    }
    stop() {
        this.stopped = true;
    }
    call(target, options) {
        const session = new FakeSession(target);
        this.calls.push({ target, options, session });
        return session;
    }
    ring(number, displayName) {
        const session = new FakeSession(number, displayName);
        this.emit("newRTCSession", { originator: "remote", session, request: {} });
        return session;
    }
    /** ``number`` calls with Replaces, to take the place of ``session`` (as JsSIP's UA does). */
    replace(session, number) {
        let replacing = null;
        session.emit("replaces", {
            request: {},
            accept: (init) => {
                replacing = new FakeSession(number);
                init(replacing);
                this.emit("newRTCSession", { originator: "remote", session: replacing, request: {} });
            },
            reject: () => session.actions.push("reject replaces"),
        });
        return replacing;
    }
}

class Lead extends models.Model {
    _name = "crm.lead";
    name = fields.Char();
    phone = fields.Char();
    _records = [{ id: 7, name: "Ona Customer", phone: "+370 41 654321" }];
}

defineMailModels();
defineModels([Lead]);

let agents;
let logged;
let endCauses;
let targets;
let notes;
let links;

beforeEach(() => {
    agents = [];
    logged = [];
    endCauses = [];
    targets = [];
    notes = [];
    links = [];
    patchWithCleanup(session, { didww_softphone: true });
    // one tab, unless a test opens more
    patchWithCleanup(browserTabs, { isShared: () => false, claim: (name, onLeader) => onLeader() });
    patchWithCleanup(sipStack, {
        createUA(config) {
            const ua = new FakeUA(config);
            agents.push(ua);
            return ua;
        },
    });
    onRpc("/didww/voip/config", () => ({
        provider: "DIDWW",
        websocket_url: "wss://sip.example.com",
        pbx_server: "sip.example.com",
        username: "100",
        secret: SECRET,
        uri: "sip:100@sip.example.com",
    }));
    let nextId = 1;
    onRpc("didww.call", "didww_outgoing", ({ args, kwargs }) => {
        logged.push(["outgoing", args[0], kwargs.res_model || false, kwargs.res_id || false]);
        if (kwargs.consult_for) {
            links.push(["consult_for", nextId, kwargs.consult_for]);
        }
        return {
            id: nextId++,
            number: args[0] === "+370 41 654321" ? "+37041654321" : args[0],
            name: args[0] === "1003" ? "Bob Colleague" : "Ona Customer",
        };
    });
    onRpc("didww.call", "didww_incoming", ({ args, kwargs }) => {
        logged.push(["incoming", args[0]]);
        if (kwargs.replaces) {
            links.push(["replaces", nextId, kwargs.replaces]);
        }
        return { id: nextId++, number: args[0], name: args[0] === "+37041654321" ? "Ona Customer" : false };
    });
    onRpc("didww.call", "didww_answered", ({ args }) => {
        logged.push(["answered", args[0][0]]);
        return true;
    });
    onRpc("didww.call", "didww_ended", ({ args, kwargs }) => {
        logged.push(["ended", args[0][0], args[1], kwargs.failure_reason || false]);
        endCauses.push(kwargs.end_cause || false);
        targets.push(kwargs.transfer_target || false);
        return true;
    });
    onRpc("didww.call", "didww_alive", ({ args }) => {
        logged.push(["alive", ...args[0]]);
        return true;
    });
});

/** Keep what the softphone tells the user in notifications. */
function captureNotifications() {
    patchWithCleanup(getService("notification"), {
        add(message, options = {}) {
            notes.push([String(message), options.type]);
            return () => {};
        },
    });
}

async function mountReadySoftphone() {
    await mountWithCleanup(SoftphoneSystray);
    captureNotifications();
    await animationFrame();
    const ua = agents.at(-1);
    ua.emit("connecting");
    ua.emit("registered");
    await animationFrame();
    return ua;
}

test("registers with the configuration fetched from the server, then shows Ready", async () => {
    await mountWithCleanup(SoftphoneSystray);
    await animationFrame();
    expect(".o_didww_softphone").toHaveAttribute("data-status", "registering");
    expect(agents).toHaveLength(1);
    expect(agents[0].config.uri).toBe("sip:100@sip.example.com");
    expect(agents[0].config.websocket_url).toBe("wss://sip.example.com");
    expect(agents[0].started).toBe(true);
    agents[0].emit("registered");
    await animationFrame();
    expect(".o_didww_softphone").toHaveAttribute("data-status", "ready");
    expect(".o_didww_softphone_toggle").toHaveAttribute("title", "Ready");
});

test("the secret is never written to the browser's storage", async () => {
    await mountReadySoftphone();
    const stored = JSON.stringify({ ...browser.localStorage }) + JSON.stringify({ ...browser.sessionStorage });
    expect(stored.includes(SECRET)).toBe(false);
});

test("a wrong secret shows wrong credentials and stops retrying", async () => {
    await mountWithCleanup(SoftphoneSystray);
    await animationFrame();
    const ua = agents[0];
    ua.emit("registrationFailed", { cause: sipStack.causes.AUTHENTICATION_ERROR });
    await animationFrame();
    expect(".o_didww_softphone").toHaveAttribute("data-status", "failed");
    expect(".o_didww_softphone").toHaveAttribute("data-reason", "credentials");
    expect(ua.stopped).toBe(true);
    await contains(".o_didww_softphone_toggle").click();
    expect(".o_didww_softphone_reason").toHaveText(/Wrong credentials/);
});

test("a lost server shows unreachable while reconnecting, and Ready when it is back", async () => {
    const ua = await mountReadySoftphone();
    ua.emit("disconnected", { code: 1006 });
    await animationFrame();
    expect(".o_didww_softphone").toHaveAttribute("data-status", "reconnecting");
    expect(".o_didww_softphone").toHaveAttribute("data-reason", "unreachable");
    await contains(".o_didww_softphone_toggle").click();
    expect(".o_didww_softphone_reason").toHaveText(/Server unreachable, retrying/);
    ua.emit("connecting");
    ua.emit("registered");
    await animationFrame();
    expect(".o_didww_softphone").toHaveAttribute("data-status", "ready");
    expect(".o_didww_softphone_reason").toHaveCount(0);
});

test("a server never reached is a failure that keeps retrying", async () => {
    await mountWithCleanup(SoftphoneSystray);
    await animationFrame();
    agents[0].emit("disconnected", { code: 1006 });
    await animationFrame();
    expect(".o_didww_softphone").toHaveAttribute("data-status", "failed");
    expect(".o_didww_softphone").toHaveAttribute("data-reason", "unreachable");
    expect(agents[0].stopped).toBe(false);
});

test("dial pad call: timer, mute, hold, DTMF, hang up, logged", async () => {
    const ua = await mountReadySoftphone();
    await contains(".o_didww_softphone_toggle").click();
    for (const key of ["1", "0", "0", "2"]) {
        await contains(`.o_didww_softphone_key[data-key='${key}']`).click();
    }
    expect(".o_didww_softphone_input").toHaveValue("1002");
    await contains(".o_didww_softphone_dial").click();
    await animationFrame();
    expect(logged).toEqual([["outgoing", "1002", false, false]]);
    expect(ua.calls.map((c) => c.target)).toEqual(["sip:1002@sip.example.com"]);
    expect(ua.calls[0].options.mediaConstraints).toEqual({ audio: true, video: false });
    expect(".o_didww_softphone").toHaveAttribute("data-call", "calling");
    const call = ua.calls[0].session;
    call.emit("accepted");
    await animationFrame();
    expect(".o_didww_softphone").toHaveAttribute("data-call", "active");
    await advanceTime(3000);
    await animationFrame();
    expect(".o_didww_softphone_timer").toHaveText("00:03");
    await contains(".o_didww_softphone_mute").click();
    expect(".o_didww_softphone_mute").toHaveText(/Unmute/);
    await contains(".o_didww_softphone_mute").click();
    await contains(".o_didww_softphone_hold").click();
    expect(".o_didww_softphone_call_status").toHaveText("On hold");
    await contains(".o_didww_softphone_hold").click();
    await contains(".o_didww_softphone_keypad").click();
    await contains(".o_didww_softphone_key[data-key='5']").click();
    await contains(".o_didww_softphone_key[data-key='#']").click();
    await contains(".o_didww_softphone_hangup").click();
    await animationFrame();
    expect(call.actions).toEqual(["mute", "unmute", "hold", "unhold", "dtmf 5", "dtmf #", "terminate"]);
    expect(".o_didww_softphone").toHaveAttribute("data-call", "");
    expect(logged.slice(1)).toEqual([["answered", 1], ["ended", 1, "done", false]]);
    expect(endCauses).toEqual(["local"]);
    expect(".o_didww_softphone_last").toHaveText(/Call ended/);
});

test("the called party busy or declining is logged as such", async () => {
    const ua = await mountReadySoftphone();
    const softphone = getService("didww_softphone");
    await softphone.dial("1002");
    ua.calls[0].session.emit("failed", { cause: sipStack.causes.BUSY, originator: "remote" });
    await softphone.dial("1003");
    ua.calls[1].session.emit("failed", { cause: sipStack.causes.REJECTED, originator: "remote" });
    await animationFrame();
    expect(logged.filter((l) => l[0] === "ended")).toEqual([["ended", 1, "busy", false], ["ended", 2, "declined", false]]);
});

test("a denied microphone fails the call with a reason a person understands", async () => {
    const ua = await mountReadySoftphone();
    const softphone = getService("didww_softphone");
    await softphone.dial("1002");
    ua.calls[0].session.emit("failed", { cause: sipStack.causes.USER_DENIED_MEDIA_ACCESS, originator: "local" });
    await animationFrame();
    expect(".o_didww_softphone").toHaveAttribute("data-reason", "microphone");
    expect(logged.at(-1)).toEqual(["ended", 1, "failed", "Microphone access denied: allow it in the browser to call"]);
    await contains(".o_didww_softphone_toggle").click();
    expect(".o_didww_softphone_reason").toHaveText(/Microphone access denied/);
});

test("incoming call rings with the contact's name; answer; a second caller gets busy (486)", async () => {
    const ua = await mountReadySoftphone();
    const first = ua.ring("+37041654321", "");
    await animationFrame();
    expect(".o_didww_softphone").toHaveAttribute("data-call", "ringing");
    expect(".o_didww_softphone_panel").toHaveCount(1); // opens by itself
    expect(".o_didww_softphone_name").toHaveText("Ona Customer");
    expect(".o_didww_softphone_number").toHaveText("+37041654321");
    await contains(".o_didww_softphone_answer").click();
    await animationFrame();
    expect(first.actions).toEqual(["answer"]);
    expect(".o_didww_softphone").toHaveAttribute("data-call", "active");

    const second = ua.ring("+15550100", "Someone Else");
    await animationFrame();
    await animationFrame();
    expect(second.actions).toEqual(["terminate 486"]);
    expect(".o_didww_softphone_name").toHaveText("Ona Customer");
    expect(logged).toEqual([
        ["incoming", "+37041654321"],
        ["answered", 1],
        ["incoming", "+15550100"],
        ["ended", 2, "busy", false],
    ]);
    first.emit("ended", { originator: "remote" });
    await animationFrame();
    expect(logged.at(-1)).toEqual(["ended", 1, "done", false]);
});

test("declining an incoming call answers 603 and logs it declined", async () => {
    const ua = await mountReadySoftphone();
    const call = ua.ring("2001", "Desk 2001");
    await animationFrame();
    expect(".o_didww_softphone_name").toHaveText("Desk 2001"); // no contact: SIP display name
    await contains(".o_didww_softphone_decline").click();
    await animationFrame();
    expect(call.actions).toEqual(["terminate 603"]);
    expect(logged.at(-1)).toEqual(["ended", 1, "declined", false]);
    expect(".o_didww_softphone").toHaveAttribute("data-call", "");
});

test("a caller who hangs up before the answer is a missed call", async () => {
    const ua = await mountReadySoftphone();
    const call = ua.ring("2001", "");
    await animationFrame();
    call.emit("failed", { cause: sipStack.causes.CANCELED, originator: "remote" });
    await animationFrame();
    expect(logged.at(-1)).toEqual(["ended", 1, "missed", false]);
});

test("the user switches the softphone off and on", async () => {
    const ua = await mountReadySoftphone();
    await contains(".o_didww_softphone_toggle").click();
    await contains(".o_didww_softphone_enabled").click();
    expect(ua.stopped).toBe(true);
    expect(".o_didww_softphone").toHaveAttribute("data-status", "off");
    expect(browser.localStorage.getItem(OFF_KEY)).toBe("1");
    await contains(".o_didww_softphone_enabled").click();
    await animationFrame();
    expect(agents).toHaveLength(2);
    expect(browser.localStorage.getItem(OFF_KEY)).toBe(null);
    expect(".o_didww_softphone").toHaveAttribute("data-status", "registering");
});

test("click-to-call: a phone field dials through the softphone when it is ready", async () => {
    const ua = await mountReadySoftphone();
    await mountView({
        type: "form",
        resModel: "crm.lead",
        resId: 7,
        arch: `<form><field name="name"/><field name="phone" widget="phone"/></form>`,
    });
    // the link shows on hover: click it the way a person's pointer does
    queryOne(".o_field_phone .o_phone_form_link").click();
    await animationFrame();
    expect(logged[0]).toEqual(["outgoing", "+370 41 654321", "crm.lead", 7]);
    expect(ua.calls.map((c) => c.target)).toEqual(["sip:+37041654321@sip.example.com"]);
});

test("click-to-call: the plain tel: link when the softphone is not registered", async () => {
    await mountWithCleanup(SoftphoneSystray);
    await animationFrame();
    agents[0].emit("registrationFailed", { cause: sipStack.causes.AUTHENTICATION_ERROR });
    await mountView({
        type: "form",
        resModel: "crm.lead",
        resId: 7,
        arch: `<form><field name="phone" widget="phone"/></form>`,
    });
    const link = queryOne(".o_field_phone .o_phone_form_link");
    expect(link).toHaveAttribute("href", "tel:+37041654321");
    let defaultPrevented = null;
    link.addEventListener("click", (ev) => {
        defaultPrevented = ev.defaultPrevented;
        ev.preventDefault(); // keep the test page
    });
    link.click();
    expect(defaultPrevented).toBe(false);
    expect(agents[0].calls).toHaveLength(0);
});

// ---------------------------------------------------------------------------------------------
// Never silent
// ---------------------------------------------------------------------------------------------

test("a call from a phone link that fails is told in a notification, in words (panel closed)", async () => {
    const ua = await mountReadySoftphone();
    const softphone = getService("didww_softphone");
    await softphone.dial("1002");
    await animationFrame();
    expect(".o_didww_softphone").toHaveAttribute("data-badge", "calling");
    ua.calls[0].session.emit("failed", {
        cause: sipStack.causes.NOT_FOUND, originator: "remote", message: { status_code: 404 },
    });
    await animationFrame();
    expect(notes).toEqual([[
        "Call failed: calling Ona Customer: this number does not exist or cannot be reached through your phone system",
        "danger",
    ]]);
    expect(logged.at(-1)).toEqual([
        "ended", 1, "failed", "this number does not exist or cannot be reached through your phone system",
    ]);
    expect(endCauses).toEqual(["failed"]);
    expect(".o_didww_softphone_panel").toHaveCount(0);
});

test("busy, declined, unanswered and ended calls from a link each get their notification", async () => {
    const ua = await mountReadySoftphone();
    const softphone = getService("didww_softphone");
    const c = sipStack.causes;
    const outcomes = [
        [{ cause: c.BUSY, originator: "remote" }, "Busy: Ona Customer is on another call", "warning"],
        [{ cause: c.REJECTED, originator: "remote" }, "Declined: Ona Customer declined the call", "warning"],
        [{ cause: c.NO_ANSWER, originator: "remote" }, "Not answered: Ona Customer did not answer", "warning"],
        [{ cause: c.UNAVAILABLE, originator: "remote" },
            "Call failed: calling Ona Customer: the person you called cannot be reached right now", "danger"],
    ];
    for (const [index, [event]] of outcomes.entries()) {
        await softphone.dial("1002");
        ua.calls[index].session.emit("failed", event);
    }
    await softphone.dial("1002");
    ua.calls.at(-1).session.emit("accepted");
    ua.calls.at(-1).session.emit("ended", { originator: "remote", cause: c.BYE });
    await animationFrame();
    expect(notes).toEqual([
        ...outcomes.map(([, text, type]) => [text, type]),
        ["Call ended: Ona Customer hung up (00:00)", "info"],
    ]);
    expect(endCauses).toEqual(["remote", "remote", "remote", "failed", "remote"]);
});

test("with the panel open the outcome shows in the panel, not as a notification", async () => {
    const ua = await mountReadySoftphone();
    await contains(".o_didww_softphone_toggle").click();
    expect(".o_didww_softphone_toggle").toHaveAttribute("aria-expanded", "true");
    await getService("didww_softphone").dial("1002");
    ua.calls[0].session.emit("failed", { cause: sipStack.causes.BUSY, originator: "remote" });
    await animationFrame();
    expect(notes).toEqual([]);
    expect(".o_didww_softphone_last").toHaveText("Busy: Ona Customer is on another call");
});

test("a missed incoming call is a notification; the second caller while busy too", async () => {
    const ua = await mountReadySoftphone();
    const first = ua.ring("+37041654321", "");
    await animationFrame();
    first.emit("failed", { cause: sipStack.causes.CANCELED, originator: "remote" });
    await animationFrame();
    expect(notes).toEqual([["Not answered: missed call from Ona Customer", "warning"]]);
    const second = ua.ring("2001", "Desk");
    await animationFrame();
    second.answer();
    await animationFrame();
    ua.ring("2002", "Other");
    await animationFrame();
    await animationFrame();
    expect(notes.at(-1)).toEqual(["Busy: Other called while you were on another call", "warning"]);
});

test("the badge follows the call: ringing, in call, on hold, reconnecting, then ready", async () => {
    const ua = await mountReadySoftphone();
    const call = ua.ring("2001", "Desk");
    await animationFrame();
    expect(".o_didww_softphone").toHaveAttribute("data-badge", "ringing");
    expect(".o_didww_softphone_status").toHaveText("Ringing");
    await contains(".o_didww_softphone_answer").click();
    expect(".o_didww_softphone").toHaveAttribute("data-badge", "in_call");
    expect(".o_didww_softphone_status").toHaveText("In call");
    expect(".o_didww_softphone_toggle").toHaveAttribute("title", "In call");
    await contains(".o_didww_softphone_hold").click();
    expect(".o_didww_softphone").toHaveAttribute("data-badge", "on_hold");
    expect(".o_didww_softphone_hold").toHaveAttribute("aria-pressed", "true");
    await contains(".o_didww_softphone_hold").click();
    expect(".o_didww_softphone_hold").toHaveAttribute("aria-pressed", "false");
    call.connection.setIce("disconnected");
    await animationFrame();
    expect(".o_didww_softphone").toHaveAttribute("data-badge", "reconnecting");
    expect(".o_didww_softphone_reconnecting").toHaveCount(1);
    call.connection.setIce("connected");
    await animationFrame();
    expect(".o_didww_softphone").toHaveAttribute("data-badge", "in_call");
    call.emit("ended", { originator: "remote", cause: sipStack.causes.BYE });
    await animationFrame();
    expect(".o_didww_softphone").toHaveAttribute("data-badge", "ready");
});

test("a registration failure is announced once, with its reason", async () => {
    await mountWithCleanup(SoftphoneSystray);
    captureNotifications();
    await animationFrame();
    const ua = agents[0];
    ua.emit("disconnected", { code: 1006 });
    ua.emit("connecting");
    ua.emit("disconnected", { code: 1006 });
    await animationFrame();
    expect(notes).toEqual([["The softphone could not connect: Server unreachable.", "danger"]]);
    ua.emit("registered");
    ua.emit("disconnected", { code: 1006 });
    ua.emit("disconnected", { code: 1006 });
    await animationFrame();
    expect(notes.at(-1)).toEqual(["The softphone lost its connection (Server unreachable): it keeps retrying.", "warning"]);
    expect(notes).toHaveLength(2);
});

test("a wrong secret is announced with its reason", async () => {
    await mountWithCleanup(SoftphoneSystray);
    captureNotifications();
    await animationFrame();
    agents[0].emit("registrationFailed", { cause: sipStack.causes.AUTHENTICATION_ERROR });
    await animationFrame();
    expect(notes).toEqual([[
        "The softphone could not connect: Wrong credentials: check your VoIP username and secret in your Preferences.",
        "danger",
    ]]);
});

test("mute is a pressed toggle; the digits sent by DTMF are shown", async () => {
    const ua = await mountReadySoftphone();
    await getService("didww_softphone").dial("1002");
    ua.calls[0].session.emit("accepted");
    await animationFrame();
    expect(".o_didww_softphone_mute").toHaveAttribute("aria-pressed", "false");
    await contains(".o_didww_softphone_mute").click();
    expect(".o_didww_softphone_mute").toHaveAttribute("aria-pressed", "true");
    await contains(".o_didww_softphone_keypad").click();
    expect(".o_didww_softphone_keypad").toHaveAttribute("aria-pressed", "true");
    for (const key of ["4", "2", "#"]) {
        await contains(`.o_didww_softphone_key[data-key='${key}']`).click();
    }
    expect(".o_didww_softphone_dtmf").toHaveText("Sent: 42#");
});

// ---------------------------------------------------------------------------------------------
// Never hangs
// ---------------------------------------------------------------------------------------------

test("media lost (ICE disconnected) for 8 s ends the call as dropped, with its cause", async () => {
    const ua = await mountReadySoftphone();
    await getService("didww_softphone").dial("1002");
    const call = ua.calls[0].session;
    call.emit("accepted");
    call.connection.setIce("connected");
    call.connection.setIce("disconnected");
    await advanceTime(7000);
    expect(".o_didww_softphone").toHaveAttribute("data-call", "active");
    await advanceTime(1000);
    await animationFrame();
    expect(".o_didww_softphone").toHaveAttribute("data-call", "");
    expect(call.actions).toEqual(["terminate"]);
    expect(logged.at(-1)).toEqual(["ended", 1, "dropped", "the connection to the other party was lost"]);
    expect(endCauses).toEqual(["dropped"]);
    expect(notes.at(-1)).toEqual([
        "Call dropped: the call with Ona Customer stopped: the connection to the other party was lost", "danger",
    ]);
});

test("media failed (ICE failed) ends the call at once; media back in time keeps it", async () => {
    const ua = await mountReadySoftphone();
    const softphone = getService("didww_softphone");
    await softphone.dial("1002");
    const first = ua.calls[0].session;
    first.emit("accepted");
    first.connection.setIce("disconnected");
    await advanceTime(5000);
    first.connection.setIce("connected");
    await advanceTime(10000);
    expect(".o_didww_softphone").toHaveAttribute("data-call", "active");
    first.connection.setIce("failed");
    await animationFrame();
    expect(logged.at(-1)).toEqual(["ended", 1, "dropped", "the connection to the other party was lost"]);
});

test("the connection to the phone system lost for 12 s during a call ends it as dropped", async () => {
    const ua = await mountReadySoftphone();
    await getService("didww_softphone").dial("1002");
    ua.calls[0].session.emit("accepted");
    ua.emit("disconnected", { code: 1006 });
    await animationFrame();
    expect(".o_didww_softphone").toHaveAttribute("data-badge", "reconnecting");
    await advanceTime(12000);
    await animationFrame();
    expect(logged.at(-1)).toEqual(["ended", 1, "dropped", "the connection to the phone system was lost"]);
});

test("a call in progress is confirmed to the server every minute", async () => {
    const ua = await mountReadySoftphone();
    await getService("didww_softphone").dial("1002");
    ua.calls[0].session.emit("accepted");
    await advanceTime(120000);
    expect(logged.filter((l) => l[0] === "alive")).toEqual([["alive", 1], ["alive", 1]]);
});

test("an RTP timeout ends the call as dropped, a remote BYE as hung up by them", async () => {
    const ua = await mountReadySoftphone();
    const softphone = getService("didww_softphone");
    await softphone.dial("1002");
    ua.calls[0].session.emit("accepted");
    ua.calls[0].session.emit("ended", { originator: "system", cause: sipStack.causes.RTP_TIMEOUT });
    await softphone.dial("1003");
    ua.calls[1].session.emit("accepted");
    ua.calls[1].session.emit("ended", { originator: "remote", cause: sipStack.causes.BYE });
    await animationFrame();
    expect(logged.filter((l) => l[0] === "ended")).toEqual([
        ["ended", 1, "dropped", "no more sound came from the other party"],
        ["ended", 2, "done", false],
    ]);
    expect(endCauses).toEqual(["dropped", "remote"]);
});

test("a dial-pad call shows the contact's name the server found", async () => {
    await mountReadySoftphone();
    await contains(".o_didww_softphone_toggle").click();
    await contains(".o_didww_softphone_input").edit("1002"); // confirmed with Enter: dials
    await animationFrame();
    expect(".o_didww_softphone_name").toHaveText("Ona Customer");
    expect(".o_didww_softphone_number").toHaveText("1002");
});

test("JsSIP is loaded by the SIP stack when the softphone starts, not with the page", async () => {
    expect(Boolean(window.JsSIP)).toBe(false);
    expect(JSSIP_BUNDLE).toBe("didww_connector.assets_jssip");
});

// ---------------------------------------------------------------------------------------------
// One softphone per browser
// ---------------------------------------------------------------------------------------------

/** BroadcastChannels between the tabs of a test, and the lock held by the first tab. */
function fakeTabs() {
    const channels = [];
    const waiting = [];
    let held = false;
    patchWithCleanup(browserTabs, {
        isShared: () => true,
        channel() {
            const channel = {
                onmessage: null,
                postMessage(data) {
                    const copy = JSON.parse(JSON.stringify(data));
                    for (const other of channels.filter((c) => c !== channel)) {
                        Promise.resolve().then(() => other.onmessage?.({ data: copy }));
                    }
                },
            };
            channels.push(channel);
            return channel;
        },
        claim(name, onLeader) {
            if (held) {
                waiting.push(onLeader);
            } else {
                held = true;
                onLeader();
            }
        },
    });
    return {
        channels,
        /** The leader's tab closes: the browser hands the lock to the next tab waiting. */
        closeLeader(leaderChannel) {
            channels.splice(channels.indexOf(leaderChannel), 1);
            waiting.shift()?.();
        },
    };
}

async function openSecondTab() {
    const tab = new Softphone(null, { orm: getService("orm"), notification: getService("notification") });
    tab.boot();
    await animationFrame();
    return tab;
}

test("a second tab does not register: it shows the first tab's call and answers, mutes, hangs up through it", async () => {
    const tabs = fakeTabs();
    const ua = await mountReadySoftphone();
    const second = await openSecondTab();
    expect(agents).toHaveLength(1); // one registration for both tabs
    expect(second.state.tab).toBe("follower");
    expect(getService("didww_softphone").state.tab).toBe("leader");
    expect(second.state.status).toBe("ready");
    expect(second.canCall).toBe(true);

    const call = ua.ring("+37041654321", "");
    await animationFrame();
    await animationFrame();
    expect(second.state.call.status).toBe("ringing");
    expect(second.state.call.name).toBe("Ona Customer");
    second.answer();
    await animationFrame();
    await animationFrame();
    expect(call.actions).toEqual(["answer"]);
    expect(".o_didww_softphone").toHaveAttribute("data-call", "active");
    expect(second.state.call.status).toBe("active");
    expect(second.badge).toBe("in_call");
    second.toggleMute();
    second.sendDtmf("7");
    await animationFrame();
    await animationFrame();
    expect(second.state.call.muted).toBe(true);
    expect(second.state.call.dtmf).toBe("7");
    second.hangup();
    await animationFrame();
    await animationFrame();
    expect(call.actions).toEqual(["answer", "mute", "dtmf 7", "terminate"]);
    expect(second.state.call).toBe(null);
    expect(tabs.channels).toHaveLength(2);
});

test("a second tab dials through the first; outcomes are told in every tab", async () => {
    fakeTabs();
    const ua = await mountReadySoftphone();
    const second = await openSecondTab();
    await second.dial("1002", { resModel: "crm.lead", resId: 7 });
    await animationFrame();
    await animationFrame();
    expect(logged[0]).toEqual(["outgoing", "1002", "crm.lead", 7]);
    expect(ua.calls).toHaveLength(1);
    ua.calls[0].session.emit("failed", { cause: sipStack.causes.BUSY, originator: "remote" });
    await animationFrame();
    await animationFrame();
    // the leader's tab and the second tab: two notifications in this single test page
    expect(notes.filter(([text]) => text === "Busy: Ona Customer is on another call")).toHaveLength(2);
});

test("when the tab holding the registration closes, another tab registers", async () => {
    const tabs = fakeTabs();
    await mountReadySoftphone();
    const second = await openSecondTab();
    expect(agents).toHaveLength(1);
    tabs.closeLeader(tabs.channels[0]);
    await animationFrame();
    await animationFrame();
    expect(second.state.tab).toBe("leader");
    expect(agents).toHaveLength(2);
    expect(agents[1].started).toBe(true);
    // every tab of the browser registers with the same contact, so the new one replaces the old
    expect(agents[1].config.contact_uri).toBe(agents[0].config.contact_uri);
    expect(agents[1].config.contact_uri).toMatch(/^sip:[a-z0-9]{8}@[a-z0-9]{12}\.invalid;transport=ws$/);
    agents[1].emit("registered");
    expect(second.state.status).toBe("ready");
});

// ---------------------------------------------------------------------------------------------
// Transfer
// ---------------------------------------------------------------------------------------------

test("blind transfer: the call is handed to another number, then ends as transferred", async () => {
    const ua = await mountReadySoftphone();
    const call = ua.ring("+37041654321", "");
    await animationFrame();
    await contains(".o_didww_softphone_answer").click();
    await contains(".o_didww_softphone_transfer").click();
    await contains(".o_didww_softphone_transfer_input").edit("10 03", { confirm: false });
    await contains(".o_didww_softphone_transfer_go").click();
    expect(call.actions).toEqual(["answer", "refer sip:1003@sip.example.com"]);
    expect(".o_didww_softphone_transfer").toHaveText(/Transferring to 1003/);
    call.referHandlers.requestSucceeded({});
    await animationFrame();
    expect(call.actions.at(-1)).toBe("terminate");
    expect(".o_didww_softphone").toHaveAttribute("data-call", "");
    expect(logged.at(-1)).toEqual(["ended", 1, "done", false]);
    expect(endCauses).toEqual(["transferred"]);
    expect(targets).toEqual(["1003"]);
    expect(notes.at(-1)[0]).toBe("Call ended: you transferred Ona Customer to 1003 (00:00)");
});

test("a refused transfer is told and the call goes on", async () => {
    const ua = await mountReadySoftphone();
    const softphone = getService("didww_softphone");
    await softphone.dial("1002");
    const call = ua.calls[0].session;
    call.emit("accepted");
    softphone.transfer("1009");
    call.referHandlers.requestFailed({ cause: sipStack.causes.NOT_FOUND });
    await animationFrame();
    expect(".o_didww_softphone").toHaveAttribute("data-call", "active");
    expect(notes.at(-1)).toEqual([
        "The transfer to 1009 failed: this number does not exist or cannot be reached through your phone system",
        "danger",
    ]);
});

test("transferred by the other party: the softphone calls the target, the first call ends as transferred", async () => {
    const ua = await mountReadySoftphone();
    const softphone = getService("didww_softphone");
    await softphone.dial("1002");
    const first = ua.calls[0].session;
    first.emit("accepted");
    let accepted = null;
    first.emit("refer", {
        request: { refer_to: { uri: { user: "1003" } } },
        accept: (init, options) => {
            accepted = new FakeSession("1003");
            init(accepted);
            expect(options.mediaConstraints).toEqual({ audio: true, video: false });
        },
        reject: () => expect.step("rejected"),
    });
    await animationFrame();
    expect(endCauses).toEqual(["transferred_by_them"]);
    expect(targets).toEqual(["1003"]);
    expect(".o_didww_softphone").toHaveAttribute("data-call", "calling");
    expect(logged.filter((l) => l[0] === "outgoing").map((l) => l[1])).toEqual(["1002", "1003"]);
    accepted.emit("accepted");
    await animationFrame();
    expect(".o_didww_softphone").toHaveAttribute("data-call", "active");
    expect(logged.at(-1)).toEqual(["answered", 2]);
});

// ---------------------------------------------------------------------------------------------
// Attended transfer: ask first, then complete or go back to the caller
// ---------------------------------------------------------------------------------------------

/** An answered incoming call from Ona (record 1), then "Ask first" to 1003 from the panel. */
async function askFirst(ua) {
    const caller = ua.ring("+37041654321", "");
    await animationFrame();
    await contains(".o_didww_softphone_answer").click();
    await contains(".o_didww_softphone_transfer").click();
    await contains(".o_didww_softphone_transfer_input").edit("1003", { confirm: false });
    await contains(".o_didww_softphone_ask_first").click();
    await animationFrame();
    return { caller, colleague: ua.calls.at(-1).session };
}

test("ask first: the caller waits on hold while the colleague is called, logged as a consultation", async () => {
    const ua = await mountReadySoftphone();
    const { caller, colleague } = await askFirst(ua);
    expect(caller.actions).toEqual(["answer", "hold"]);
    expect(ua.calls.map((c) => c.target)).toEqual(["sip:1003@sip.example.com"]);
    expect(links).toEqual([["consult_for", 2, 1]]);
    expect(".o_didww_softphone").toHaveAttribute("data-call", "active");
    expect(".o_didww_softphone").toHaveAttribute("data-consult", "calling");
    expect(".o_didww_softphone").toHaveAttribute("data-badge", "calling");
    expect(".o_didww_softphone_name").toHaveText("Ona Customer");
    expect(".o_didww_softphone_call_status").toHaveText("On hold");
    expect(".o_didww_softphone_consult_name").toHaveText("Bob Colleague");
    expect(".o_didww_softphone_consult_status").toHaveText("Calling…");
    expect(".o_didww_softphone_complete").toHaveAttribute("disabled");
    expect(".o_didww_softphone_hangup").toHaveCount(0); // Back to caller ends the second call
    colleague.emit("accepted");
    await animationFrame();
    expect(".o_didww_softphone").toHaveAttribute("data-consult", "active");
    expect(".o_didww_softphone").toHaveAttribute("data-badge", "in_call");
    expect(".o_didww_softphone_consult_status").toHaveText("In call");
    expect(".o_didww_softphone_complete").not.toHaveAttribute("disabled");
    expect(logged.filter((l) => l[0] === "answered")).toEqual([["answered", 1], ["answered", 2]]);
    await advanceTime(60000);
    expect(logged.at(-1)).toEqual(["alive", 1, 2]); // the heartbeat confirms both calls
});

test("complete transfer: REFER with Replaces; once the colleague has the caller both calls end, consultation first", async () => {
    const ua = await mountReadySoftphone();
    const { caller, colleague } = await askFirst(ua);
    colleague.emit("accepted");
    await animationFrame();
    await contains(".o_didww_softphone_complete").click();
    expect(caller.actions).toEqual(["answer", "hold", "refer sip:1003@sip.example.com replacing sip:1003@sip.example.com"]);
    expect(".o_didww_softphone_complete").toHaveText(/Transferring to Bob Colleague/);
    expect(".o_didww_softphone_back").toHaveAttribute("disabled");
    caller.referHandlers.requestSucceeded?.({});
    caller.referHandlers.accepted({ status_line: { status_code: 200 } });
    await animationFrame();
    await animationFrame();
    expect(caller.actions.at(-1)).toBe("terminate");
    expect(".o_didww_softphone").toHaveAttribute("data-call", "");
    expect(".o_didww_softphone").toHaveAttribute("data-consult", "");
    expect(logged.filter((l) => l[0] === "ended")).toEqual([["ended", 2, "done", false], ["ended", 1, "done", false]]);
    expect(endCauses).toEqual(["transferred", "transferred"]);
    expect(targets).toEqual(["+37041654321", "1003"]);
    // the colleague's phone hangs up on us; when it does not, the softphone does
    expect(colleague.actions).toEqual([]);
    await advanceTime(5000);
    expect(colleague.actions).toEqual(["terminate"]);
});

test("the colleague's phone hangs up on us before confirming: still a transfer, once it is confirmed", async () => {
    const ua = await mountReadySoftphone();
    const { caller, colleague } = await askFirst(ua);
    colleague.emit("accepted");
    getService("didww_softphone").completeTransfer();
    colleague.emit("ended", { originator: "remote" }); // BYE: the caller's call replaced ours
    await animationFrame();
    expect(".o_didww_softphone").toHaveAttribute("data-call", "active");
    expect(caller.actions).not.toInclude("unhold");
    caller.referHandlers.accepted({});
    await animationFrame();
    await animationFrame();
    expect(endCauses).toEqual(["transferred", "transferred"]);
    expect(targets).toEqual(["+37041654321", "1003"]);
});

test("back to caller: the consultation ends, the caller is resumed", async () => {
    const ua = await mountReadySoftphone();
    const { caller, colleague } = await askFirst(ua);
    colleague.emit("accepted");
    await animationFrame();
    await contains(".o_didww_softphone_back").click();
    await animationFrame();
    expect(colleague.actions).toEqual(["terminate"]);
    expect(caller.actions).toEqual(["answer", "hold", "unhold"]);
    expect(".o_didww_softphone").toHaveAttribute("data-consult", "");
    expect(".o_didww_softphone").toHaveAttribute("data-badge", "in_call");
    expect(".o_didww_softphone_call_status").toHaveText("In call");
    expect(".o_didww_softphone_hangup").toHaveCount(1);
    expect(logged.at(-1)).toEqual(["ended", 2, "done", false]);
    expect(endCauses).toEqual(["local"]);
});

test("the colleague is busy: told, and back to the caller", async () => {
    const ua = await mountReadySoftphone();
    const { caller, colleague } = await askFirst(ua);
    colleague.emit("failed", { cause: sipStack.causes.BUSY, originator: "remote" });
    await animationFrame();
    expect(notes.at(-1)).toEqual(["Busy: Bob Colleague is on another call. Back to Ona Customer.", "warning"]);
    expect(caller.actions).toEqual(["answer", "hold", "unhold"]);
    expect(".o_didww_softphone").toHaveAttribute("data-consult", "");
    expect(logged.at(-1)).toEqual(["ended", 2, "busy", false]);
});

test("a refused transfer is told and the consultation goes on; a silent one gives up after 30 s", async () => {
    const ua = await mountReadySoftphone();
    const softphone = getService("didww_softphone");
    const { caller, colleague } = await askFirst(ua);
    colleague.emit("accepted");
    softphone.completeTransfer();
    caller.referHandlers.failed({ status_line: { status_code: 486 } });
    await animationFrame();
    expect(notes.at(-1)).toEqual(["The transfer to Bob Colleague failed: the line is busy", "danger"]);
    expect(".o_didww_softphone").toHaveAttribute("data-consult", "active");
    expect(".o_didww_softphone_complete").toHaveText("Complete transfer");
    softphone.completeTransfer();
    colleague.emit("ended", { originator: "remote" });
    await advanceTime(30000);
    expect(notes.at(-1)).toEqual([
        "The transfer to Bob Colleague failed: the colleague's phone did not take the call", "danger",
    ]);
    expect(caller.actions.at(-1)).toBe("unhold"); // the colleague's call is gone: back to the caller
    expect(".o_didww_softphone").toHaveAttribute("data-call", "active");
});

test("the caller hangs up while the colleague is asked: the colleague's call goes on as the call", async () => {
    const ua = await mountReadySoftphone();
    const { caller, colleague } = await askFirst(ua);
    colleague.emit("accepted");
    caller.emit("ended", { originator: "remote" });
    await animationFrame();
    expect(".o_didww_softphone").toHaveAttribute("data-call", "active");
    expect(".o_didww_softphone").toHaveAttribute("data-consult", "");
    expect(".o_didww_softphone_name").toHaveText("Bob Colleague");
    expect(logged.at(-1)).toEqual(["ended", 1, "done", false]);
    await contains(".o_didww_softphone_hangup").click();
    await animationFrame();
    expect(colleague.actions).toEqual(["terminate"]);
    expect(logged.at(-1)).toEqual(["ended", 2, "done", false]);
    expect(endCauses).toEqual(["remote", "local"]);
});

test("a colleague who asked us first transfers their caller: it replaces their call, answered at once", async () => {
    const ua = await mountReadySoftphone();
    const colleague = ua.ring("1001", "Alice Agent");
    await animationFrame();
    await contains(".o_didww_softphone_answer").click();
    const caller = ua.replace(colleague, "+37041654321");
    await animationFrame();
    await animationFrame();
    expect(caller.actions).toEqual(["answer"]);
    expect(".o_didww_softphone").toHaveAttribute("data-call", "active");
    expect(".o_didww_softphone_name").toHaveText("Ona Customer");
    expect(logged.filter((l) => l[0] === "ended")).toEqual([["ended", 1, "done", false]]);
    expect(endCauses).toEqual(["replaced"]);
    expect(links).toEqual([["replaces", 2, 1]]);
    expect(logged.at(-1)).toEqual(["answered", 2]);
});

test("a replacing call is refused for a call not in progress, or while we ask someone first", async () => {
    const ua = await mountReadySoftphone();
    const ringing = ua.ring("1001", "");
    await animationFrame();
    expect(ua.replace(ringing, "+37041654321")).toBe(null);
    expect(ringing.actions).toEqual(["reject replaces"]);
    ringing.emit("failed", { cause: sipStack.causes.CANCELED, originator: "remote" });
    const { caller } = await askFirst(ua);
    expect(ua.replace(caller, "2002")).toBe(null);
    expect(caller.actions.at(-1)).toBe("reject replaces");
});

test("a second tab asks first, completes and goes back through the registered tab", async () => {
    fakeTabs();
    const ua = await mountReadySoftphone();
    const second = await openSecondTab();
    const caller = ua.ring("+37041654321", "");
    await animationFrame();
    caller.answer();
    await animationFrame();
    await animationFrame();
    second.consult("1003");
    await animationFrame();
    await animationFrame();
    expect(second.state.consult.name).toBe("Bob Colleague");
    const colleague = ua.calls.at(-1).session;
    colleague.emit("accepted");
    await animationFrame();
    second.backToCaller();
    await animationFrame();
    await animationFrame();
    expect(colleague.actions).toEqual(["terminate"]);
    expect(second.state.consult).toBe(null);
    expect(second.state.call.held).toBe(false);
});
