// The customer's receipt, printed by the browser (window.print) on the kiosk's receipt printer: built from
// the stored order (GET /orders/{id}: its snapshot of lines, charges, taxes and totals), never the cart.
import { h, replace } from "./dom.js";
import { chargeName, dateTime, money, t } from "./format.js";

export function renderReceipt(target, order, brand) {
  const rows = (label, value, cls = "") => h(`div.r-row${cls ? "." + cls : ""}`, h("span", label), h("span", value));
  const taxes = (order.taxes || []).map((tax) => rows(t("tax_line", { name: tax.name, pct: Number(tax.percentage) }),
                                                      money(tax.amount)));
  replace(target,
    h("div.r-head", h("div.r-brand", brand), h("div.r-title", t("receipt_title"))),
    h("div.r-token", h("span", t("receipt_order")), h("strong", { "data-testid": "receipt-number" }, order.order_number)),
    rows(t("receipt_date"), dateTime(order.created_at)),
    rows(t("receipt_mode"), t(`mode_label_${order.order_mode}`)),
    h("hr"),
    (order.lines || []).map((line) => h("div.r-line",
      rows(`${line.quantity} × ${line.name}`, money(line.gross_amount)),
      (line.options || []).map((o) => h("div.r-option", `+ ${o.name}${o.quantity > 1 ? ` ×${o.quantity}` : ""}`)))),
    h("hr"),
    rows(t("subtotal"), money(order.subtotal)),
    Number(order.discount_total) ? rows(t("discount"), `−${money(order.discount_total)}`) : null,
    (order.charges || []).map((charge) => rows(chargeName(charge.name), money(charge.amount))),
    taxes,
    Number(order.round_off) ? rows(t("round_off"), money(order.round_off)) : null,
    rows(t("total"), money(order.total_amount_include_tax), "r-total"),
    rows(t("receipt_paid"), money(order.total_amount_include_tax)),
    h("hr"),
    h("p.r-thanks", t("receipt_thanks")),
    h("p.r-ref", t("receipt_ref", { id: order.order_id })));
}
