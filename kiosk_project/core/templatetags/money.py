"""Template filters for money: {{ order.total_amount_include_tax|rupees }} and |amount (no sign)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django import template

from kiosk_project.core import money_format

register = template.Library()


@register.filter
def rupees(value: Any) -> str:
    return money_format.rupees(value)


@register.filter
def amount(value: Any) -> str:
    return money_format.amount(value)


@register.filter
def percent(value: Any) -> str:
    """A tax rate as printed: 2.5 -> "2.5", 5.00 -> "5" (never "2.50")."""
    try:
        number = Decimal(str(value)).normalize()
    except (InvalidOperation, ValueError):
        return ""
    return f"{number:f}"
