// The screens that are one picture each: pairing, welcome, loading, the QR, and every ending (paid,
// failed, expired, cancelled, closed, error). Each returns an element; app.js decides when to show which.
import { h, svg } from "./dom.js";
import { clock, dayName, money, t, timeOfDay } from "./format.js";
import { button, holdToOpen, icon } from "./widgets.js";

export function pairingScreen({ error, checking, onPair }) {
  const input = h("input.pair-input", { type: "text", autocomplete: "off", autocapitalize: "off", spellcheck: "false",
                                        "data-testid": "pair-key", placeholder: "kk_…", "aria-label": t("pair_key") });
  const submit = (e) => { e.preventDefault(); if (input.value.trim()) onPair(input.value.trim()); };
  return h("div.screen.screen-pair", { "data-testid": "screen-pair" },
    h("form.pair-card", { onsubmit: submit },
      icon("leaf", "pair-leaf"),
      h("h1", t("pair_title")),
      h("p", t("pair_text")),
      h("label", t("pair_key"), input),
      error ? h("p.pair-error", { role: "alert", "data-testid": "pair-error" }, error) : null,
      h("button.btn.btn-primary", { type: "submit", disabled: checking, "data-testid": "pair-submit" },
        checking ? t("pair_checking") : t("pair_button"))));
}

export function welcomeScreen({ brand, modes, onMode, onStaff, closedNotice }) {
  const logo = h("div.welcome-brand", { "data-testid": "brand" }, icon("leaf", "welcome-leaf"), h("span", brand));
  holdToOpen(logo, onStaff);
  const choices = modes.length === 1
    ? [h("button.mode-card.mode-single", { type: "button", onclick: () => onMode(modes[0]),
                                           "data-testid": `mode-${modes[0]}` },
         icon(modes[0], "mode-icon"), h("span.mode-name", t("mode_only_start")))]
    : modes.map((mode) => h("button.mode-card", { type: "button", onclick: () => onMode(mode),
                                                  "data-testid": `mode-${mode}` },
        icon(mode, "mode-icon"), h("span.mode-name", t(`mode_${mode}`)), h("span.mode-hint", t(`mode_${mode}_hint`))));
  return h("div.screen.screen-welcome", { "data-testid": "screen-welcome" },
    h("div.welcome-art"),
    logo,
    h("div.welcome-text", h("h1", t("welcome_title")), h("p", t("welcome_subtitle"))),
    closedNotice || null,
    modes.length > 1 ? h("p.welcome-choose", t("welcome_choose")) : null,
    h("div.mode-cards", choices),
    h("p.welcome-upi", h("span.upi-chip", "UPI"), t("welcome_upi")));
}

export function loadingScreen(text) {
  return h("div.screen.screen-loading", { "data-testid": "screen-loading" }, h("div.spinner"), h("p", text));
}

// The UPI QR with the amount and the time left; `tick()` updates the countdown from the server's clock.
export function paymentScreen({ header, order, payment, message, onCancel, now }) {
  const qr = payment && payment.qr_image ? h("img.qr-img", { src: payment.qr_image, alt: "UPI QR" })
    : payment && payment.qr_svg ? svg(payment.qr_svg, "qr-svg") : h("div.spinner");
  const countdown = h("div.countdown", { "data-testid": "countdown" });
  const bar = h("div.countdown-bar", h("div.countdown-fill"));
  const started = now();
  const expires = payment && payment.expires_at ? Date.parse(payment.expires_at) : null;
  const tick = () => {
    if (!expires) return null;
    const left = (expires - now()) / 1000;
    countdown.textContent = t("time_left", { time: clock(left) });
    countdown.classList.toggle("urgent", left < 60);
    bar.firstChild.style.width = `${Math.max(0, Math.min(100, (100 * (expires - now())) / (expires - started)))}%`;
    return left;
  };
  const el = h("div.screen.screen-pay", { "data-testid": "screen-pay" },
    header,
    h("div.pay-body",
      h("h1", t("scan_to_pay")),
      h("div.pay-amount", h("span.pay-amount-label", t("amount_to_pay")),
        h("span.pay-amount-value", { "data-testid": "pay-amount" }, money(order.total_amount_include_tax))),
      h("div.qr-box", { "data-testid": "qr" }, qr),
      payment ? h("div.countdown-wrap", countdown, bar) : null,
      h("p.pay-hint", t("scan_hint")),
      h("p.pay-status", { "data-testid": "pay-status", role: "status" },
        h("span.pulse"), message || (payment ? t("waiting_for_payment") : t("getting_qr"))),
      h("p.pay-order", t("order_label", { number: order.order_number }))),
    h("footer.pay-footer", button(t("cancel_payment"), onCancel, { kind: "secondary", testid: "pay-cancel" })));
  tick();
  return { el, tick };
}

