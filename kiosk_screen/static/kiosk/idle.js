// An idle customer: after `seconds` without a touch on a customer screen, ask "Are you still there?";
// after `warning` more seconds, time out (the app starts over and cancels the open order).
import { h } from "./dom.js";
import { t } from "./format.js";
import { button, sheet } from "./widgets.js";

const INPUT_EVENTS = ["pointerdown", "keydown", "wheel", "touchstart"];

export class Idle {
  constructor({ seconds, warning, active, needsWarning, onTimeout }) {
    Object.assign(this, { seconds, warning, active, needsWarning, onTimeout });
    this.timer = null;
    this.modal = null;
    for (const name of INPUT_EVENTS) {
      document.addEventListener(name, () => { if (!this.modal) this.reset(); }, { capture: true, passive: true });
    }
  }

  reset() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.fire(), this.seconds * 1000);
  }

  fire() {
    if (!this.active()) return this.reset();
    if (!this.needsWarning()) return this.onTimeout();
    let left = this.warning;
    const text = h("p.sheet-text", { "data-testid": "idle-countdown" }, t("idle_text", { s: left }));
    const stay = () => { clearInterval(countdown); this.close(); this.reset(); };
    this.modal = sheet([
      h("h2.sheet-title", t("idle_title")), text,
      h("div.sheet-actions",
        button(t("idle_leave"), () => { clearInterval(countdown); this.close(); this.onTimeout(); }, { testid: "idle-leave" }),
        button(t("idle_stay"), stay, { kind: "primary", testid: "idle-stay" })),
    ], { dismissable: false, testid: "idle-sheet", className: "sheet-small" });
    const countdown = setInterval(() => {
      left -= 1;
      if (!this.modal || !this.modal.el.isConnected) return clearInterval(countdown);
      if (left <= 0) {
        clearInterval(countdown);
        this.close();
        return this.onTimeout();
      }
      text.textContent = t("idle_text", { s: left });
    }, 1000);
  }

  close() {
    if (this.modal) this.modal.remove();
    this.modal = null;
  }
}
