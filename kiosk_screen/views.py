"""The reference kiosk screen at /kiosk/: one HTML page, its CSS and its JavaScript modules.

The page is static in all but its configuration (timeouts) and asset URLs; everything it shows comes from
the public kiosk API, called by the browser with the kiosk's own key, exactly as a kiosk team's app would.
Asset URLs go through the static files storage, so under `make run` and in production the page and every
module are served by WhiteNoise with hashed names: the import map below points each module's plain URL
(what `import "./api.js"` resolves to) at its hashed one, so a new release can never mix old and new modules.
"""

from __future__ import annotations

import base64
import hashlib
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.views.decorators.http import require_GET

ASSETS = Path(__file__).resolve().parent / "static"
ENTRY = "kiosk/app.js"


@lru_cache(maxsize=1)
def _import_map() -> str:
    """`{"imports": {plain URL: hashed URL}}` for every module whose stored name differs (none in tests)."""
    plain_prefix = settings.STATIC_URL if settings.STATIC_URL.startswith("/") else "/" + settings.STATIC_URL
    imports = {}
    for path in sorted((ASSETS / "kiosk").rglob("*.js")):
        name = path.relative_to(ASSETS).as_posix()
        stored = static(name)
        if stored != plain_prefix + name:
            imports[plain_prefix + name] = stored
    return json.dumps({"imports": imports}, sort_keys=True) if imports else ""


def screen_config() -> dict[str, Any]:
    """What the screen needs to know that is not in the API: its timeouts (from the environment)."""
    return {
        "api": "/api/v1",
        "idle_seconds": settings.KIOSK_SCREEN_IDLE_SECONDS,
        "idle_warning_seconds": settings.KIOSK_SCREEN_IDLE_WARNING_SECONDS,
        "menu_refresh_seconds": settings.KIOSK_SCREEN_MENU_REFRESH_SECONDS,
        "poll_seconds": settings.KIOSK_SCREEN_POLL_SECONDS,
        "done_seconds": settings.KIOSK_SCREEN_DONE_SECONDS,
    }


def _csp(import_map: str) -> str:
    # Scripts only from us (the import map by its hash); images also from the menu's own image hosts and
    # data: URIs (the QR); every API call to this origin. Nothing can be loaded from a CDN.
    scripts = "'self'"
    if import_map:
        digest = base64.b64encode(hashlib.sha256(import_map.encode()).digest()).decode()
        scripts += f" 'sha256-{digest}'"
    return ("default-src 'self'; script-src " + scripts + "; style-src 'self'; img-src 'self' data: https: http:; "
            "font-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


@require_GET
def kiosk_screen(request: HttpRequest) -> HttpResponse:
    import_map = _import_map()
    html = render_to_string("kiosk_screen/index.html", {
        "import_map": import_map,
        "entry": static(ENTRY),
        "config": screen_config(),
    }, request=request)
    response = HttpResponse(html)
    response["Cache-Control"] = "no-cache"  # the page names the current release's assets: always revalidate
    response["Content-Security-Policy"] = _csp(import_map)
    response["Referrer-Policy"] = "no-referrer"  # the pairing key may be in the URL's fragment on first load
    return response
