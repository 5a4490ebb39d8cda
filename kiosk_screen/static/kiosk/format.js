// Text and numbers for people: translated strings, rupees, countdowns. Money is never computed here:
// every amount shown in the cart comes from the server's quote; this only writes it out.
import STRINGS from "./strings.en.js";

export function t(key, vars = {}) {
  let text = STRINGS[key];
  if (typeof vars.n === "number" && STRINGS[`${key}_one`] !== undefined) {
    text = vars.n === 1 ? STRINGS[`${key}_one`] : STRINGS[`${key}_other`];
  }
  if (text === undefined) return key;
  return String(text).replace(/\{(\w+)\}/g, (_, name) => (vars[name] !== undefined ? String(vars[name]) : ""));
}

export function tagLabel(name) {
  return STRINGS.tags[name];
}

export function chargeName(name) {
  return STRINGS.charge_names[name] || name;
}

const rupees = new Intl.NumberFormat(STRINGS.lang, { style: "currency", currency: "INR", minimumFractionDigits: 2 });
const rupeesWhole = new Intl.NumberFormat(STRINGS.lang, { style: "currency", currency: "INR", maximumFractionDigits: 0 });

// A JSON number (324.5) or decimal string ("324.50") from the API, shown as ₹324.50 with Indian grouping.
export function money(value) {
  if (value === null || value === undefined || value === "") return "";
  return rupees.format(Number(value));
}

// Menu prices: ₹110 when whole, ₹112.50 otherwise.
export function price(value) {
  const number = Number(value);
  return Number.isInteger(number) ? rupeesWhole.format(number) : rupees.format(number);
}

export function clock(seconds) {
  const s = Math.max(0, Math.ceil(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

export function timeOfDay(iso) {
  return new Date(iso).toLocaleTimeString(STRINGS.lang, { hour: "numeric", minute: "2-digit" });
}

export function dayName(iso) {
  return new Date(iso).toLocaleDateString(STRINGS.lang, { weekday: "long" });
}

export function dateTime(iso) {
  return new Date(iso).toLocaleString(STRINGS.lang, { dateStyle: "medium", timeStyle: "short" });
}
