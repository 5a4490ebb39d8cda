"""Input fields every kiosk API shares: strict JSON integers, and money as a JSON number in rupees.

Strict types: a quantity must be a JSON integer (not "2", not 2.5, not true); money must be
a JSON number with at most two decimals (parsed as Decimal by core.parsers, never a float).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from rest_framework import serializers


class StrictIntegerField(serializers.IntegerField):
    default_error_messages = {"invalid": "A whole number is required."}

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            if isinstance(data, Decimal) and data == data.to_integral_value() and "." not in str(data):
                data = int(data)
            else:
                self.fail("invalid")
        return super().to_internal_value(data)


class MoneyField(serializers.DecimalField):
    default_error_messages = {"invalid": "A number in rupees with at most 2 decimals is required."}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_digits=12, decimal_places=2, min_value=Decimal("0"), **kwargs)

    def to_internal_value(self, data: Any) -> Decimal:
        if isinstance(data, bool) or not isinstance(data, (int, Decimal)):
            self.fail("invalid")
        return super().to_internal_value(data)
