"""Validation of what a kiosk sends at checkout: SKUs, quantities, options, notes; never prices.

Strict types: a quantity must be a JSON integer (not "2", not 2.5, not true);
money is a JSON number or a decimal string ("324.50", what JavaScript's
toFixed(2) gives) with at most two decimals, never a float with more. Every
unknown field, at the top level or inside an item or option (a smuggled
"price"), is refused with 400 naming it: a client sending a field we do not
read has misunderstood the contract and should hear so. `item_id` (the
customer's original contract) is accepted as another name for `item_sku_id`.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework import serializers

from kiosk_project.core.inputs import MoneyField, StrictIntegerField, StrictSerializer
from orders.models import OrderMode


class OptionInput(StrictSerializer):
    option_id = serializers.CharField(max_length=64)
    quantity = StrictIntegerField(min_value=1, max_value=99, default=1)


class LineInput(StrictSerializer):
    aliases = {"item_id": "item_sku_id"}  # the customer's original contract calls it item_id

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


class OrderInput(StrictSerializer):
    items = serializers.ListField(child=LineInput(), min_length=1, allow_empty=False)
    order_mode = serializers.ChoiceField(choices=OrderMode.values, required=False)
    total_amount_include_tax = MoneyField(required=False)
    total_amount_exclude_tax = MoneyField(required=False)

    def validate_items(self, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if len(value) > settings.ORDER_MAX_LINES:
            raise serializers.ValidationError(f"At most {settings.ORDER_MAX_LINES} lines per order.")
        return value
