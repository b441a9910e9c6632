import { _t } from "@web/core/l10n/translation";

import { sipStack } from "./sip_stack";

/**
 * The call state: what a call is (a plain object kept in the softphone's reactive state), how it
 * ends and how each ending is told to a person. No SIP and no sound here.
 *
 * A call: {direction: outgoing|incoming, number, name, status: calling|ringing|active, muted,
 * held, reconnecting, dtmf (the digits sent), transferring (the target while a transfer is under
 * way), recordId (its didww.call), answeredAt}. During an attended transfer the softphone has two:
 * the caller's (on hold) and the consultation, the call to the colleague asked first.
 */

/** Registration failure reasons, as shown to the user. */
export const REASONS = {
    credentials: _t("Wrong credentials: check your VoIP username and secret in your Preferences"),
    unreachable: _t("Server unreachable"),
    microphone: _t("Microphone access denied: allow it in the browser to call"),
    config: _t("The softphone configuration could not be loaded"),
};

/** Why a call could not go on, in words a person understands (by JsSIP cause). */
const c = sipStack.causes;
export const CAUSE_TEXTS = {
    [c.NOT_FOUND]: _t("this number does not exist or cannot be reached through your phone system"),
    [c.UNAVAILABLE]: _t("the person you called cannot be reached right now"),
    [c.BUSY]: _t("the line is busy"),
    [c.REJECTED]: _t("the call was declined"),
    [c.NO_ANSWER]: _t("nobody answered"),
    [c.EXPIRES]: _t("nobody answered"),
    [c.CANCELED]: _t("the call was cancelled"),
    [c.ADDRESS_INCOMPLETE]: _t("the number is incomplete"),
    [c.REQUEST_TIMEOUT]: _t("the phone system did not answer in time"),
    [c.CONNECTION_ERROR]: _t("the connection to the phone system was lost"),
    [c.REDIRECTED]: _t("the call was redirected to another number, which the softphone does not follow"),
    [c.INCOMPATIBLE_SDP]: _t("the other phone cannot handle this call's audio"),
    [c.MISSING_SDP]: _t("the other phone cannot handle this call's audio"),
    [c.BAD_MEDIA_DESCRIPTION]: _t("the other phone cannot handle this call's audio"),
    [c.RTP_TIMEOUT]: _t("no more sound came from the other party"),
    [c.NO_ACK]: _t("the phone system stopped answering"),
    [c.DIALOG_ERROR]: _t("the phone system stopped answering"),
    [c.AUTHENTICATION_ERROR]: _t("the phone system refused your VoIP credentials"),
    [c.WEBRTC_ERROR]: _t("the browser could not set up the sound of the call"),
    [c.INTERNAL_ERROR]: _t("the softphone ran into an internal error"),
    [c.SIP_FAILURE_CODE]: _t("the phone system refused the call"),
    [c.USER_DENIED_MEDIA_ACCESS]: REASONS.microphone,
};

/** Why a call in progress was ended by the softphone itself. */
export const DROP_TEXTS = {
    media: _t("the connection to the other party was lost"),
    signalling: _t("the connection to the phone system was lost"),
};

/** Causes that end a call in progress without anyone hanging up. */
export const DROP_CAUSES = [c.RTP_TIMEOUT, c.REQUEST_TIMEOUT, c.NO_ACK, c.DIALOG_ERROR, c.CONNECTION_ERROR];

/** Why a transfer failed, from the SIP status the other phone reported (a NOTIFY's status line). */
export function statusText(statusCode) {
    const cause = {
        404: c.NOT_FOUND, 408: c.NO_ANSWER, 480: c.UNAVAILABLE, 486: c.BUSY, 487: c.CANCELED, 600: c.BUSY,
        603: c.REJECTED,
    }[statusCode];
    return cause ? causeText(cause) : causeText(c.SIP_FAILURE_CODE, statusCode);
}

/** A JsSIP cause in words; the SIP status is added when the phone system gave one. */
export function causeText(cause, statusCode = 0) {
    const text = CAUSE_TEXTS[cause];
    if (text) {
        return statusCode && cause === c.SIP_FAILURE_CODE ? `${text} (SIP ${statusCode})` : text;
    }
    return _t("the call could not go on (%s)", cause || _t("unknown reason"));
}

