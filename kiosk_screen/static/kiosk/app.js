// The kiosk screen: pairing, then one customer after another. Welcome (order mode) → menu → review →
// pay (QR) → order number; or failed (try again / cancel), expired, closed. An idle customer is asked
// whether they are still there, then the screen starts over and cancels their open order.
// Only the public kiosk API is used (api.js); everything a customer reads is in strings.en.js.
import { ApiError, KioskApi, NetworkError, isTransient } from "./api.js";
import { Cart } from "./cart.js";
import { cartScreen } from "./cart_view.js";
import { Checkout } from "./checkout.js";
import { h } from "./dom.js";
import { t } from "./format.js";
import { Idle } from "./idle.js";
import { parseMenu } from "./menu.js";
import { MenuView } from "./menu_view.js";
import { renderReceipt } from "./receipt.js";
import { closedScreen, errorScreen, expiredScreen, failedScreen, loadingScreen, pairingScreen, paymentScreen,
         successScreen, welcomeScreen } from "./screens.js";
import { KeyStore, MenuStore } from "./storage.js";
import { button, confirmSheet, sheet, topBar } from "./widgets.js";

const CONFIG = JSON.parse(document.getElementById("kiosk-config").textContent);
const ALL_MODES = ["dine_in", "takeaway"];
const CUSTOMER_SCREENS = new Set(["menu", "cart", "failed"]); // where an idle customer is asked, then reset

class KioskScreen {
  constructor(root) {
    this.root = root;
    this.session = 0;
    this.menus = new Map(); // order mode -> {etag, menu}
    this.offline = false;
    this.idle = new Idle({ seconds: CONFIG.idle_seconds, warning: CONFIG.idle_warning_seconds,
                           active: () => CUSTOMER_SCREENS.has(this.screen),
                           needsWarning: () => !(this.screen === "menu" && this.cart.empty),
                           onTimeout: () => this.startOver("idle_timeout") });
    this.timers = [];
  }

