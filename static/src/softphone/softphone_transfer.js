import { browser } from "@web/core/browser/browser";
import { _t } from "@web/core/l10n/translation";

import { OUTCOME_TYPES, causeText, outcomeText, statusText } from "./call_state";
import { digitsOf } from "./sip_stack";

/**
 * Attended transfer: how long the colleague's phone may take to report that it took the caller
 * (SIP NOTIFY) before the transfer is given up and the user is back with the caller.
 */
export const TRANSFER_TIMEOUT_MS = 30000;
/** After the colleague took the caller, their phone hangs up our call with them; else we do after this. */
const CONSULT_LINGER_MS = 5000;

/**
 * Attended transfer, for the softphone (softphone_service.js): ask a colleague first (a second
 * call, ``state.consult``, while the caller's call waits on hold), then complete the transfer or go
 * back to the caller; and, on the colleague's side, the caller taking the place of the call with
 * the colleague who asked first. The softphone forwards the user's commands from its other tabs
 * and routes the consultation's SIP events here.
 */
export class AttendedTransfer {
    constructor(softphone) {
        this.softphone = softphone;
        this.session = null; // the SIP session of state.consult
        this.replacing = null; // a colleague's transfer arriving in place of our call with them
        this.timer = null; // gives up a transfer the colleague's phone does not confirm
    }

