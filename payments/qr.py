"""The QR the kiosk shows, rendered on the server so the kiosk needs no QR library."""

from __future__ import annotations

import base64
import functools
import io

import segno


@functools.lru_cache(maxsize=256)
def qr_svg(qr_string: str, scale: int = 4) -> str:
    """An SVG document (with its namespace, so it works inline and as an <img> data URI).

    Error correction M (15%): survives a smudged or partly reflective kiosk screen
    while keeping UPI strings (~150 chars) at a size phones read from a metre away.
    """
    buffer = io.BytesIO()
    segno.make(qr_string, error="m").save(buffer, kind="svg", scale=scale, border=4, xmldecl=False, svgns=True,
                                          nl=False)
    return buffer.getvalue().decode("utf-8")


def qr_image(qr_string: str, provider_image: str = "") -> str:
    """A data: URI the kiosk can put in an <img>, whichever form PhonePe gave: our SVG of the UPI link, or
    PhonePe's own PNG when it gave an image only (payments.gateway.base.qr_from_answer)."""
    if qr_string:
        return "data:image/svg+xml;base64," + base64.b64encode(qr_svg(qr_string).encode()).decode()
    return provider_image
