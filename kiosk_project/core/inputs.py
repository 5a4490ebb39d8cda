"""Input fields every kiosk API shares: strict JSON integers, and money as a JSON number in rupees.

Strict types: a quantity must be a JSON integer (not "2", not 2.5, not true); money is a JSON
number (parsed as Decimal by core.parsers, never a float) or a plain decimal string ("324.50",
what JavaScript's toFixed(2) gives), with at most two decimals. A StrictSerializer refuses every
field it does not declare, naming it.
"""

from __future__ import annotations

import re
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
