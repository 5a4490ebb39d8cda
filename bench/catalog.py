"""`python -m bench.catalog` (make bench-catalog): the menu hot path against its limit and its naive version.

Scenarios, each under the same gunicorn (gthread) settings, on PostgreSQL + Redis:

  (a) GET /api/v1/catalog           the real endpoint, cache hit (cached bytes + ETag, no JSON work)
  (b) bare WSGI                     a WSGI app returning the same bytes and headers: the practical limit
  (c) GET /bench/naive-catalog      Redis read via the same store, json.loads, DRF Response (renders again)
  (d) GET /api/v1/catalog + If-None-Match   304 answers

For the sample catalog (33 items, 17.7 KB as served) and a synthetic 300-item one (135 KB).
Targets (issue): (a) >= 0.5x (b) and (a) >= 25x (c).
"""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path
from typing import Any

from bench.common import (
    ROOT,
    Load,
    Reply,
    Result,
    Server,
    Stack,
    app_env,
    bench_main,
    disturbed,
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

CONNECTIONS = 32
SAMPLE = ROOT / "sandbox" / "rista" / "data" / "catalog.json"
TARGET_VS_BARE = 0.5
TARGET_VS_NAIVE = 25.0


def synthetic_catalog(n_items: int = 300) -> dict[str, Any]:
    """The sample catalog grown to n_items by cloning its items under new SKUs and item ids."""
    doc = json.loads(Path(SAMPLE).read_text())
    originals = list(doc["items"])
    items = list(originals)
    k = 0
    while len(items) < n_items:
        src = originals[k % len(originals)]
        clone = copy.deepcopy(src)
        clone["skuCode"] = f"{src['skuCode']}-x{k}"
        clone["itemId"] = f"{k:08x}{src['itemId'][8:]}"
        clone["itemName"] = f"{src['itemName']} ({k // len(originals) + 2})"
        items.append(clone)
        k += 1
    doc["items"] = items
    return doc


def _set_catalog(rista: str, env: dict[str, str], document: dict[str, Any] | None) -> str:
    """Install a catalog in the sandbox, refresh the app's copy; returns the new ETag."""
    if document is None:
        r = request("POST", f"{rista}/_control/reset")
    else:
        r = request("PUT", f"{rista}/_control/catalog", body=json.dumps(document).encode(),
                    headers={"Content-Type": "application/json"})
    if r.status != 200:
        raise RuntimeError(f"sandbox refused the catalog: {r.status} {r.body[:200]!r}")
    # What Rista's menu webhook queues (a task; the benchmark runs no worker), run now: fetch, validate, swap.
    out = manage(env, "refresh_catalog")  # "BLR01/Takeaway: ok \"<etag>\""
    return out.strip().splitlines()[-1].split(": ok ", 1)[1]


def _wait_served(api: str, etag: str) -> Reply:
    """The API's answer once it serves `etag` (per-process copies may lag the cache by a second or so)."""
    deadline = time.monotonic() + 10
    while True:
        hit = request("GET", f"{api}/api/v1/catalog")
        if hit.status == 200 and hit.headers.get("etag") == etag:
            return hit
        if time.monotonic() > deadline:
            raise RuntimeError(f"the API still serves {hit.headers.get('etag')} ({hit.status}), not {etag}")
        time.sleep(0.2)


def _scale(stack: Stack, *, label: str, rista: str, api: Server, naive: Server, env: dict[str, str],
           document: dict[str, Any] | None) -> dict[str, Any]:
    (api_proc, api), (naive_proc, naive) = api, naive
    hit = _wait_served(api, _set_catalog(rista, env, document))
    if hit.headers.get("x-catalog-source") != "cache":
        raise RuntimeError(f"warm-up did not give a cache hit: {hit.status} {hit.headers}")
    etag, body = hit.headers["etag"], hit.body
    items = len(json.loads(body)["items"])
    say(f"{label}: {items} items, {len(body):,} bytes, ETag {etag}")

    bare_proc, bare = start_gunicorn(stack, f"bare-{items}", "bench.bare_wsgi:application",
                                     {**env, "BENCH_BARE_SOURCE_URL": f"{api}/api/v1/catalog"}, ready_path="/")
    try:
        check = request("GET", f"{bare}/")
        if check.body != body:
            raise RuntimeError("the bare WSGI app does not return the API's bytes")
        naive_reply = request("GET", f"{naive}/bench/naive-catalog")
        if naive_reply.status != 200 or naive_reply.json() != json.loads(body):
            raise RuntimeError(f"the naive view does not return the same document: {naive_reply.status}")
        not_modified = request("GET", f"{api}/api/v1/catalog", headers={"If-None-Match": etag})
        if not_modified.status != 304:
            raise RuntimeError(f"If-None-Match did not give 304 but {not_modified.status}")

        results = {
            "a": run_load(Load("(a) cache hit", f"{api}/api/v1/catalog", CONNECTIONS), stack, api_proc),
            "b": run_load(Load("(b) bare WSGI", f"{bare}/", CONNECTIONS), stack, bare_proc),
            "c": run_load(Load("(c) naive", f"{naive}/bench/naive-catalog", CONNECTIONS), stack, naive_proc),
            "d": run_load(Load("(d) 304", f"{api}/api/v1/catalog", CONNECTIONS,
                               headers={"If-None-Match": etag}), stack, api_proc),
        }
    finally:
        stack.stop(bare_proc)
    return {"label": label, "items": items, "bytes": len(body), "naive_bytes": len(naive_reply.body),
            "results": {k: r.as_dict() for k, r in results.items()}, **_ratios(results)}


def _ratios(results: dict[str, Result]) -> dict[str, float]:
    a, b, c, d = (results[k].rps for k in "abcd")
    return {"a_vs_b": a / b if b else 0.0, "a_vs_c": a / c if c else 0.0, "d_vs_a": d / a if a else 0.0}


def render(scales: list[dict[str, Any]]) -> str:
    out = []
    descriptions = {
        "a": "GET /api/v1/catalog (cache hit)",
        "b": "bare WSGI, same bytes + headers",
        "c": "naive: Redis + json.loads + DRF Response",
        "d": "GET /api/v1/catalog, If-None-Match -> 304",
    }
    for s in scales:
        rows = []
        a_rps = s["results"]["a"]["rps"]
        for key in "abcd":
            r = s["results"][key]
            rows.append([f"({key}) {descriptions[key]}", fmt_rps(r["rps"]), fmt_ms(r["p50_ms"]),
                         fmt_ms(r["p99_ms"]), str(r["errors"]), fmt_cpu(r),
                         "1.00x" if key == "a" else f"{a_rps / r['rps']:.2f}x" if r["rps"] else "-",
                         fmt_other(r)])
        title = (f"Menu: {s['label']} ({s['items']} items, {s['bytes'] / 1024:.1f} KB), "
                 f"{CONNECTIONS} connections")
        out.append(table(title, ["scenario", "req/s", "p50 ms", "p99 ms", "errors", "server CPU ms/req",
                                 "(a) / this", "other load"], rows))
        res = s["results"]
        out.append("")
        out.append(f"- (a)/(b) = {s['a_vs_b']:.2f}x (target >= {TARGET_VS_BARE}x): "
                   f"{verdict(s['a_vs_b'] >= TARGET_VS_BARE, res['a'], res['b'])}")
        out.append(f"- (a)/(c) = {s['a_vs_c']:.2f}x (target >= {TARGET_VS_NAIVE:g}x): "
                   f"{verdict(s['a_vs_c'] >= TARGET_VS_NAIVE, res['a'], res['c'])}")
        out.append(f"- (d)/(a) = {s['d_vs_a']:.2f}x (304s vs full answers)")
        if disturbed(*res.values()):
            out.append("- rows marked (!) ran while other processes were busy: their ratios are unreliable; "
                       "rerun on a quiet machine or with BENCH_REPEAT=3")
        out.append("")
    return "\n".join(out)


def run(stack: Stack, services: tuple[str, str], *, with_synthetic: bool = True) -> dict[str, Any]:
    database_url, redis_url = services
    rista = start_rista(stack)
    env = app_env(database_url=database_url, redis_url=redis_url, rista_url=rista,
                  public_url="http://127.0.0.1:8000")
    say("migrating")
    manage(env, "migrate", "--noinput", "-v", "0")
    api = start_gunicorn(stack, "api", "kiosk_project.wsgi:application", env, ready_path="/health")
    naive = start_gunicorn(stack, "naive", "kiosk_project.wsgi:application",
                           {**env, "DJANGO_SETTINGS_MODULE": "bench.naive_settings"}, ready_path="/health")
    servers = {"api": api, "naive": naive}
    scales = [_scale(stack, label="sample catalog", rista=rista, env=env, document=None, **servers)]
    if with_synthetic:
        scales.append(_scale(stack, label="synthetic catalog", rista=rista, env=env,
                             document=synthetic_catalog(300), **servers))
        _set_catalog(rista, env, None)  # leave the sample in place for whatever runs next
    return {"connections": CONNECTIONS, "targets": {"a_vs_b": TARGET_VS_BARE, "a_vs_c": TARGET_VS_NAIVE},
            "scales": scales}


def main() -> int:
    return bench_main("catalog", run, lambda data: render(data["scales"]))


if __name__ == "__main__":
    raise SystemExit(main())
