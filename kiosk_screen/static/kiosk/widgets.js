// Pieces more than one screen uses: the top bar, the diet mark, quantity steppers, buttons, modal sheets.
import { h, svg } from "./dom.js";
import { t } from "./format.js";
import { ICONS } from "./icons.js";

export function icon(name, className = "icon") {
  return svg(ICONS[name], className);
}

export function dietMark(diet) {
  if (!diet) return null;
  const label = { veg: t("veg"), "non-veg": t("non_veg"), egg: t("egg") }[diet];
  return h("span.diet", { title: label, "aria-label": label, dataset: { diet } }, icon(diet, "diet-icon"));
}

export function button(label, onclick, { kind = "secondary", id, testid, disabled, iconName } = {}) {
  return h(`button.btn.btn-${kind}`, { type: "button", onclick, id, "data-testid": testid, disabled },
           iconName ? icon(iconName) : null, h("span", label));
}

export function stepper(quantity, onChange, { testid, min = 0, max = 99, name = "" } = {}) {
  return h("div.stepper", { "data-testid": testid },
    h("button.step", { type: "button", "aria-label": `${t("decrease")} ${name}`.trim(), disabled: quantity <= min,
                       onclick: (e) => { e.stopPropagation(); onChange(quantity - 1); } }, icon("minus")),
    h("span.step-count", { "aria-live": "polite" }, String(quantity)),
    h("button.step", { type: "button", "aria-label": `${t("increase")} ${name}`.trim(), disabled: quantity >= max,
                       onclick: (e) => { e.stopPropagation(); onChange(quantity + 1); } }, icon("plus")));
}

// The bar across the top of the ordering screens: who we are, the order mode, and a way out.
export function topBar({ brand, modeLabel, onChangeMode, onStartOver, onStaff, offline }) {
  const logo = h("div.brand", { "data-testid": "brand" }, icon("leaf", "brand-leaf"), h("span", brand));
  if (onStaff) holdToOpen(logo, onStaff);
  return h("header.topbar",
    logo,
    offline ? h("div.offline-pill", { "data-testid": "offline-pill" }, icon("wifi"), t("offline_short")) : null,
    h("div.topbar-actions",
      modeLabel ? h("button.mode-pill", { type: "button", onclick: onChangeMode, "data-testid": "mode-pill",
                                         disabled: !onChangeMode },
                    h("span", modeLabel), onChangeMode ? h("span.mode-change", t("change_mode")) : null) : null,
      onStartOver ? button(t("start_over"), onStartOver, { kind: "ghost", testid: "start-over" }) : null));
}

// Staff reach the kiosk's settings (un-pair) by holding the logo for three seconds: nothing a customer finds.
export function holdToOpen(el, action, ms = 3000) {
  let timer = null;
  const stop = () => { clearTimeout(timer); timer = null; };
  el.addEventListener("pointerdown", () => { stop(); timer = setTimeout(action, ms); });
  for (const name of ["pointerup", "pointerleave", "pointercancel"]) el.addEventListener(name, stop);
}

// A modal sheet over the current screen; returns {el, close}. Closes on its backdrop unless told not to.
export function sheet(content, { onClose, dismissable = true, className = "", testid } = {}) {
  const panel = h(`div.sheet${className ? "." + className : ""}`, { role: "dialog", "aria-modal": "true",
                                                                    "data-testid": testid }, content);
  const backdrop = h("div.backdrop", panel);
  const close = () => { backdrop.remove(); if (onClose) onClose(); };
  if (dismissable) backdrop.addEventListener("click", (e) => { if (e.target === backdrop) close(); });
  document.body.append(backdrop);
  return { el: backdrop, close, remove: () => backdrop.remove() };
}

export function confirmSheet({ title, text, yes, no, onYes, testid }) {
  const modal = sheet([
    h("h2.sheet-title", title),
    text ? h("p.sheet-text", text) : null,
    h("div.sheet-actions",
      button(no || t("no"), () => modal.remove(), { kind: "secondary", testid: testid && `${testid}-no` }),
      button(yes || t("yes"), () => { modal.remove(); onYes(); }, { kind: "primary", testid: testid && `${testid}-yes` })),
  ], { testid, className: "sheet-small" });
  return modal;
}
