// From "Pay" to the order number: place the order (one Idempotency-Key per checkout attempt, the same key
// on every network retry, so a lost answer can never make a second order), get the UPI QR, poll the
// status every 3 s (ETag), and tell the app how it ended. Cancelling and idle clean-up go through here too.
import { ApiError, isTransient, newIdempotencyKey, retryDelay, sleep } from "./api.js";

const OUTCOMES = new Set(["CONFIRMED", "EXPIRED", "CANCELLED", "REFUNDED"]);
const ATTEMPT_OVER = new Set(["FAILED", "EXPIRED"]);
const MAX_INITIATE_TRIES = 6;

export class Checkout {
  // hooks: {onRetrying(err), onStatus(doc)}; alive(): false once the customer's session is over.
  constructor(api, alive) {
    this.api = api;
    this.alive = alive;
    this.attempt = null; // {key, bodyJSON}: reused while the cart (and so the body) is the same
    this.order = null;
    this.payment = null;
    this.statusEtag = null;
    this.lastStatus = null;
  }

  // POST /orders, retried on transient failures with the same key. Resolves to the order, or throws the
  // API's definitive answer (PRICE_CHANGED, ITEM_UNAVAILABLE, STORE_CLOSED, ...). null if the session ended.
  async place(body, onRetrying) {
    const bodyJSON = JSON.stringify(body);
    if (!this.attempt || this.attempt.bodyJSON !== bodyJSON) this.attempt = { key: newIdempotencyKey(), bodyJSON };
    const { key } = this.attempt;
    for (let tries = 0; ; tries += 1) {
      try {
        const { order } = await this.api.placeOrder(body, key);
        if (!this.alive()) return null;
        this.order = order;
        this.payment = null;
        this.statusEtag = null;
        this.lastStatus = null;
        return order;
      } catch (err) {
        if (!isTransient(err)) {
          if (err instanceof ApiError && err.code === "PRICE_CHANGED") this.attempt = null;
          throw err;
        }
        if (!this.alive()) return null;
        onRetrying(err);
        await sleep(retryDelay(tries, err));
        if (!this.alive()) return null;
      }
    }
  }

  // A QR for the order: the live one again if there is one (initiate is idempotent while it is valid).
  // null when the session ended or the order was cancelled meanwhile (Cancel is on screen while we ask:
  // a retry must not ask for a QR of an order the customer has just cancelled).
  async initiate(onRetrying) {
    const order = this.order;
    const current = () => this.alive() && order !== null && this.order === order;
    for (let tries = 0; ; tries += 1) {
      if (!current()) return null;
      try {
        const payment = await this.api.initiatePayment(order.order_id, order.total_amount_include_tax);
        if (!current()) return null;
        this.payment = payment;
        return payment;
      } catch (err) {
        if (!current()) return null;
        if (!isTransient(err) || tries + 1 >= MAX_INITIATE_TRIES) throw err;
        onRetrying(err);
        await sleep(retryDelay(tries, err));
      }
    }
  }

  // One poll. Returns what the customer should see next: {kind: "paid" | "expired" | "cancelled" |
  // "failed" | "waiting", doc, message?, canRetry?}. Network trouble is "waiting" with offline: true.
  async poll() {
    let answer;
    try {
      answer = await this.api.orderStatus(this.order.order_id, this.statusEtag);
    } catch (err) {
      if (isTransient(err)) return { kind: "waiting", offline: true, doc: this.lastStatus };
      throw err;
    }
    this.statusEtag = answer.etag;
    if (answer.status === 200) this.lastStatus = answer.data;
    const doc = this.lastStatus;
    if (!doc) return { kind: "waiting", doc };
    if (OUTCOMES.has(doc.status)) {
      return { kind: doc.status === "CONFIRMED" ? "paid" : doc.status === "CANCELLED" ? "cancelled" : "expired", doc };
    }
    return this.attemptOutcome(doc);
  }

  // The current payment attempt: from the status document's `payment` block (the contract), or, on an API
  // that has none yet, from GET /payment/{id} of the attempt this screen started.
  async attemptOutcome(doc) {
    const payment = doc.payment;
    if (payment) {
      const current = !this.payment || !payment.payment_id || payment.payment_id === this.payment.payment_id;
      if (current && ATTEMPT_OVER.has(payment.status)) {
        // A QR that ran out is "time's up, start again"; a declined or failed one can be tried again.
        const ranOut = payment.status === "EXPIRED" || payment.failure_code === "EXPIRED";
        if (payment.can_retry && !ranOut) {
          return { kind: "failed", doc, code: payment.failure_code, message: payment.message, canRetry: true };
        }
        return { kind: "expired", doc };
      }
      return { kind: "waiting", doc };
    }
    if (!this.payment) return { kind: "waiting", doc };
    let attempt;
    try {
      attempt = await this.api.paymentAttempt(this.payment.payment_id);
    } catch (err) {
      if (isTransient(err) || (err instanceof ApiError && err.status === 404)) return { kind: "waiting", doc };
      throw err;
    }
    if (attempt.status === "FAILED") {
      const now = this.api.now();
      const open = Date.parse(doc.expires_at || this.order.expires_at) > now;
      const ranOut = attempt.expires_at && Date.parse(attempt.expires_at) <= now + 2000; // PhonePe's own expiry
      return open && !ranOut ? { kind: "failed", doc, code: "FAILED", canRetry: true } : { kind: "expired", doc };
    }
    if (attempt.status === "EXPIRED") return { kind: "expired", doc };
    return { kind: "waiting", doc };
  }

  // Kitchen progress after payment (the same poll; nothing else to decide).
  async kitchen() {
    const result = await this.poll().catch(() => null);
    return result && result.doc ? result.doc.kitchen_status : null;
  }

  // Cancel the open order (reason: customer_cancelled | idle_timeout | walked_away). Resolves to "paid" when
  // the customer's payment landed first (409 ORDER_ALREADY_PAID), else "cancelled". Retries briefly on
  // network trouble; an API without the endpoint lets the order expire unpaid by itself.
  async cancel(reason) {
    const order = this.order;
    this.attempt = null;
    if (!order) return "cancelled";
    this.order = null; // at once: a payment request still retrying stops asking for this order's QR
    for (let tries = 0; tries < 4; tries += 1) {
      try {
        await this.api.cancelOrder(order.order_id, reason);
        return "cancelled";
      } catch (err) {
        if (err instanceof ApiError && err.code === "ORDER_ALREADY_PAID") {
          this.order = order; // the customer paid first: the order is theirs after all
          return "paid";
        }
        if (!isTransient(err)) break;
        await sleep(retryDelay(tries, err));
      }
    }
    return "cancelled";
  }
}
