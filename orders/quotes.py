"""Pricing a cart for checkout: the quote, its wire shape, and the check of the kiosk's totals.

Never calls Rista on the hot path: prices come from the cached catalog (catalog.services).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.utils import timezone

from catalog.pricing import CartLine, CartOption, Quote, quote_cart
from catalog.services import catalog_for_pricing
from kiosk_project.core import metrics
from kiosk_project.core.branches import branch_config
from kiosk_project.core.errors import ApplicationError, Conflict
from kiosk_project.core.kiosk_auth import Kiosk
from kiosk_project.core.order_modes import kiosk_default_order_mode, order_mode_pricing
from orders.presenters import LINE_KEYS, TOTAL_KEYS


class PriceChanged(Conflict):
    code = "PRICE_CHANGED"


class OrderModeNotAllowed(ApplicationError):
    code = "ORDER_MODE_NOT_ALLOWED"


@dataclass(frozen=True)
class PricedCart:
    quote: Quote
    catalog_etag: str
    order_mode: str
    channel: str  # the Rista price channel it was priced from (and the sale's channel)
    charge_mode: str | None  # the Rista charge mode; None: no mode charges


def quote_payload(priced: PricedCart) -> dict[str, Any]:
    data = priced.quote.to_dict()
    return {
        "order_mode": priced.order_mode,
        "channel": priced.channel,
        "charge_mode": priced.charge_mode,
        "currency": "INR",
        **{key: data[key] for key in TOTAL_KEYS},
        "taxes": data["taxes"],
        "charges": data["charges"],
        "discounts": data["discounts"],
        "lines": [{key: line[key] for key in LINE_KEYS} for line in data["lines"]],
    }



def order_quote(*, kiosk: Kiosk, data: dict[str, Any]) -> PricedCart:
    """Price a cart from the cached catalog; raises pricing errors, never calls Rista."""
    mode = data.get("order_mode") or kiosk_default_order_mode(kiosk.allowed_order_modes)
    if kiosk.allowed_order_modes and mode not in kiosk.allowed_order_modes:
        raise OrderModeNotAllowed(details={"order_mode": mode, "allowed": list(kiosk.allowed_order_modes)})
    branch = branch_config(kiosk.branch_code)
    if mode not in branch.order_modes:
        raise OrderModeNotAllowed(details={"order_mode": mode, "allowed": list(branch.order_modes)})
    rista = order_mode_pricing(mode, branch)
    index, etag = catalog_for_pricing(branch=kiosk.branch_code, channel=rista.channel)
    lines = [
        CartLine(sku=item["item_sku_id"], quantity=item["quantity"], note=item.get("note") or None,
                 options=tuple(CartOption(option_id=o["option_id"], quantity=o["quantity"])
                               for o in item.get("options", [])))
        for item in data["items"]
    ]
    # Schedules (happy hours, breakfast) run on the branch's clock, not the server's.
    quote = quote_cart(index=index, lines=lines, charge_mode=rista.charge_mode,
                       now=timezone.now().astimezone(branch.tz), round_off=settings.ORDER_ROUND_OFF)
    return PricedCart(quote=quote, catalog_etag=etag, order_mode=mode, channel=rista.channel,
                      charge_mode=rista.charge_mode)


def check_client_totals(priced: PricedCart, data: dict[str, Any]) -> None:
    """The kiosk's totals, when sent, must equal ours exactly; otherwise nothing is created."""
    quote = priced.quote
    mismatched = {
        name: {"sent": data[name], "actual": getattr(quote, name)}
        for name in ("total_amount_include_tax", "total_amount_exclude_tax")
        if data.get(name) is not None and Decimal(data[name]) != getattr(quote, name)
    }
    if mismatched:
        metrics.incr("checkout.price_changed")
        raise PriceChanged(details={"mismatched": mismatched, "quote": quote_payload(priced)})
