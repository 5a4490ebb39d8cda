// The menu: categories, dishes as cards (image or placeholder, diet mark, tags, price, add), the option
// dialog, and the order summary (a bar at the foot in portrait, a panel at the side in landscape).
// A new menu (an ETag revalidation that changed) re-renders in place, keeping the customer's scroll.
import { h, replace } from "./dom.js";
import { money, price, t, tagLabel } from "./format.js";
import { defaultChoices, missingChoices } from "./menu.js";
import { button, dietMark, icon, sheet, stepper, topBar } from "./widgets.js";

export class MenuView {
  constructor(actions) {
    this.actions = actions; // {add(item, chosen, qty), setQuantity(key, qty), review(), startOver(), changeMode(), staff()}
    this.el = h("div.screen.screen-menu", { "data-testid": "screen-menu" });
    this.top = h("div.top-slot");
    this.nav = h("nav.categories", { "aria-label": t("menu_title") });
    this.grid = h("main.menu-grid", { "data-testid": "menu-grid" });
    this.summary = h("aside.summary", { "data-testid": "summary" });
    this.el.append(this.top, h("div.menu-body", this.nav, this.grid, this.summary));
    this.grid.addEventListener("scroll", () => this.highlightCategory(), { passive: true });
    this.cards = new Map();
  }

  setHeader(header) {
    replace(this.top, topBar(header));
  }

  setMenu(menu, cart) {
    const scroll = this.grid.scrollTop;
    this.menu = menu;
    this.cards.clear();
    replace(this.nav, menu.categories.map((category, index) =>
      h("button.category", { type: "button", dataset: { category: category.id }, class: index === 0 ? "active" : "",
                             onclick: () => this.scrollTo(category.id) }, category.name)));
    if (!menu.categories.length) {
      replace(this.grid, h("p.empty", t("menu_empty")));
      return;
    }
    replace(this.grid, menu.categories.map((category) =>
      h("section.category-section", { id: `cat-${category.id}`, dataset: { category: category.id } },
        h("h2.category-title", category.name),
        h("div.cards", category.items.map((item) => this.card(item))))));
    this.grid.scrollTop = scroll;
    this.setCart(cart);
  }

  card(item) {
    const action = h("div.card-action");
    const card = h(`article.card${item.soldOut ? ".sold-out" : ""}`, {
      dataset: { sku: item.sku }, "data-testid": `item-${item.sku}`, "aria-disabled": item.soldOut ? "true" : null,
      onclick: () => { if (!item.soldOut) this.open(item); },
    },
      itemImage(item),
      h("div.card-body",
        h("h3.card-title", dietMark(item.diet), h("span", item.name)),
        tagChips(item),
        h("div.card-foot", h("span.price", price(item.price)), action)),
      item.soldOut ? h("div.ribbon", t("sold_out")) : null);
    this.cards.set(item.sku, { card, action, item });
    return card;
  }

  // The card's button: Add, or a stepper once it is in the cart (items without options), or the count.
  cardAction(item, cart) {
    if (item.soldOut) return h("span.sold-out-label", t("sold_out"));
    const inCart = cart.quantityOf(item.sku);
    const simple = item.optionSets.length === 0;
    if (simple && inCart > 0) {
      const line = cart.lines.find((l) => l.sku === item.sku);
      return stepper(inCart, (q) => this.actions.setQuantity(line.key, q), { testid: `stepper-${item.sku}`,
                                                                              name: item.name });
    }
    return h("button.add", { type: "button", "data-testid": `add-${item.sku}`, "aria-label": `${t("add")} ${item.name}`,
                             onclick: (e) => { e.stopPropagation(); this.open(item); } },
             icon("plus"), h("span", t("add")), inCart ? h("span.badge", String(inCart)) : null);
  }

  open(item) {
    if (item.soldOut) return;
    if (item.optionSets.length === 0) this.actions.add(item, new Map(), 1);
    else itemDialog(item, this.actions.add);
  }

  setCart(cart, quoteState) {
    if (this.menu) {
      for (const { action, item } of this.cards.values()) replace(action, this.cardAction(item, cart));
    }
    if (quoteState) this.quoteState = quoteState;
    replace(this.summary, orderSummary(cart, this.quoteState, this.actions.review));
  }

  scrollTo(categoryId) {
    const section = this.grid.querySelector(`[data-category="${CSS.escape(categoryId)}"]`);
    if (section) this.grid.scrollTo({ top: section.offsetTop - this.grid.offsetTop, behavior: "smooth" });
  }

  highlightCategory() {
    let current = null;
    for (const section of this.grid.querySelectorAll(".category-section")) {
      if (section.offsetTop - this.grid.offsetTop - 40 <= this.grid.scrollTop) current = section.dataset.category;
    }
    for (const chip of this.nav.querySelectorAll(".category")) {
      chip.classList.toggle("active", chip.dataset.category === (current || this.menu.categories[0].id));
    }
  }
}

