"""UPI intent URLs and their QR codes (PNG for the API, SVG for the HTML page)."""

from __future__ import annotations

import base64
import io
from functools import lru_cache
from urllib.parse import quote, urlencode

import segno


def paise_to_rupees(paise: int) -> str:
    """UPI's `am` parameter is rupees with two decimals, never paise."""
    return f"{paise // 100}.{paise % 100:02d}"


def upi_intent_url(*, vpa: str, payee_name: str, amount: int, reference: str, note: str) -> str:
    """A `upi://pay` link as a UPI app reads it from a dynamic QR; `tr` carries PhonePe's order id."""
    params = {
        "pa": vpa,
        "pn": payee_name,
        "am": paise_to_rupees(amount),
        "tr": reference,
        "tn": note,
        "cu": "INR",
    }
    return "upi://pay?" + urlencode(params, quote_via=quote)


# Any of the eight mask patterns makes a valid QR code. Letting segno score all eight costs
# about 10 ms of pure Python per code, which would show in every payment initiation measured
# through the sandbox; one fixed pattern costs a quarter of that.
MASK = 0


@lru_cache(maxsize=256)  # the page redraws each pending payment's QR on every refresh
def _symbol(data: str) -> segno.QRCode:
    return segno.make(data, error="m", mask=MASK)


def qr_png_base64(data: str) -> str:
    """Base64 PNG without a `data:` prefix: the best-supported reading of PhonePe's `qrData` [?]."""
    buf = io.BytesIO()
    _symbol(data).save(buf, kind="png", scale=5, border=2)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def qr_svg(data: str, scale: int = 3) -> str:
    """An inline <svg> element for the HTML page (no Pillow, no JavaScript)."""
    return _symbol(data).svg_inline(scale=scale, border=2)
