"""Template filters for money: {{ order.total_amount_include_tax|rupees }} and |amount (no sign)."""

from __future__ import annotations

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
