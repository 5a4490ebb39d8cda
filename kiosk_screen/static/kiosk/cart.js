// The customer's cart: SKUs, quantities and option choices only. Prices and totals are never computed here;
// the server's quote (POST /orders/quote) is the only truth, and the screen shows what it answers.

const MAX_QUANTITY = 99;

function lineKey(sku, options) {
  const opts = options.map((o) => `${o.option_id}x${o.quantity}`).sort().join(",");
  return `${sku}|${opts}`;
}

export class Cart {
  constructor() {
    this.lines = [];
    this.version = 0; // bumped on every change, so a late quote for an older cart is ignored
  }

  // chosen: Map optionId -> quantity (from the item dialog); the same item with the same choices merges.
  add(item, chosen = new Map(), quantity = 1) {
    const options = [...chosen.entries()].filter(([, q]) => q > 0).map(([option_id, q]) => ({ option_id, quantity: q }));
    const key = lineKey(item.sku, options);
    const existing = this.lines.find((line) => line.key === key);
    if (existing) existing.quantity = Math.min(MAX_QUANTITY, existing.quantity + quantity);
    else this.lines.push({ key, sku: item.sku, name: item.name, quantity, options });
    this.version += 1;
  }

  setQuantity(key, quantity) {
    const line = this.lines.find((l) => l.key === key);
    if (!line) return;
    if (quantity <= 0) this.lines = this.lines.filter((l) => l !== line);
    else line.quantity = Math.min(MAX_QUANTITY, quantity);
    this.version += 1;
  }

  remove(key) {
    this.setQuantity(key, 0);
  }

  quantityOf(sku) {
    return this.lines.filter((line) => line.sku === sku).reduce((sum, line) => sum + line.quantity, 0);
  }

  get count() {
    return this.lines.reduce((sum, line) => sum + line.quantity, 0);
  }

  get empty() {
    return this.lines.length === 0;
  }

  clear() {
    this.lines = [];
    this.version += 1;
  }

  // The body of POST /orders/quote and POST /orders (the contract's shape; no prices).
  request(orderMode) {
    return {
      items: this.lines.map((line) => ({
        item_sku_id: line.sku,
        quantity: line.quantity,
        ...(line.options.length ? { options: line.options.map((o) => ({ ...o })) } : {}),
      })),
      order_mode: orderMode,
    };
  }
}