export const OUTCOME_LABELS = {
    done: _t("Call ended"),
    missed: _t("Not answered"),
    declined: _t("Declined"),
    busy: _t("Busy"),
    failed: _t("Call failed"),
    dropped: _t("Call dropped"),
};

/** How a notification shows each outcome. */
export const OUTCOME_TYPES = {
    done: "info",
    missed: "warning",
    declined: "warning",
    busy: "warning",
    failed: "danger",
    dropped: "danger",
};

export function formatTimer(seconds) {
    const minutes = Math.floor(seconds / 60);
    const rest = seconds % 60;
    return `${String(minutes).padStart(2, "0")}:${String(rest).padStart(2, "0")}`;
}

/**
 * The sentence telling how ``call`` ended: ``outcome`` (done, missed, declined, busy, failed,
 * dropped), ``reason`` (words, for failed and dropped), ``endCause`` (local, remote, ...).
 */
export function outcomeText(call, outcome, { reason = "", endCause = false, transferTarget = "", elapsed = 0 } = {}) {
    const who = call.name || call.number;
    const incoming = call.direction === "incoming";
    const duration = formatTimer(elapsed);
    let detail;
    switch (outcome) {
        case "done":
            if (endCause === "transferred") {
                detail = _t("you transferred %(who)s to %(target)s (%(duration)s)", { who, target: transferTarget, duration });
                break;
            }
            if (endCause === "replaced") {
                detail = _t("%(who)s transferred their caller to you (%(duration)s)", { who, duration });
                break;
            }
            if (endCause === "transferred_by_them") {
                detail = _t("%(who)s transferred you to %(target)s (%(duration)s)", { who, target: transferTarget, duration });
                break;
            }
            detail = endCause === "remote"
                ? _t("%(who)s hung up (%(duration)s)", { who, duration })
                : _t("you hung up on %(who)s (%(duration)s)", { who, duration });
            break;
        case "missed":
            if (incoming) {
                detail = _t("missed call from %s", who);
            } else if (endCause === "local") {
                detail = _t("you cancelled the call to %s", who);
            } else {
                detail = _t("%s did not answer", who);
            }
            break;
        case "declined":
            detail = incoming ? _t("you declined the call from %s", who) : _t("%s declined the call", who);
            break;
        case "busy":
            detail = incoming
                ? _t("%s called while you were on another call", who)
                : _t("%s is on another call", who);
            break;
        case "dropped":
            detail = _t("the call with %(who)s stopped: %(reason)s", { who, reason });
            break;
        default:
            detail = _t("calling %(who)s: %(reason)s", { who, reason: reason || _t("unknown reason") });
    }
    return `${OUTCOME_LABELS[outcome] || outcome}: ${detail}`;
}

/**
 * The badge of the top bar: the call when there is one (the call to the colleague asked first,
 * during an attended transfer), else the registration.
 */
export function badgeOf(status, call, consult = null) {
    if (!call) {
        return status;
    }
    if (call.reconnecting || status === "reconnecting") {
        return "reconnecting";
    }
    if (consult) {
        return consult.status === "active" ? "in_call" : "calling";
    }
    if (call.status === "active") {
        return call.held ? "on_hold" : "in_call";
    }
    return call.status; // calling | ringing
}

export const BADGE_LABELS = {
    off: _t("Off"),
    registering: _t("Registering…"),
    ready: _t("Ready"),
    reconnecting: _t("Reconnecting…"),
    failed: _t("Failed"),
    calling: _t("Calling…"),
    ringing: _t("Ringing"),
    in_call: _t("In call"),
    on_hold: _t("On hold"),
};

export const BADGE_CLASSES = {
    ready: "text-bg-success",
    registering: "text-bg-info",
    reconnecting: "text-bg-warning",
    failed: "text-bg-danger",
    off: "text-bg-secondary",
    calling: "text-bg-info",
    ringing: "text-bg-warning",
    in_call: "text-bg-primary",
    on_hold: "text-bg-secondary",
};
