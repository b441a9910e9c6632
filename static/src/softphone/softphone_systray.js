import { Component, useState } from "@odoo/owl";
import { _t } from "@web/core/l10n/translation";
import { registry } from "@web/core/registry";
import { useService } from "@web/core/utils/hooks";
import { session } from "@web/session";

export const STATUS_LABELS = {
    off: _t("Off"),
    registering: _t("Registering…"),
    ready: _t("Ready"),
    reconnecting: _t("Reconnecting…"),
    failed: _t("Failed"),
};

const CALL_LABELS = {
    calling: _t("Calling…"),
    ringing: _t("Incoming call"),
    active: _t("In call"),
};

const OUTCOME_LABELS = {
    done: _t("Call ended"),
    missed: _t("Not answered"),
    declined: _t("Declined"),
    busy: _t("Busy"),
    failed: _t("Call failed"),
};

export const DIAL_KEYS = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#"];

export function formatTimer(seconds) {
    const minutes = Math.floor(seconds / 60);
    const rest = seconds % 60;
    return `${String(minutes).padStart(2, "0")}:${String(rest).padStart(2, "0")}`;
}

/** The softphone in the top bar: status, dial pad, current call. */
export class SoftphoneSystray extends Component {
    static template = "didww_connector.SoftphoneSystray";
    static props = {};

    setup() {
        this.softphone = useService("didww_softphone");
        this.state = useState(this.softphone.state);
        this.ui = useState({ open: false, number: "", keypad: false });
        this.dialKeys = DIAL_KEYS;
    }

    get call() {
        return this.state.call;
    }

    get panelOpen() {
        return this.ui.open || Boolean(this.call);
    }

    get statusText() {
        return STATUS_LABELS[this.state.status] || this.state.status;
    }

    get statusClass() {
        return {
            ready: "text-bg-success",
            registering: "text-bg-info",
            reconnecting: "text-bg-warning",
            failed: "text-bg-danger",
            off: "text-bg-secondary",
        }[this.state.status];
    }

    get iconClass() {
        if (this.call?.status === "ringing") {
            return "text-danger o_didww_softphone_ringing";
        }
        if (this.call) {
            return "text-success";
        }
        return { ready: "", failed: "text-danger", reconnecting: "text-warning" }[this.state.status] || "opacity-50";
    }

    get callStatusText() {
        const call = this.call;
        if (call?.held) {
            return _t("On hold");
        }
        return CALL_LABELS[call?.status] || "";
    }

    get lastCallText() {
        const last = this.state.lastCall;
        if (!last) {
            return "";
        }
        const label = OUTCOME_LABELS[last.outcome] || last.outcome;
        return last.reason ? `${label}: ${last.reason}` : label;
    }

    get timer() {
        return formatTimer(this.state.elapsed);
    }

    toggle() {
        this.ui.open = !this.ui.open;
    }

    onToggleEnabled(ev) {
        this.softphone.setEnabled(ev.target.checked);
    }

    pressKey(key) {
        if (this.call?.status === "active") {
            this.softphone.sendDtmf(key);
        } else {
            this.ui.number += key;
        }
    }

    onNumberKeydown(ev) {
        if (ev.key === "Enter") {
            this.dial();
        }
    }

    async dial() {
        const number = this.ui.number.trim();
        if (number && (await this.softphone.dial(number))) {
            this.ui.number = "";
        }
    }
}

registry.category("systray").add(
    "didww_connector.softphone",
    { Component: SoftphoneSystray, isDisplayed: () => Boolean(session.didww_softphone) },
    { sequence: 40 }
);
