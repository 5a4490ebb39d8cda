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

import re
from decimal import Decimal
from typing import Any

from django.conf import settings
from rest_framework import serializers

from orders.models import OrderMode


class StrictIntegerField(serializers.IntegerField):
    default_error_messages = {"invalid": "A whole number is required."}

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            if isinstance(data, Decimal) and data == data.to_integral_value() and "." not in str(data):
                data = int(data)
            else:
                self.fail("invalid")
        return super().to_internal_value(data)


_MONEY_STRING = re.compile(r"^[0-9]{1,10}(\.[0-9]{1,2})?$")


class MoneyField(serializers.DecimalField):
    default_error_messages = {"invalid": "An amount in rupees with at most 2 decimals is required "
                                         '(a JSON number, or a string such as "324.50").'}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_digits=12, decimal_places=2, min_value=Decimal("0"), **kwargs)

    def to_internal_value(self, data: Any) -> Decimal:
        # JSON numbers arrive as Decimal (kiosk_project.core.parsers), never float; a string must be plain digits.
        if isinstance(data, str):
            if not _MONEY_STRING.match(data):
                self.fail("invalid")
            data = Decimal(data)
        elif isinstance(data, bool) or not isinstance(data, (int, Decimal)):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictSerializer(serializers.Serializer):
    """A JSON object whose every key is one of the declared fields (or an alias of one)."""

    aliases: dict[str, str] = {}

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, dict):
            raise serializers.ValidationError({"non_field_errors": ["A JSON object is required."]})
        for alias, name in self.aliases.items():
            if alias in data:
                if name in data and data[name] != data[alias]:
                    raise serializers.ValidationError({alias: [f"Another name for {name}; send one of the two."]})
                data = {**{k: v for k, v in data.items() if k != alias}, name: data[alias]}
        unknown = sorted(set(data) - set(self.fields))
        if unknown:
            raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return super().to_internal_value(data)


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


class PaymentLookupInput(serializers.Serializer):
    order_id = serializers.UUIDField()
