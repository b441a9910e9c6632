import { Component, useState } from "@odoo/owl";
import { _t } from "@web/core/l10n/translation";
import { registry } from "@web/core/registry";
import { useService } from "@web/core/utils/hooks";
import { session } from "@web/session";

import { BADGE_CLASSES, BADGE_LABELS, formatTimer } from "./call_state";

export { formatTimer } from "./call_state";
export const STATUS_LABELS = BADGE_LABELS;

const CALL_LABELS = {
    calling: _t("Calling…"),
    ringing: _t("Incoming call"),
    active: _t("In call"),
};

export const DIAL_KEYS = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#"];

/** The softphone in the top bar: status, dial pad, current call. */
export class SoftphoneSystray extends Component {
    static template = "didww_connector.SoftphoneSystray";
    static props = {};

    setup() {
        this.softphone = useService("didww_softphone");
        this.state = useState(this.softphone.state);
        this.ui = useState({ number: "", keypad: false, transfer: false, transferTo: "" });
        this.dialKeys = DIAL_KEYS;
    }

    get call() {
        return this.state.call;
    }

    /** The call to the colleague asked first (attended transfer), while the caller is on hold. */
    get consult() {
        return this.state.consult;
    }

    get consultStatusText() {
        return this.consult?.status === "active" ? _t("In call") : _t("Calling…");
    }

    get panelOpen() {
        return this.state.panelOpen || Boolean(this.call);
    }

    get badge() {
        return this.softphone.badge;
    }

    get statusText() {
        return BADGE_LABELS[this.badge] || this.badge;
    }

    get statusClass() {
        return BADGE_CLASSES[this.badge];
    }

    get iconClass() {
        if (this.call?.status === "ringing") {
            return "text-danger o_didww_softphone_ringing";
        }
        if (this.call?.reconnecting) {
            return "text-warning";
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
        return this.state.lastCall?.text || "";
    }

    get timer() {
        return formatTimer(this.state.elapsed);
    }

    toggle() {
        this.softphone.setPanelOpen(!this.state.panelOpen);
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

    onTransferKeydown(ev) {
        if (ev.key === "Enter") {
            this.transfer();
        }
    }

    transfer() {
        const target = this.ui.transferTo.trim();
        if (target) {
            this.softphone.transfer(target);
            Object.assign(this.ui, { transfer: false, transferTo: "" });
        }
    }

    /** Ask first: call the colleague, the caller on hold (then complete the transfer or go back). */
    askFirst() {
        const target = this.ui.transferTo.trim();
        if (target) {
            this.softphone.consult(target);
            Object.assign(this.ui, { transfer: false, transferTo: "" });
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
