// The order review: each line with its options and quantity, and the server's quote itemised (items,
// discounts, each charge, each tax, round-off, total). No amount here is computed in the browser.
import { h } from "./dom.js";
import { chargeName, money, t } from "./format.js";
import { button, dietMark, stepper } from "./widgets.js";

// quoteState: {version, quote, error, pending}; problems: Map sku -> message (sold out, bad options).
export function cartScreen({ header, cart, menu, quoteState, notice, placing, actions }) {
  const fresh = quoteState && quoteState.quote && quoteState.version === cart.version ? quoteState.quote : null;
  const problems = lineProblems(quoteState, cart);
  const blocked = cart.empty || !fresh || problems.size > 0 || placing;
  const lines = cart.lines.map((line, index) => {
    const item = menu && menu.items.get(line.sku);
    const quoted = fresh && fresh.lines[index];
    const optionNames = optionLabels(line, item);
    return h(`li.cart-line${problems.has(line.sku) ? ".problem" : ""}`, { "data-testid": `line-${index}` },
      h("div.cart-line-main",
        h("div.cart-line-name", item ? dietMark(item.diet) : null, h("span", line.name)),
        optionNames.length ? h("div.cart-line-options", optionNames.join(", ")) : null,
        problems.has(line.sku) ? h("div.cart-line-problem", { "data-testid": "line-problem" }, problems.get(line.sku))
          : null),
      stepper(line.quantity, (q) => actions.setQuantity(line.key, q), { testid: `line-qty-${index}`, name: line.name }),
      h("div.cart-line-amount", quoted ? money(quoted.gross_amount) : "…"),
      h("button.remove", { type: "button", "aria-label": `${t("remove")} ${line.name}`,
                           onclick: () => actions.remove(line.key) }, t("remove")));
  });
  return h("div.screen.screen-cart", { "data-testid": "screen-cart" },
    header,
    h("div.cart-body",
      h("section.cart-lines",
        h("div.cart-heading", button(t("add_more"), actions.back, { kind: "ghost", iconName: "back", testid: "add-more" }),
          h("h1", t("your_order"))),
        cart.empty ? h("div.cart-empty", h("p.big", t("cart_empty")), h("p", t("cart_empty_hint")))
          : h("ul.lines", lines)),
      h("section.cart-totals",
        notice ? h("div.notice", { "data-testid": "cart-notice", role: "status" }, notice) : null,
        totalsBlock(fresh, quoteState),
        h("button.btn.btn-primary.btn-pay", { type: "button", disabled: blocked, onclick: actions.pay,
                                              "data-testid": "pay" },
          placing ? t("placing_order") : fresh ? t("pay", { amount: money(fresh.total_amount_include_tax) })
            : t("pay_disabled")))));
}

function optionLabels(line, item) {
  if (!line.options.length) return [];
  const names = new Map();
  for (const set of (item && item.optionSets) || []) for (const o of set.options) names.set(o.id, o.name);
  return line.options.map((o) => `${names.get(o.option_id) || o.option_id}${o.quantity > 1 ? ` ×${o.quantity}` : ""}`);
}

// What the last quote refused, per SKU, in the customer's words (the API lists every problem at once).
function lineProblems(quoteState, cart) {
  const problems = new Map();
  const error = quoteState && quoteState.version === cart.version ? quoteState.error : null;
  if (!error) return problems;
  const nameOf = (sku) => (cart.lines.find((l) => l.sku === sku) || {}).name || sku;
  if (error.code === "ITEM_UNAVAILABLE") {
    for (const item of error.details.items || []) {
      problems.set(String(item.sku), t("unavailable_in_cart", { name: item.name || nameOf(item.sku) }));
    }
  } else if (error.code === "ITEM_NOT_FOUND") {
    for (const sku of error.details.skus || []) problems.set(String(sku), t("unavailable_in_cart", { name: nameOf(sku) }));
  } else if (error.code === "INVALID_OPTIONS") {
    for (const problem of error.details.problems || []) {
      problems.set(String(problem.sku), t("options_problem", { name: nameOf(problem.sku) }));
    }
  }
  return problems;
}

export function totalsBlock(quote, quoteState) {
  if (!quote) {
    const failed = quoteState && quoteState.error && !quoteState.pending;
    return h("div.totals.pending", { "data-testid": "totals" },
             h("p", failed && quoteState.error.code === "NETWORK" ? t("quote_failed") : t("updating_total")));
  }
  const rows = [row(t("subtotal"), money(quote.subtotal), "subtotal")];
  if (Number(quote.discount_total)) rows.push(row(t("discount"), `−${money(quote.discount_total)}`, "discount"));
  for (const charge of quote.charges || []) rows.push(row(chargeName(charge.name), money(charge.amount), `charge-${charge.name}`));
  let included = 0;
  for (const tax of quote.taxes || []) {
    const added = Number(tax.items_excluded) + Number(tax.charges_excluded);
    included += Number(tax.items_included) + Number(tax.charges_included);
    if (added) rows.push(row(t("tax_line", { name: tax.name, pct: Number(tax.percentage) }), money(added), `tax-${tax.name}`));
  }
  if (Number(quote.round_off)) rows.push(row(t("round_off"), money(quote.round_off), "round-off"));
  return h("div.totals", { "data-testid": "totals" },
    h("dl", rows),
    included ? h("p.tax-note", t("tax_included_note", { amount: money(included) })) : null,
    h("div.total-row", h("span", t("total")), h("span.total-amount", { "data-testid": "total" },
                                                 money(quote.total_amount_include_tax))));
}

function row(label, value, key) {
  return h("div.totals-row", { "data-testid": `row-${key}` }, h("dt", label), h("dd", value));
}
