"""The QR the kiosk shows, rendered on the server so the kiosk needs no QR library.

Made once per payment attempt: the first initiation renders it, and every later
request for the same UPI string (a replayed initiation, in this process or
another) takes it from this process's memory or from the shared cache, where it
lives as long as the QR can be paid. A status read never renders one.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import io
import logging

import segno
from django.conf import settings
from django.core.cache import cache

from kiosk_project.core import metrics

log = logging.getLogger(__name__)

# One fixed data mask instead of segno scoring all eight. Scoring is ISO 18004's way of
# choosing the mask that looks least like finder patterns and large blocks; it is pure
# Python and cost 8 ms of the 27 ms CPU of an initiation (docs/performance.md), while
# every decoder reads any of the eight from the format information. Checked with
# OpenCV's QRCodeDetector on 400 UPI strings of our shape, scaled to 80 % and blurred:
# mask 2 decoded 395, the scored mask 393, mask 0 392.
MASK = 2


def _key(qr_string: str, scale: int) -> str:
    return "payments:qr-svg:v1:" + hashlib.sha256(f"{scale}:{qr_string}".encode()).hexdigest()


def render_svg(qr_string: str, scale: int = 4) -> str:
    """An SVG document (with its namespace, so it works inline and as an <img> data URI).

    Error correction M (15%): survives a smudged or partly reflective kiosk screen
    while keeping UPI strings (~150 chars) at a size phones read from a metre away.
    """
    buffer = io.BytesIO()
    segno.make(qr_string, error="m", mask=MASK).save(buffer, kind="svg", scale=scale, border=4, xmldecl=False,
                                                     svgns=True, nl=False)
    metrics.incr("payments.qr_rendered")
    return buffer.getvalue().decode("utf-8")


@functools.lru_cache(maxsize=256)
def qr_svg(qr_string: str, scale: int = 4) -> str:
    """The attempt's QR as SVG: from this process, else the shared cache, else rendered (and shared)."""
    key = _key(qr_string, scale)
    try:
        held = cache.get(key)
    except Exception:  # Redis down: render it, as if it had never been made
        held = None
    if held:
        return str(held)
    svg = render_svg(qr_string, scale)
    try:
        cache.set(key, svg, timeout=int(settings.PAYMENT_QR_EXPIRY_SECONDS) + 60)
    except Exception:
        log.warning("could not share a rendered QR", extra={"key": key})
    return svg


def qr_image(qr_string: str, provider_image: str = "") -> str:
    """A data: URI the kiosk can put in an <img>, whichever form PhonePe gave: our SVG of the UPI link, or
    PhonePe's own PNG when it gave an image only (payments.gateway.base.qr_from_answer)."""
    if qr_string:
        return "data:image/svg+xml;base64," + base64.b64encode(qr_svg(qr_string).encode()).decode()
    return provider_image
