import { browser } from "@web/core/browser/browser";

/** A ring tone made with Web Audio (no sound file); silent where audio is not allowed yet. */
export class Ringer {
    constructor() {
        this.current = null;
    }

    get ringing() {
        return Boolean(this.current);
    }

    start() {
        this.stop();
        const AudioContext = browser.AudioContext || window.AudioContext;
        if (!AudioContext) {
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
            this.current = { context, interval: browser.setInterval(beep, 3000) };
        } catch {
            this.current = null;
        }
    }

    stop() {
        if (this.current) {
            browser.clearInterval(this.current.interval);
            this.current.context.close();
            this.current = null;
        }
    }
}
