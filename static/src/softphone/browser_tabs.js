import { browser } from "@web/core/browser/browser";

/**
 * One softphone per browser: the tabs of a user elect one of them to hold the SIP registration
 * (the leader); the others mirror its state and send it the user's commands.
 *
 * The election is a Web Lock (``navigator.locks``): the tab holding it is the leader; when it
 * closes (or crashes) the browser releases the lock at once and hands it to a waiting tab. The
 * tabs talk over a ``BroadcastChannel``. Both exist in every browser with WebRTC in a secure
 * context (which the softphone needs anyway); without them each tab is its own softphone.
 * Tests replace ``claim`` and ``channel``.
 */
export const browserTabs = {
    /** Call ``onLeader`` once this tab holds ``name`` (at once when it cannot be shared). */
    claim(name, onLeader) {
        const locks = browser.navigator?.locks || window.navigator?.locks;
        if (!locks?.request) {
            onLeader();
            return;
        }
        // the lock is held as long as the promise is pending: until the tab goes away
        locks.request(name, () => new Promise(() => onLeader()));
    },

    /** A channel between this user's tabs, or null when the browser has none. */
    channel(name) {
        return typeof BroadcastChannel === "function" ? new BroadcastChannel(name) : null;
    },

    /** Whether ``claim`` elects a single tab in this browser. */
    isShared() {
        return Boolean((browser.navigator?.locks || window.navigator?.locks)?.request)
            && typeof BroadcastChannel === "function";
    },
};
