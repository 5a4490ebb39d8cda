"""`python -m bench.orders`: order placement and status polling, with and without psycopg's pool.

For each database connection mode (DB_POOL=false: persistent connections with
CONN_MAX_AGE; DB_POOL=true: psycopg_pool, one pool per gunicorn process):

  place     POST /api/v1/orders, a realistic 2-4 line cart (SKUs 1, 9, 27, 13 from
            the sample menu) with the kiosk's totals, a unique Idempotency-Key per request
  status    GET /api/v1/orders/{id}/status over a handful of existing orders
  status304 the same with If-None-Match (what a waiting kiosk mostly gets)

Targets (issue): placement >= 400 orders/s with p99 < 50 ms; status >= 1,000 req/s.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

from bench.common import (
    Load,
    Result,
    Stack,
    app_env,
    bench_main,
    fmt_cpu,
    fmt_ms,
    fmt_other,
    fmt_rps,
    manage,
    request,
    run_load,
    say,
    start_gunicorn,
    start_rista,
    table,
    verdict,
)

CONNECTIONS = 16
STATUS_ORDERS = 8  # the "handful" of orders being polled
TARGET_ORDERS_RPS = 400.0
TARGET_ORDERS_P99_MS = 50.0
TARGET_STATUS_RPS = 1000.0

# Four carts a kiosk might send (2-4 lines each), cycled through.
CARTS: list[dict[str, Any]] = [
    {"items": [{"item_sku_id": "1", "quantity": 1}, {"item_sku_id": "9", "quantity": 2}]},
    {"items": [{"item_sku_id": "1", "quantity": 2}, {"item_sku_id": "9", "quantity": 1},
               {"item_sku_id": "27", "quantity": 2}], "order_mode": "takeaway"},
    {"items": [{"item_sku_id": "13", "quantity": 2, "note": "extra chutney"}, {"item_sku_id": "27", "quantity": 1},
               {"item_sku_id": "9", "quantity": 1}, {"item_sku_id": "1", "quantity": 1}], "order_mode": "dine_in"},
    {"items": [{"item_sku_id": "27", "quantity": 3}, {"item_sku_id": "13", "quantity": 1}]},
]

MODES = [("persistent connections (DB_POOL=false, CONN_MAX_AGE=60)", "false"),
         ("psycopg pool (DB_POOL=true, min 2 / max 20 per process)", "true")]


def _lua_string(value: str) -> str:
    return "[==[" + value + "]==]"


_PLACE_LUA = """
local bodies = {%(bodies)s}
local auth = %(auth)s
local n = 0
local nonce = "x"
function init(args) nonce = args[#args] end
function request()
  n = n + 1
  local body = bodies[(n + tid) %% #bodies + 1]
  return wrk.format("POST", "/api/v1/orders", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = auth,
    ["Idempotency-Key"] = "bench-" .. nonce .. "-" .. tid .. "-" .. n,
  }, body)
end
"""

_STATUS_LUA = """
local paths = {%(paths)s}
local etags = {%(etags)s}
local auth = %(auth)s
local conditional = %(conditional)s
local n = 0
function request()
  n = n + 1
  local i = (n + tid) %% #paths + 1
  local headers = {["Authorization"] = auth}
  if conditional then headers["If-None-Match"] = etags[i] end
  return wrk.format("GET", paths[i], headers)
end
"""


def _create_kiosk(env: dict[str, str]) -> str:
    name = f"bench-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
    out = manage(env, "create_kiosk", name, "--json", "--prefix", "B")
    return json.loads(out.strip().splitlines()[-1])["key"]


def _with_totals(api: str, auth: str) -> list[bytes]:
    """Each cart with the totals from a quote, as a kiosk sends it at checkout."""
    bodies = []
    for cart in CARTS:
        r = request("POST", f"{api}/api/v1/orders/quote", body=json.dumps(cart).encode(),
                    headers={"Content-Type": "application/json", "Authorization": auth})
        if r.status != 200:
            raise RuntimeError(f"quote failed: {r.status} {r.body[:300]!r}")
        quote = json.loads(r.body)
        full = {**cart, "total_amount_include_tax": quote["total_amount_include_tax"],
                "total_amount_exclude_tax": quote["total_amount_exclude_tax"]}
        bodies.append(json.dumps(full, separators=(",", ":")).encode())
    return bodies


def _seed_orders(api: str, auth: str, bodies: list[bytes], tag: str) -> list[tuple[str, str]]:
    """STATUS_ORDERS orders to poll: (status path, ETag)."""
    polled = []
    for i in range(STATUS_ORDERS):
        r = request("POST", f"{api}/api/v1/orders", body=bodies[i % len(bodies)],
                    headers={"Content-Type": "application/json", "Authorization": auth,
                             "Idempotency-Key": f"bench-seed-{tag}-{i}"})
        if r.status != 201:
            raise RuntimeError(f"placing a seed order failed: {r.status} {r.body[:300]!r}")
        path = f"/api/v1/orders/{json.loads(r.body)['order_id']}/status"
        s = request("GET", f"{api}{path}", headers={"Authorization": auth})
        if s.status != 200:
            raise RuntimeError(f"status failed: {s.status} {s.body[:300]!r}")
        polled.append((path, s.headers["etag"]))
    return polled


def _place_load(api: str, auth: str, bodies: list[bytes]) -> Load:
    def py_request(nonce: str, worker: int, n: int) -> tuple[str, str, dict[str, str], bytes | None]:
        return ("POST", "/api/v1/orders", {"Content-Type": "application/json", "Authorization": auth,
                                           "Idempotency-Key": f"bench-{nonce}-{worker}-{n}"},
                bodies[(n + worker) % len(bodies)])

    lua = _PLACE_LUA % {"bodies": ", ".join(_lua_string(b.decode()) for b in bodies), "auth": _lua_string(auth)}
    return Load("place", f"{api}/api/v1/orders", CONNECTIONS, lua=lua, count_statuses=True, py_request=py_request)


def _status_load(api: str, auth: str, polled: list[tuple[str, str]], *, conditional: bool) -> Load:
    def py_request(nonce: str, worker: int, n: int) -> tuple[str, str, dict[str, str], bytes | None]:
        path, etag = polled[(n + worker) % len(polled)]
        headers = {"Authorization": auth, **({"If-None-Match": etag} if conditional else {})}
        return "GET", path, headers, None

    lua = _STATUS_LUA % {"paths": ", ".join(_lua_string(p) for p, _ in polled),
                         "etags": ", ".join(_lua_string(e) for _, e in polled),
                         "auth": _lua_string(auth), "conditional": "true" if conditional else "false"}
    return Load("status304" if conditional else "status", f"{api}{polled[0][0]}", CONNECTIONS, lua=lua,
                count_statuses=True, py_request=py_request)


def _check(result: Result, expected: str) -> list[str]:
    problems = []
    other = {k: v for k, v in result.statuses.items() if k != expected}
    if other:
        problems.append(f"{result.name}: unexpected answers {other}")
    if result.errors:
        problems.append(f"{result.name}: {result.errors} errors")
    return problems


def run(stack: Stack, services: tuple[str, str]) -> dict[str, Any]:
    database_url, redis_url = services
    rista = start_rista(stack)
    base_env = app_env(database_url=database_url, redis_url=redis_url, rista_url=rista,
                       public_url="http://127.0.0.1:8000")
    say("migrating")
    manage(base_env, "migrate", "--noinput", "-v", "0")
    auth = "Kiosk " + _create_kiosk(base_env)
    modes = []
    for label, pool in MODES:
        env = {**base_env, "DB_POOL": pool}
        proc, api = start_gunicorn(stack, f"api-pool-{pool}", "kiosk_project.wsgi:application", env,
                                   ready_path="/health")
        try:
            menu = request("GET", f"{api}/api/v1/catalog")  # warm the menu (a miss fills it from Rista)
            if menu.status != 200:
                raise RuntimeError(f"menu warm-up failed: {menu.status} {menu.body[:300]!r}")
            bodies = _with_totals(api, auth)
            polled = _seed_orders(api, auth, bodies, tag=f"{pool}{int(time.time())}")
            say(f"DB_POOL={pool}: placing orders")
            place = run_load(_place_load(api, auth, bodies), stack, proc)
            status = run_load(_status_load(api, auth, polled, conditional=False), stack, proc)
            status304 = run_load(_status_load(api, auth, polled, conditional=True), stack, proc)
        finally:
            stack.stop(proc)
        problems = _check(place, "201") + _check(status, "200") + _check(status304, "304")
        for p in problems:
            say(f"WARNING {p}")
        modes.append({"label": label, "db_pool": pool == "true", "problems": problems,
                      "results": {"place": place.as_dict(), "status": status.as_dict(),
                                  "status304": status304.as_dict()}})
    return {"connections": CONNECTIONS, "carts": CARTS,
            "targets": {"orders_rps": TARGET_ORDERS_RPS, "orders_p99_ms": TARGET_ORDERS_P99_MS,
                        "status_rps": TARGET_STATUS_RPS},
            "modes": modes}


def render(data: dict[str, Any]) -> str:
    rows = []
    for mode in data["modes"]:
        pool = "pool" if mode["db_pool"] else "persistent"
        res = mode["results"]
        p = res["place"]
        met = p["rps"] >= TARGET_ORDERS_RPS and p["p99_ms"] < TARGET_ORDERS_P99_MS
        rows.append([f"POST /orders ({pool})", fmt_rps(p["rps"]), fmt_ms(p["p50_ms"]), fmt_ms(p["p99_ms"]),
                     str(p["errors"]), fmt_cpu(p), f">= {TARGET_ORDERS_RPS:.0f}/s, p99 < {TARGET_ORDERS_P99_MS:.0f} ms",
                     verdict(met, p), fmt_other(p)])
        for key, what in (("status", "GET /orders/{id}/status"), ("status304", "... If-None-Match -> 304")):
            r = res[key]
            rows.append([f"{what} ({pool})", fmt_rps(r["rps"]), fmt_ms(r["p50_ms"]), fmt_ms(r["p99_ms"]),
                         str(r["errors"]), fmt_cpu(r), f">= {TARGET_STATUS_RPS:,.0f}/s",
                         verdict(r["rps"] >= TARGET_STATUS_RPS, r), fmt_other(r)])
    title = f"Orders: {data['connections']} connections, one kiosk, unique Idempotency-Key per order"
    out = [table(title, ["scenario", "req/s", "p50 ms", "p99 ms", "errors", "server CPU ms/req", "target",
                         "result", "other load"], rows), ""]
    for mode in data["modes"]:
        for problem in mode["problems"]:
            out.append(f"- WARNING: {problem}")
    return "\n".join(out)


def main() -> int:
    return bench_main("orders", run, render)


if __name__ == "__main__":
    raise SystemExit(main())
