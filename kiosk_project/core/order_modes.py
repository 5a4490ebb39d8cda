"""How a kiosk order mode maps to Rista: the price channel and the charge mode.

The one place that decides it. Checkout prices an order from its mode's
channel with its mode's charge mode, the order keeps both, the sale reaches
Rista's kitchen on that channel, and the menu can be asked for by mode. Read
from the branch (kiosk_project.core.branches), whose blank fields are the
settings ORDER_CHANNELS, ORDER_CHARGE_MODES and KIOSK_CHANNELS.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from kiosk_project.core.branches import BranchConfig, branch_defaults


@dataclass(frozen=True, slots=True)
class ModePricing:
    channel: str  # the Rista price channel: the catalog the order is priced from, and the sale's channel
    charge_mode: str | None  # a Rista charge applicableModes value (Pickup | Delivery | Others); None: no charges


def order_modes(branch: BranchConfig | None = None) -> list[str]:
    """The order modes a branch takes (no branch: every mode the deployment knows)."""
    return list(settings.ORDER_CHANNELS) if branch is None else list(branch.order_modes)


def kiosk_order_modes(allowed: tuple[str, ...] | list[str]) -> list[str]:
    """The modes a kiosk takes orders in: its own list (an empty list: every mode), in the settings' order."""
    return [mode for mode in order_modes() if not allowed or mode in allowed]


def kiosk_default_order_mode(allowed: tuple[str, ...] | list[str]) -> str:
    """The mode an order without `order_mode` gets: ORDER_DEFAULT_MODE where the kiosk takes it, else its first."""
    modes = kiosk_order_modes(allowed)
    return settings.ORDER_DEFAULT_MODE if settings.ORDER_DEFAULT_MODE in modes or not modes else modes[0]


def order_mode_pricing(mode: str, branch: BranchConfig | None = None) -> ModePricing:
    """The channel and charge mode for ``mode`` (``KeyError`` for a mode that does not exist).

    A channel the branch does not serve (not in its channels) falls back to
    its default channel: dine-in is priced from "Dine In" only where the
    branch has that channel, and from the default one (still without the
    takeaway charges) where it does not. No branch: the deployment's settings.
    """
    branch = branch or branch_defaults()
    channel = branch.order_mode_channels[mode]
    if channel not in branch.channels:
        channel = branch.default_channel
    return ModePricing(channel=channel, charge_mode=branch.order_mode_charge_modes[mode] or None)
