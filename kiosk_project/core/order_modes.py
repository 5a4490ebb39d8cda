"""How a kiosk order mode maps to Rista: the price channel and the charge mode.

The one place that decides it. Checkout prices an order from its mode's
channel with its mode's charge mode, the order keeps both, the sale reaches
Rista's kitchen on that channel, and the menu can be asked for by mode. Read
from settings today (ORDER_CHANNELS, ORDER_CHARGE_MODES, KIOSK_CHANNELS); a
per-branch record replaces them later without changing the callers.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings


@dataclass(frozen=True, slots=True)
class ModePricing:
    channel: str  # the Rista price channel: the catalog the order is priced from, and the sale's channel
    charge_mode: str | None  # a Rista charge applicableModes value (Pickup | Delivery | Others); None: no charges


def order_modes() -> list[str]:
    return list(settings.ORDER_CHANNELS)


def kiosk_order_modes(allowed: tuple[str, ...] | list[str]) -> list[str]:
    """The modes a kiosk takes orders in: its own list (an empty list: every mode), in the settings' order."""
    return [mode for mode in order_modes() if not allowed or mode in allowed]


def kiosk_default_order_mode(allowed: tuple[str, ...] | list[str]) -> str:
    """The mode an order without `order_mode` gets: ORDER_DEFAULT_MODE where the kiosk takes it, else its first."""
    modes = kiosk_order_modes(allowed)
    return settings.ORDER_DEFAULT_MODE if settings.ORDER_DEFAULT_MODE in modes or not modes else modes[0]


def order_mode_pricing(mode: str) -> ModePricing:
    """The channel and charge mode for ``mode`` (``KeyError`` for a mode that does not exist).

    A channel the branch does not serve (not in KIOSK_CHANNELS) falls back to
    KIOSK_DEFAULT_CHANNEL: dine-in is priced from "Dine In" only where the
    branch has that channel, and from the default one (still without the
    takeaway charges) where it does not.
    """
    channel = settings.ORDER_CHANNELS[mode]
    if channel not in settings.KIOSK_CHANNELS:
        channel = settings.KIOSK_DEFAULT_CHANNEL
    return ModePricing(channel=channel, charge_mode=settings.ORDER_CHARGE_MODES[mode] or None)
