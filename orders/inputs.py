"""Validation of what a kiosk sends at checkout: SKUs, quantities, options, notes; never prices.

Strict types: a quantity must be a JSON integer (not "2", not 2.5, not true);
money must be a JSON number with at most two decimals. Unknown top-level fields
are refused; unknown fields inside an item (a smuggled "price") are ignored,
because the server prices everything itself.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework import serializers

from kiosk_project.core.inputs import MoneyField, StrictIntegerField
from orders.models import OrderMode


class OptionInput(serializers.Serializer):
    option_id = serializers.CharField(max_length=64)
    quantity = StrictIntegerField(min_value=1, max_value=99, default=1)


class LineInput(serializers.Serializer):
    item_sku_id = serializers.CharField(max_length=64)
    quantity = StrictIntegerField(min_value=1)
    options = serializers.ListField(child=OptionInput(), max_length=20, default=list)
    note = serializers.CharField(allow_blank=True, default="", trim_whitespace=True)

    def validate_quantity(self, value: int) -> int:
        if value > settings.ORDER_MAX_QUANTITY:
            raise serializers.ValidationError(f"At most {settings.ORDER_MAX_QUANTITY} of one item.")
        return value

    def validate_note(self, value: str) -> str:
        if len(value) > settings.ORDER_MAX_NOTE_LENGTH:
            raise serializers.ValidationError(f"Notes are limited to {settings.ORDER_MAX_NOTE_LENGTH} characters.")
        return value


class OrderInput(serializers.Serializer):
    items = serializers.ListField(child=LineInput(), min_length=1, allow_empty=False)
    order_mode = serializers.ChoiceField(choices=OrderMode.values, required=False)
    total_amount_include_tax = MoneyField(required=False)
    total_amount_exclude_tax = MoneyField(required=False)

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, dict):
            raise serializers.ValidationError({"non_field_errors": ["A JSON object is required."]})
        unknown = sorted(set(data) - set(self.fields))
        if unknown:
            raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return super().to_internal_value(data)

    def validate_items(self, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if len(value) > settings.ORDER_MAX_LINES:
            raise serializers.ValidationError(f"At most {settings.ORDER_MAX_LINES} lines per order.")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs.setdefault("order_mode", settings.ORDER_DEFAULT_MODE)
        return attrs