export function successScreen({ order, kitchenStatus, onPrint, onDone, secondsLeft }) {
  return h("div.screen.screen-done", { "data-testid": "screen-success" },
    h("div.done-icon.ok", icon("check", "done-svg")),
    h("h1", t("paid_title")),
    h("p.done-sub", t("paid_subtitle")),
    h("div.token",
      h("span.token-label", t("your_number")),
      h("span.token-number", { "data-testid": "order-number" }, order.order_number)),
    h("p.done-hint", t(order.order_mode === "dine_in" ? "collect_hint_dine_in" : "collect_hint_takeaway")),
    h("p.kitchen-status", { "data-testid": "kitchen-status", dataset: { kitchen: kitchenStatus } },
      t(`kitchen_${kitchenStatus || "NOT_SENT"}`)),
    h("div.done-actions",
      button(t("print_receipt"), onPrint, { kind: "secondary", iconName: "printer", testid: "print-receipt" }),
      button(t("done"), onDone, { kind: "primary", testid: "done" })),
    secondsLeft !== undefined ? h("p.done-timer", { "data-testid": "done-timer" }, t("new_order_in", { s: secondsLeft }))
      : null);
}

export function failedScreen({ message, onRetry, onCancel, retrying }) {
  return h("div.screen.screen-done", { "data-testid": "screen-failed" },
    h("div.done-icon.bad", icon("cross", "done-svg")),
    h("h1", t("failed_title")),
    h("p.done-sub", { "data-testid": "failure-message" }, message || t("failed_default")),
    h("div.done-actions",
      button(t("cancel_order"), onCancel, { kind: "secondary", testid: "failed-cancel" }),
      button(t("try_again"), onRetry, { kind: "primary", testid: "retry", disabled: retrying })));
}

export function expiredScreen({ onStart, title, text, testid = "screen-expired" }) {
  return h("div.screen.screen-done", { "data-testid": testid },
    h("div.done-icon.warn", icon("clock", "done-svg")),
    h("h1", title || t("expired_title")),
    h("p.done-sub", text || t("expired_text")),
    h("div.done-actions", button(t("start_again"), onStart, { kind: "primary", testid: "start-again" })));
}

export function closedScreen({ store, brand, onStaff }) {
  let when = t("closed_soon");
  if (store && store.next_open_at) {
    const opens = new Date(store.next_open_at);
    const sameDay = opens.toDateString() === new Date().toDateString();
    when = sameDay ? t("closed_opens_at", { time: timeOfDay(store.next_open_at) })
      : t("closed_opens_on", { day: dayName(store.next_open_at), time: timeOfDay(store.next_open_at) });
  }
  const logo = h("div.welcome-brand", { "data-testid": "brand" }, icon("leaf", "welcome-leaf"), h("span", brand));
  holdToOpen(logo, onStaff);
  return h("div.screen.screen-done.screen-closed", { "data-testid": "screen-closed" },
    logo,
    h("div.done-icon.night", icon("moon", "done-svg")),
    h("h1", t("closed_title")),
    h("p.done-sub", { "data-testid": "closed-when" }, when));
}

export function errorScreen({ message, onRetry }) {
  return h("div.screen.screen-done", { "data-testid": "screen-error" },
    h("div.done-icon.bad", icon("cross", "done-svg")),
    h("h1", t("error_title")),
    h("p.done-sub", message || t("error_text")),
    h("div.done-actions", button(t("try_again"), onRetry, { kind: "primary", testid: "error-retry" })));
}