    /**
     * Ask first: put the caller on hold and call ``number`` (a colleague), as a second call. Then
     * ``complete`` hands the caller to them, or ``backToCaller`` ends the second call.
     */
    async consult(number) {
        const softphone = this.softphone;
        const state = softphone.state;
        const call = state.call;
        const target = (number || "").replace(/[^0-9+*#]/g, "");
        if (!softphone.session || call?.status !== "active" || state.consult || call.transferring || !target) {
            return false;
        }
        if (!call.held) {
            softphone.session.hold();
            call.held = true;
        }
        state.consult = softphone._newCall("outgoing", target, "", "calling");
        const consult = state.consult; // the reactive call, as compared below
        let prepared;
        try {
            prepared = await softphone.orm.call("didww.call", "didww_outgoing", [target], {
                consult_for: call.recordId || false,
            });
        } catch (error) {
            this._drop(consult);
            throw error;
        }
        if (prepared.error) {
            this._drop(consult);
            softphone._tell(prepared.error, { type: "danger" });
            return false;
        }
        Object.assign(consult, { number: prepared.number, name: prepared.name || "", recordId: prepared.id });
        const promoted = state.call === consult; // the caller hung up meanwhile
        if (!promoted && state.consult !== consult) {
            // the user went back to the caller while this call was being logged
            softphone._logEnd(prepared.id, "missed", { endCause: "local" });
            return false;
        }
        softphone._startHeartbeat();
        let sipSession;
        try {
            sipSession = softphone.ua.call(`sip:${prepared.number}@${softphone.pbx}`, {
                mediaConstraints: { audio: true, video: false },
                rtcOfferConstraints: { offerToReceiveAudio: true, offerToReceiveVideo: false },
            });
        } catch (error) {
            const failure = { reason: error.message || String(error), endCause: "failed" };
            return promoted ? softphone._ended("failed", failure) : this.ended("failed", failure);
        }
        if (promoted) {
            softphone._bind(sipSession);
        } else {
            this.session = sipSession;
            softphone._listen(sipSession);
        }
        return true;
    }

    /** A consultation that could not start: forget it, back to the caller. */
    _drop(consult) {
        if (this.softphone.state.consult === consult) {
            this.softphone.state.consult = null;
            this.resumeCaller();
        }
    }

    answered(sipSession) {
        const consult = this.softphone.state.consult;
        if (this.session !== sipSession || !consult || consult.status === "active") {
            return;
        }
        consult.status = "active";
        consult.answeredAt = Date.now();
        if (consult.recordId) {
            this.softphone.orm.call("didww.call", "didww_answered", [[consult.recordId]]);
        }
    }

    /**
     * The call with the colleague asked first ended: logged, and the user is back with the caller
     * (resumed), unless the colleague now has the caller (``endCause`` transferred).
     */
    ended(outcome, { reason = "", endCause = false, transferTarget = false } = {}) {
        const softphone = this.softphone;
        const consult = softphone.state.consult;
        const call = softphone.state.call;
        softphone.streams.delete(this.session);
        this.session = null;
        softphone.state.consult = null;
        if (!consult) {
            return;
        }
        if (call?.transferring && outcome === "done") {
            // the colleague's phone hangs up on us once it has the caller
            endCause = "transferred";
        }
        if (endCause === "transferred") {
            transferTarget = call?.number || transferTarget;
        }
        if (consult.recordId) {
            softphone._logEnd(consult.recordId, outcome, { reason, endCause, transferTarget });
        } // else it is being logged: ``consult`` closes its log
        if (endCause === "transferred" || !call) {
            return;
        }
        if (endCause !== "local") {
            const elapsed = consult.answeredAt ? Math.round((Date.now() - consult.answeredAt) / 1000) : 0;
            softphone._tell(_t("%(outcome)s. Back to %(caller)s.", {
                outcome: outcomeText(consult, outcome, { reason, endCause, elapsed }),
                caller: call.name || call.number,
            }), { type: OUTCOME_TYPES[outcome] || "info" });
        }
        this.resumeCaller();
    }

    /** Back with the caller: off hold, their sound playing. */
    resumeCaller() {
        const softphone = this.softphone;
        const call = softphone.state.call;
        if (!softphone.session || !call || call.transferring) {
            return;
        }
        if (call.held) {
            softphone.session.unhold();
            call.held = false;
        }
        const stream = softphone.streams.get(softphone.session);
        if (stream) {
            softphone._playRemote(stream);
        }
    }

    /** The caller hung up while the user was asking a colleague: that call goes on as the call. */
    promote() {
        const softphone = this.softphone;
        const sipSession = this.session;
        softphone.state.call = softphone.state.consult;
        softphone.state.consult = null;
        this.session = null;
        softphone.session = sipSession; // none yet while its log is being created (see consult)
        const call = softphone.state.call;
        if (call.status === "active") {
            softphone._startTimer(call);
        }
        softphone._startHeartbeat();
        if (softphone.streams.has(sipSession)) {
            softphone._playRemote(softphone.streams.get(sipSession));
        }
    }

    /** End the call with the colleague asked first and take the caller back. */
    backToCaller() {
        const consult = this.softphone.state.consult;
        if (!consult || this.softphone.state.call?.transferring) {
            return;
        }
        const sipSession = this.session;
        this.ended(consult.status === "active" ? "done" : "missed", { endCause: "local" });
        try {
            sipSession?.terminate();
        } catch {
            // the colleague already hung up
        }
    }

    /**
     * Complete the transfer: the caller is asked (SIP REFER with Replaces) to call the colleague in
     * place of our call with them; once the colleague's phone has the caller (NOTIFY 200), both our
     * calls end as transferred. A failure is told and the user goes back to the caller.
     */
    complete() {
        const softphone = this.softphone;
        const call = softphone.state.call;
        const consult = softphone.state.consult;
        const callerSession = softphone.session;
        const consultSession = this.session;
        if (!callerSession || !consultSession || call?.status !== "active" || consult?.status !== "active"
            || call.transferring) {
            return;
        }
        const target = consult.number;
        const colleague = consult.name || target;
        call.transferring = colleague;
        const failed = (reason) => {
            if (softphone.session !== callerSession || !call.transferring) {
                return;
            }
            browser.clearTimeout(this.timer);
            call.transferring = false;
            softphone._tell(_t("The transfer to %(target)s failed: %(reason)s", { target: colleague, reason }),
                { type: "danger" });
            if (!softphone.state.consult) {
                this.resumeCaller(); // the call with the colleague is gone: back to the caller
            }
        };
        const done = () => {
            if (softphone.session !== callerSession) {
                return;
            }
            if (this.session === consultSession) {
                this.ended("done", { endCause: "transferred" });
                browser.setTimeout(() => {
                    try {
                        consultSession.terminate(); // their phone did not hang up on us
                    } catch {
                        // it did
                    }
                }, CONSULT_LINGER_MS);
            }
            softphone._ended("done", { endCause: "transferred", transferTarget: target });
            try {
                callerSession.terminate();
            } catch {
                // the caller's phone already hung up this leg
            }
        };
        this.timer = browser.setTimeout(
            () => failed(_t("the colleague's phone did not take the call")), TRANSFER_TIMEOUT_MS);
        callerSession.refer(`sip:${target}@${softphone.pbx}`, {
            replaces: consultSession,
            eventHandlers: {
                requestFailed: ({ cause } = {}) => failed(causeText(cause)),
                accepted: done,
                failed: ({ status_line: statusLine } = {}) => failed(statusText(statusLine?.status_code)),
            },
        });
    }

    /**
     * A colleague who asked us first transfers their caller to us (INVITE with Replaces): the
     * caller's call takes the place of our call with the colleague and is answered at once.
     */
    onReplaces(sipSession, { accept, reject }) {
        const call = this.softphone.state.call;
        if (this.softphone.session !== sipSession || call?.status !== "active" || this.softphone.state.consult) {
            reject();
            return;
        }
        accept((newSession) => {
            this.replacing = { newSession, recordId: call.recordId };
        });
    }

    /** The caller's call arriving in place of our call with the colleague (see ``onReplaces``). */
    async takeOver(sipSession) {
        const softphone = this.softphone;
        const { recordId } = this.replacing;
        this.replacing = null;
        softphone._ended("done", { endCause: "replaced" }); // JsSIP hangs it up once the caller is with us
        const number = digitsOf(sipSession.remote_identity?.uri);
        const displayName = sipSession.remote_identity?.display_name || "";
        softphone.state.call = softphone._newCall("incoming", number, displayName, "ringing");
        const call = softphone.state.call;
        softphone._bind(sipSession);
        sipSession.answer({ mediaConstraints: { audio: true, video: false } });
        const log = await softphone.orm.call("didww.call", "didww_incoming", [number], {
            display_name: displayName, replaces: recordId || false,
        });
        if (softphone.state.call === call) {
            Object.assign(call, { number: log.number, name: log.name || displayName, recordId: log.id });
            softphone._startHeartbeat();
            if (call.status === "active") {
                softphone.orm.call("didww.call", "didww_answered", [[log.id]]);
            }
        } else {
            const [outcome, endCause] = softphone._pendingOutcome || ["done", "remote"];
            softphone._logEnd(log.id, outcome, { endCause });
        }
    }
}