  // -- pairing -----------------------------------------------------------------------------------------
  async boot() {
    KeyStore.takeFromFragment();
    const key = KeyStore.get();
    if (!key) return this.showPairing();
    this.api = new KioskApi(CONFIG.api, key);
    this.show("loading", loadingScreen(t("loading_menu")));
    try {
      this.me = await this.api.checkKey();
      MenuStore.saveMe(this.me);
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) {
        KeyStore.clear();
        return this.showPairing(t("pair_bad_key"));
      }
      this.me = MenuStore.loadMe(); // offline at start: the last known kiosk, the last menu
      this.offline = true;
    }
    const allowed = (this.me && this.me.order_modes) || ALL_MODES;
    this.modes = ALL_MODES.filter((mode) => allowed.includes(mode));
    this.defaultMode = (this.me && this.me.default_order_mode) || this.modes[0];
    this.brand = (this.me && ((this.me.branch && this.me.branch.name) || this.me.name)) || t("brand_fallback");
    this.mode = this.defaultMode;
    this.cart = new Cart();
    this.checkout = null;
    await this.loadMenu(this.mode);
    this.welcome();
    this.every(CONFIG.menu_refresh_seconds, () => this.revalidate());
  }

  showPairing(error) {
    const pair = async (key) => {
      this.show("pair", pairingScreen({ checking: true, onPair: pair }));
      try {
        await new KioskApi(CONFIG.api, key).checkKey();
      } catch (err) {
        const message = err instanceof ApiError && err.status === 401 ? t("pair_bad_key") : t("pair_unreachable");
        return this.show("pair", pairingScreen({ error: message, onPair: pair }));
      }
      KeyStore.set(key);
      this.boot();
    };
    this.show("pair", pairingScreen({ error, onPair: pair }));
  }

  staff() {
    const modal = sheet([
      h("h2.sheet-title", t("staff_title")),
      h("p.sheet-text", t("staff_kiosk", { name: (this.me && this.me.name) || "—" })),
      h("div.sheet-actions.stack",
        button(t("staff_unpair"), () => {
          modal.remove();
          confirmSheet({ title: t("staff_unpair"), text: t("staff_unpair_confirm"), testid: "unpair-confirm",
                         onYes: () => { KeyStore.clear(); MenuStore.clear(); location.reload(); } });
        }, { kind: "danger", testid: "unpair" }),
        button(t("staff_reload"), () => location.reload(), { testid: "reload" }),
        button(t("close"), () => modal.remove(), { kind: "primary" })),
    ], { testid: "staff-sheet", className: "sheet-small" });
  }

  // -- the menu, revalidated with its ETag; the last good copy is kept through outages ---------------------
  async loadMenu(mode) {
    let held = this.menus.get(mode);
    if (!held) {
      const stored = MenuStore.loadMenu(mode);
      if (stored) held = { etag: stored.etag, menu: parseMenu(stored.catalog) };
    }
    try {
      const answer = await this.api.catalog(mode, held && held.etag);
      this.setOffline(false);
      if (answer.status === 304 && held) {
        this.menus.set(mode, held);
        return false;
      }
      const entry = { etag: answer.etag, menu: parseMenu(answer.data) };
      this.menus.set(mode, entry);
      MenuStore.saveMenu(mode, answer.etag, answer.data);
      return true;
    } catch (err) {
      if (!(err instanceof NetworkError) && !isTransient(err)) throw err;
      this.setOffline(true);
      if (held) this.menus.set(mode, held);
      return false;
    }
  }

  get menu() {
    const entry = this.menus.get(this.mode);
    return entry ? entry.menu : null;
  }

  async revalidate() {
    if (!["welcome", "menu", "cart", "closed"].includes(this.screen)) return;
    let changed;
    try {
      changed = await this.loadMenu(this.mode);
    } catch {
      return;
    }
    if (this.storeClosed()) return this.closed();
    if (this.screen === "closed") return this.welcome();
    if (!changed) return this.refreshOffline();
    if (this.screen === "menu") this.menuView.setMenu(this.menu, this.cart);
    if (this.screen === "menu" || this.screen === "cart") this.quote();
  }

  setOffline(offline) {
    if (this.offline === offline) return;
    this.offline = offline;
    this.refreshOffline();
  }

  refreshOffline() {
    if (this.screen === "menu") this.menuView.setHeader(this.header());
    const banner = this.root.querySelector(".offline-banner");
    if (banner) banner.hidden = !this.offline;
  }

  storeClosed() {
    const store = (this.menu && this.menu.store) || (this.me && this.me.store);
    return Boolean(store && store.open === false);
  }

  // -- one customer's journey -------------------------------------------------------------------------------
  welcome() {
    this.session += 1;
    this.cart = new Cart();
    this.checkout = null;
    this.quoteState = null;
    this.notice = null;
    this.mode = this.defaultMode;
    if (this.storeClosed()) return this.closed();
    if (!this.menu) {
      return this.show("error", errorScreen({ message: t("error_CATALOG_UNAVAILABLE"),
                                              onRetry: () => this.loadMenu(this.mode).then(() => this.welcome()) }));
    }
    this.show("welcome", welcomeScreen({ brand: this.brand, modes: this.modes, onStaff: () => this.staff(),
                                         onMode: (mode) => this.chooseMode(mode) }));
  }

  closed() {
    this.show("closed", closedScreen({ store: (this.menu && this.menu.store) || (this.me && this.me.store),
                                       brand: this.brand, onStaff: () => this.staff() }));
  }

  async chooseMode(mode) {
    this.mode = mode;
    if (!this.menus.has(mode)) {
      this.show("loading", loadingScreen(t("loading_menu")));
      await this.loadMenu(mode).catch(() => null);
    }
    if (!this.menu) return this.welcome();
    this.showMenu();
  }

  header() {
    return {
      brand: this.brand, offline: this.offline, onStaff: () => this.staff(),
      modeLabel: t(`mode_label_${this.mode}`),
      onChangeMode: this.modes.length > 1 && this.screen !== "pay" ? () => this.switchMode() : null,
      onStartOver: () => this.askStartOver(),
    };
  }

  showMenu() {
    if (!this.menuView) {
      this.menuView = new MenuView({
        add: (item, chosen, quantity) => { this.cart.add(item, chosen, quantity); this.cartChanged(); },
        setQuantity: (key, quantity) => { this.cart.setQuantity(key, quantity); this.cartChanged(); },
        review: () => this.review(),
      });
      this.menuView.el.prepend(h("div.offline-banner", { hidden: !this.offline, "data-testid": "offline-banner" },
                                 t("offline_menu")));
    }
    this.screen = "menu";
    this.menuView.setHeader(this.header());
    this.menuView.setMenu(this.menu, this.cart);
    this.menuView.setCart(this.cart, this.quoteState);
    this.mount(this.menuView.el);
    this.refreshOffline();
  }

  async switchMode() {
    const next = this.modes.find((mode) => mode !== this.mode);
    await this.chooseMode(next);
    this.quote();
  }

  askStartOver() {
    if (this.cart.empty && !(this.checkout && this.checkout.order)) return this.startOver("customer_cancelled");
    confirmSheet({ title: t("start_over_title"), text: t("start_over_text"), testid: "start-over-confirm",
                   onYes: () => this.startOver("customer_cancelled") });
  }

  // Back to welcome; an order placed and not paid is cancelled (reason recorded on the order).
  startOver(reason) {
    const checkout = this.checkout;
    this.welcome();
    if (checkout && checkout.order) checkout.cancel(reason);
  }

  cartChanged() {
    this.notice = null;
    if (this.screen === "menu") this.menuView.setCart(this.cart);
    if (this.screen === "cart") this.review();
    this.quote();
  }

  // The server prices the cart; the answer for an older cart is dropped.
  quote() {
    clearTimeout(this.quoteTimer);
    if (this.cart.empty) {
      this.quoteState = null;
      return this.renderCartState();
    }
    const version = this.cart.version;
    const session = this.session;
    this.quoteState = { version, pending: true };
    this.quoteTimer = setTimeout(async () => {
      let state;
      try {
        state = { version, quote: await this.api.quote(this.cart.request(this.mode)) };
      } catch (err) {
        state = { version, error: err };
        if (isTransient(err)) this.quoteTimer = setTimeout(() => this.quote(), 2000);
      }
      if (session !== this.session || version !== this.cart.version) return;
      this.quoteState = state;
      this.renderCartState();
    }, 150);
  }

  renderCartState() {
    if (this.screen === "menu") this.menuView.setCart(this.cart, this.quoteState);
    if (this.screen === "cart") this.review();
  }

  review() {
    const keepScroll = this.screen === "cart" ? this.root.querySelector(".lines") : null;
    const scroll = keepScroll ? keepScroll.scrollTop : 0;
    this.screen = "cart";
    this.show("cart", cartScreen({
      header: this.topBar(), cart: this.cart, menu: this.menu, quoteState: this.quoteState, notice: this.notice,
      placing: this.placing,
      actions: {
        back: () => this.showMenu(),
        setQuantity: (key, quantity) => { this.cart.setQuantity(key, quantity); this.cartChanged(); },
        remove: (key) => { this.cart.remove(key); this.cartChanged(); },
        pay: () => this.pay(),
      },
    }));
    const lines = this.root.querySelector(".lines");
    if (lines) lines.scrollTop = scroll;
  }

  topBar() {
    return topBar(this.header());
  }

  async pay() {
    const quote = this.quoteState && this.quoteState.quote;
    if (!quote || this.placing) return;
    const session = this.session;
    if (!this.checkout) this.checkout = new Checkout(this.api, () => this.session === session);
    const body = { ...this.cart.request(this.mode), total_amount_include_tax: quote.total_amount_include_tax,
                   total_amount_exclude_tax: quote.total_amount_exclude_tax };
    this.placing = true;
    this.review();
    let order;
    try {
      order = await this.checkout.place(body, () => { this.notice = t("reconnecting"); this.review(); });
    } catch (err) {
      this.placing = false;
      return this.orderRefused(err);
    } finally {
      this.placing = false;
    }
    if (!order || session !== this.session) return;
    this.notice = null;
    this.payNow();
  }

  orderRefused(err) {
    if (err.code === "STORE_CLOSED") {
      if (this.menu) this.menu.store = { open: false, next_open_at: err.details.next_open_at || null };
      return this.closed();
    }
    if (err.code === "PRICE_CHANGED" && err.details.quote) {
      this.quoteState = { version: this.cart.version, quote: err.details.quote };
      this.notice = t("price_changed");
    } else if (["ITEM_UNAVAILABLE", "ITEM_NOT_FOUND", "INVALID_OPTIONS"].includes(err.code)) {
      this.quoteState = { version: this.cart.version, error: err };
      this.loadMenu(this.mode).catch(() => null);
    } else {
      this.notice = t(`error_${err.code}`) !== `error_${err.code}` ? t(`error_${err.code}`) : t("error_text");
    }
    this.review();
  }

  // -- paying ------------------------------------------------------------------------------------------------
  async payNow() {
    const checkout = this.checkout;
    const session = this.session;
    this.stopPolling();
    this.paying(null, null);
    let payment;
    try {
      payment = await checkout.initiate(() => this.paying(null, t("gateway_busy")));
    } catch (err) {
      if (session !== this.session) return;
      if (err.code === "ORDER_NOT_PAYABLE") return this.afterPoll(await checkout.poll().catch(() => null));
      return this.failed({});
    }
    if (!payment || session !== this.session) return;
    const view = this.paying(payment, null);
    this.pollTimer = setInterval(async () => {
      if (session !== this.session || this.screen !== "pay") return this.stopPolling();
      const result = await checkout.poll().catch(() => null);
      if (session !== this.session || this.screen !== "pay") return;
      if (result && result.offline) view.status(t("reconnecting"));
      else if (result && result.kind !== "waiting") this.afterPoll(result);
      else view.status(null);
    }, CONFIG.poll_seconds * 1000);
    this.tickTimer = setInterval(async () => {
      if (session !== this.session || this.screen !== "pay") return clearInterval(this.tickTimer);
      const left = view.tick();
      if (left !== null && left <= 0) {
        clearInterval(this.tickTimer);
        const last = await checkout.poll().catch(() => null); // a payment at the last second still counts
        if (session !== this.session || this.screen !== "pay") return;
        if (last && last.kind !== "waiting") return this.afterPoll(last);
        this.expired("walked_away");
      }
    }, 1000);
  }

  paying(payment, message) {
    const order = this.checkout.order;
    const screen = paymentScreen({ header: this.topBarPay(), order, payment, message, now: () => this.api.now(),
                                   onCancel: () => this.cancelPayment() });
    this.show("pay", screen.el);
    const status = this.root.querySelector("[data-testid=pay-status]");
    return {
      tick: screen.tick,
      status: (text) => { if (status) status.lastChild.textContent = text || t("waiting_for_payment"); },
    };
  }

  stopPolling() {
    clearInterval(this.pollTimer);
    clearInterval(this.tickTimer);
  }

  afterPoll(result) {
    if (!result) return this.failed({});
    this.stopPolling();
    if (result.kind === "paid") return this.success(result.doc);
    if (result.kind === "failed") return this.failed(result);
    if (result.kind === "cancelled") {
      return this.show("cancelled", expiredScreen({ title: t("cancelled_title"), text: t("cancelled_text"),
                                                    testid: "screen-cancelled", onStart: () => this.welcome() }));
    }
    return this.expired(null);
  }

  async cancelPayment() {
    this.stopPolling();
    const outcome = await this.checkout.cancel("customer_cancelled");
    if (outcome === "paid") return this.afterPoll(await this.checkout.poll());
    this.showMenu();
    this.review();
  }

  failed(result) {
    const message = result.message || (result.code ? t(`failure_${result.code}`) : null);
    this.show("failed", failedScreen({
      message: message && !message.startsWith("failure_") ? message : null,
      onRetry: () => this.payNow(),
      onCancel: () => this.startOver("customer_cancelled"),
    }));
  }

  expired(reason) {
    const checkout = this.checkout;
    this.show("expired", expiredScreen({ onStart: () => this.welcome() }));
    if (reason && checkout && checkout.order) checkout.cancel(reason);
    this.checkout = null;
    this.later(15, "expired", () => this.welcome());
  }

  async success(doc) {
    const checkout = this.checkout;
    const session = this.session;
    const order = { ...checkout.order, ...doc, order_mode: checkout.order.order_mode };
    let kitchen = doc.kitchen_status;
    let left = CONFIG.done_seconds;
    const render = () => this.show("success", successScreen({
      order, kitchenStatus: kitchen, secondsLeft: left,
      onPrint: () => this.printReceipt(order),
      onDone: () => this.welcome(),
    }));
    render();
    this.api.order(order.order_id).then((full) => { this.receiptOrder = full; }).catch(() => null);
    let polls = 0;
    const timer = setInterval(async () => {
      if (session !== this.session || this.screen !== "success") return clearInterval(timer);
      left -= 1;
      polls += 1;
      if (left <= 0) {
        clearInterval(timer);
        return this.welcome();
      }
      if (polls % Math.max(1, Math.round(CONFIG.poll_seconds)) === 0) {
        const status = await checkout.kitchen();
        if (status) kitchen = status;
      }
      if (session === this.session && this.screen === "success") render();
    }, 1000);
  }

  async printReceipt(order) {
    let full = this.receiptOrder && this.receiptOrder.order_id === order.order_id ? this.receiptOrder : null;
    if (!full) full = await this.api.order(order.order_id).catch(() => null);
    if (!full) return;
    renderReceipt(document.getElementById("receipt"), full, this.brand);
    window.print();
  }

  // -- plumbing ------------------------------------------------------------------------------------------------
  topBarPay() {
    return topBar({ brand: this.brand, modeLabel: t(`mode_label_${this.mode}`), offline: this.offline,
                           onStaff: () => this.staff() });
  }

  show(name, el) {
    this.screen = name;
    this.mount(el);
  }

  mount(el) {
    for (const backdrop of document.querySelectorAll(".backdrop")) backdrop.remove();
    this.root.replaceChildren(el);
    this.root.dataset.screen = this.screen;
    this.idle.reset();
  }

  every(seconds, fn) {
    this.timers.push(setInterval(fn, seconds * 1000));
  }

  later(seconds, screen, fn) {
    const session = this.session;
    setTimeout(() => { if (this.session === session && this.screen === screen) fn(); }, seconds * 1000);
  }
}

const app = new KioskScreen(document.getElementById("app"));
window.kiosk = app; // for people debugging on the device (and the browser tests' waits)
app.boot();
