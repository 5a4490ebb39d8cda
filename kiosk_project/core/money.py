"""Rupees and paise: Decimal rupees with two places everywhere; integer paise only at the PhonePe boundary.

Shared by the pricing engine (catalog) and payments, so it sits in core and imports nothing of Django.
"""

from __future__ import annotations

from decimal import Decimal

PAISA = Decimal("0.01")


def to_paise(amount: Decimal) -> int:
    """An amount that is already whole paise, as an integer number of paise."""
    paise = amount * 100
    if paise != paise.to_integral_value():
        raise ValueError(f"{amount} is not a whole number of paise")
    return int(paise)


def from_paise(paise: int) -> Decimal:
    return (Decimal(paise) / 100).quantize(PAISA)
