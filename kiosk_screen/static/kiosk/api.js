// The public kiosk API (docs/kiosk-api.md), as a kiosk app calls it: `Authorization: Kiosk <key>`, JSON in
// and out, every error in the one envelope {"error": {"code", "message", "details"}}, a timeout on every
// call. Nothing here knows about screens; app.js decides what a failure means for the customer.

const TIMEOUT_MS = 10000;

export class ApiError extends Error {
  constructor(status, error, retryAfter) {
    super((error && error.message) || `HTTP ${status}`);
    this.status = status;
    this.code = (error && error.code) || `HTTP_${status}`;
    this.details = (error && error.details) || {};
    this.retryAfter = retryAfter;
  }
}

// The request never got an answer: no network, server down, or the timeout. Safe to retry only where the
// call is idempotent (every call here is: orders carry an Idempotency-Key, initiate returns the live QR).
export class NetworkError extends Error {
  constructor(cause) {
    super(`network: ${cause && cause.message ? cause.message : cause}`);
    this.code = "NETWORK";
  }
}

// Worth trying again with the same request (and the same Idempotency-Key): no answer, 5xx, 429, or the
// server asking us to come back in a moment.
export function isTransient(err) {
  if (err instanceof NetworkError) return true;
  if (!(err instanceof ApiError)) return false;
  return err.status >= 500 || err.status === 429 || err.code === "PAYMENT_IN_PROGRESS";
}

export function newIdempotencyKey() {
  if (crypto.randomUUID) return `kiosk-${crypto.randomUUID()}`;
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return "kiosk-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export class KioskApi {
  constructor(base, key) {
    this.base = base;
    this.key = key;
    this.clockOffsetMs = 0; // server time - our time, from each answer's Date header (QR countdowns)
  }

  now() {
    return Date.now() + this.clockOffsetMs;
  }

  async request(method, path, { body, headers = {}, timeoutMs = TIMEOUT_MS } = {}) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    const init = { method, headers: { Accept: "application/json", ...headers }, signal: controller.signal,
                   cache: "no-store" };
    if (this.key) init.headers.Authorization = `Kiosk ${this.key}`;
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(this.base + path, init);
    } catch (cause) {
      throw new NetworkError(cause);
    } finally {
      clearTimeout(timer);
    }
    const date = Date.parse(response.headers.get("Date") || "");
    // Date has whole seconds: the server's clock is somewhere in [date, date + 1 s); take the middle.
    if (!Number.isNaN(date)) this.clockOffsetMs = date + 500 - Date.now();
    if (response.status === 304) return { status: 304, data: null, headers: response.headers };
    let data = null;
    const text = await response.text().catch(() => "");
    if (text) {
      try {
        data = JSON.parse(text);
      } catch {
        data = null;
      }
    }
    if (!response.ok) {
      const retryAfter = Number(response.headers.get("Retry-After")) || undefined;
      throw new ApiError(response.status, data && data.error, retryAfter);
    }
    return { status: response.status, data, headers: response.headers };
  }

  // Who am I: modes, branch, store status. null when the server has no /kiosk endpoint yet (older API).
  async whoami() {
    try {
      return (await this.request("GET", "/kiosk")).data;
    } catch (err) {
      if (err instanceof ApiError && (err.status === 404 || err.status === 405)) return null;
      throw err;
    }
  }

  // Is this key accepted? Prefers /kiosk; on an API without it, an empty quote answers 400 (validation)
  // to a known key and 401 to an unknown one, and stores nothing.
  async checkKey() {
    const me = await this.whoami();
    if (me) return me;
    try {
      await this.request("POST", "/orders/quote", { body: {} });
    } catch (err) {
      if (err instanceof ApiError && err.status === 400) return null;
      throw err;
    }
    return null;
  }

  // The menu for an order mode, revalidated with its ETag: {status: 200, data, etag} or {status: 304}.
  async catalog(orderMode, etag) {
    const headers = etag ? { "If-None-Match": etag } : {};
    const query = orderMode ? `?order_mode=${encodeURIComponent(orderMode)}` : "";
    const answer = await this.request("GET", `/catalog${query}`, { headers });
    return { status: answer.status, data: answer.data, etag: answer.headers.get("ETag") || etag };
  }

  async quote(body) {
    return (await this.request("POST", "/orders/quote", { body })).data;
  }

  async placeOrder(body, idempotencyKey) {
    const answer = await this.request("POST", "/orders", { body, headers: { "Idempotency-Key": idempotencyKey } });
    return { order: answer.data, replayed: answer.headers.get("Idempotent-Replayed") === "true" };
  }

  async order(orderId) {
    return (await this.request("GET", `/orders/${encodeURIComponent(orderId)}`)).data;
  }

  async initiatePayment(orderId, amount) {
    return (await this.request("POST", "/payment/initiate", { body: { order_id: orderId, amount } })).data;
  }

  // One payment attempt (used only when the status document has no `payment` block: older API).
  async paymentAttempt(paymentId) {
    return (await this.request("GET", `/payment/${encodeURIComponent(paymentId)}`)).data;
  }

  // The 3-second poll: {status: 200, data, etag} or {status: 304, etag}.
  async orderStatus(orderId, etag) {
    const headers = etag ? { "If-None-Match": etag } : {};
    const answer = await this.request("GET", `/orders/${encodeURIComponent(orderId)}/status`,
                                      { headers, timeoutMs: 8000 });
    return { status: answer.status, data: answer.data, etag: answer.headers.get("ETag") || etag };
  }

  // Cancel a PENDING order. Returns the status document, or null when the API has no cancel endpoint yet
  // (a 404 without the envelope under DEBUG; the order then simply expires unpaid). An order that got paid
  // meanwhile raises ORDER_ALREADY_PAID.
  async cancelOrder(orderId, reason) {
    try {
      return (await this.request("POST", `/orders/${encodeURIComponent(orderId)}/cancel`, { body: { reason } })).data;
    } catch (err) {
      if (err instanceof ApiError && (err.status === 404 || err.status === 405)) return null;
      throw err;
    }
  }
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// Back-off for retries of one idempotent call: 0.5 s, 1 s, 2 s, 4 s, then every 5 s (or what the server asked).
export function retryDelay(attempt, err) {
  if (err && err.retryAfter) return Math.min(err.retryAfter, 30) * 1000;
  if (err && err.details && err.details.retry_after) return Math.min(Number(err.details.retry_after), 30) * 1000;
  return Math.min(500 * 2 ** attempt, 5000);
}