// The dish's photo when it loads; until then, and for good if it does not, a drawn plate on a warm tile.
export function itemImage(item, className = "card-img") {
  // Four warm tints, picked by SKU, so a page of placeholders does not look like one tile repeated.
  const tint = [...item.sku].reduce((sum, c) => sum + c.charCodeAt(0), 0) % 4;
  const box = h(`div.${className}`, { dataset: { tint } }, h("div.placeholder", icon("plate", "placeholder-plate")));
  if (item.imageURL) {
    const img = h("img", { alt: "", loading: "lazy", decoding: "async", referrerpolicy: "no-referrer" });
    img.addEventListener("load", () => box.classList.add("has-image"));
    img.addEventListener("error", () => img.remove());
    img.src = item.imageURL;
    box.append(img);
  }
  return box;
}

function tagChips(item) {
  const chips = item.tags.filter((name) => name !== "Vegetarian" && tagLabel(name)).map((name) =>
    h("span.tag", { dataset: { tag: name } }, tagLabel(name)));
  return chips.length ? h("div.tags", chips) : null;
}

function orderSummary(cart, quoteState, review) {
  const count = cart.count;
  const total = quoteState && quoteState.quote && quoteState.version === cart.version
    ? money(quoteState.quote.total_amount_include_tax) : null;
  return h("div.summary-inner",
    h("div.summary-head", icon("bag", "summary-bag"), h("span.summary-title", t("your_order"))),
    h("ul.summary-lines", cart.lines.map((line) => h("li", h("span.summary-qty", `${line.quantity}×`),
                                                      h("span.summary-name", line.name)))),
    cart.empty ? h("p.summary-empty", t("cart_empty_hint")) : null,
    h("button.btn.btn-primary.summary-go", { type: "button", disabled: cart.empty, onclick: review,
                                             "data-testid": "review-order" },
      h("span.summary-count", { "data-testid": "cart-count" }, t("items", { n: count })),
      h("span.summary-total", { "data-testid": "summary-total" }, total || (cart.empty ? "" : "…")),
      h("span.summary-cta", t("review_order"))));
}

// Choose options within each set's min/max (and each option's own max), then a quantity, then add.
export function itemDialog(item, add) {
  const chosen = defaultChoices(item);
  let quantity = 1;
  const body = h("div.dialog-sets");
  const footer = h("div.sheet-actions");
  const render = () => {
    replace(body, item.optionSets.map((set) => optionSet(set, chosen, render)));
    const missing = missingChoices(item, chosen);
    replace(footer,
      button(t("cancel"), () => modal.remove(), { testid: "dialog-cancel" }),
      h("div.dialog-qty", stepper(quantity, (q) => { quantity = q; render(); }, { min: 1, testid: "dialog-qty",
                                                                                  name: item.name })),
      h("button.btn.btn-primary", { type: "button", "data-testid": "dialog-add", disabled: missing.length > 0,
                                    onclick: () => { modal.remove(); add(item, chosen, quantity); } },
        h("span", t("add_to_order"))),
      missing.length ? h("p.dialog-missing", { "data-testid": "dialog-missing" },
                         t("options_need_more", { sets: missing.map((s) => s.name).join(", ") })) : null);
  };
  const modal = sheet([
    h("div.dialog-head", itemImage(item, "dialog-img"),
      h("div.dialog-title", h("h2", dietMark(item.diet), h("span", item.name)),
        item.description ? h("p.dialog-desc", item.description) : null,
        h("p.price", price(item.price)))),
    body, footer,
  ], { testid: "item-dialog", className: "sheet-item" });
  render();
  return modal;
}

function ruleText(set) {
  const { min, max } = set;
  if (max !== null && min === max) return t("options_choose_exactly", { n: min });
  if (min > 0 && max !== null) return t("options_choose_between", { min, max });
  if (min > 0) return t("options_choose_at_least", { n: min });
  if (max !== null) return `${t("options_optional")} · ${t("options_choose_up_to", { n: max })}`;
  return t("options_optional");
}

function optionSet(set, chosen, render) {
  const count = set.options.reduce((sum, o) => sum + (chosen.get(o.id) || 0), 0);
  const single = set.max === 1;
  const full = set.max !== null && count >= set.max;
  return h("fieldset.option-set", { "data-testid": `set-${set.id}` },
    h("legend", h("span.set-name", set.name),
      h(`span.set-rule${set.min > 0 ? ".required" : ""}`, ruleText(set))),
    set.options.map((option) => {
      const q = chosen.get(option.id) || 0;
      const toggle = () => {
        if (option.soldOut) return;
        if (q > 0) chosen.delete(option.id);
        else if (single) { for (const o of set.options) chosen.delete(o.id); chosen.set(option.id, 1); }
        else if (!full) chosen.set(option.id, 1);
        render();
      };
      const blocked = option.soldOut || (!q && full && !single);
      return h(`div.option${q ? ".chosen" : ""}${blocked ? ".blocked" : ""}`, {
        role: single ? "radio" : "checkbox", "aria-checked": q ? "true" : "false", tabindex: "0",
        "data-testid": `option-${option.id}`, onclick: toggle },
        h("span.option-mark"),
        h("span.option-name", option.name),
        option.soldOut ? h("span.option-price", t("sold_out"))
          : h("span.option-price", option.price ? t("option_extra", { price: price(option.price) }) : t("option_free")),
        q && option.max > 1 ? stepper(q, (next) => {
          if (next <= 0) chosen.delete(option.id);
          else if (next <= option.max && (set.max === null || count - q + next <= set.max)) chosen.set(option.id, next);
          render();
        }, { min: 0, max: option.max, testid: `option-qty-${option.id}`, name: option.name }) : null);
    }));
}
