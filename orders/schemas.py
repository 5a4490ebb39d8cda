"""Response shapes of the checkout API, for the OpenAPI schema (the documents are built as dicts by
orders.presenters; these only describe them, and test_api_schema.py checks they agree)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from orders.models import KitchenStatus, OrderMode, OrderStatus


def money(**kwargs: Any) -> serializers.DecimalField:
    """Rupees, a JSON number with at most 2 decimals (324.5)."""
    return serializers.DecimalField(max_digits=12, decimal_places=2, coerce_to_string=False, **kwargs)


class LineTaxSchema(serializers.Serializer):
    tax_type_id = serializers.CharField()
    name = serializers.CharField()
    percentage = serializers.DecimalField(max_digits=6, decimal_places=3, coerce_to_string=False)
    taxable_amount = money()
    amount = money()
    included = serializers.BooleanField()


class LineOptionSchema(serializers.Serializer):
    option_id = serializers.CharField()
    option_set_id = serializers.CharField()
    name = serializers.CharField()
    sku = serializers.CharField()
    unit_price = money()
    quantity = serializers.IntegerField()
    total_quantity = serializers.IntegerField()
    amount = money()


class LineSchema(serializers.Serializer):
    sku = serializers.CharField()
    name = serializers.CharField()
    quantity = serializers.IntegerField()
    unit_price = money()
    options = LineOptionSchema(many=True)
    note = serializers.CharField(allow_null=True)
    item_amount = money()
    option_amount = money()
    gross_amount = money()
    discount_amount = money()
    net_amount = money()
    taxes = LineTaxSchema(many=True)
    tax_amount = money()
    total_amount = money()
    price_includes_tax = serializers.BooleanField()


class TaxTotalSchema(serializers.Serializer):
    tax_type_id = serializers.CharField()
    name = serializers.CharField()
    percentage = serializers.DecimalField(max_digits=6, decimal_places=3, coerce_to_string=False)
    taxable_amount = money()
    amount = money()


class ChargeSchema(serializers.Serializer):
    charge_id = serializers.CharField()
    name = serializers.CharField()
    type = serializers.CharField(help_text="Absolute | Percentage")
    amount = money()
    tax_amount = money()
    total_amount = money()


class DiscountSchema(serializers.Serializer):
    discount_id = serializers.CharField()
    code = serializers.CharField()
    level = serializers.CharField(help_text="Item | Order")
    amount = money()


class QuoteSchema(serializers.Serializer):
    order_mode = serializers.ChoiceField(choices=OrderMode.choices)
    channel = serializers.CharField(help_text="The Rista price channel it was priced from")
    charge_mode = serializers.CharField(allow_null=True, help_text="Rista charge mode; null: no mode charges")
    currency = serializers.CharField()
    subtotal = money()
    discount_total = money()
    charge_total = money()
    tax_total = money()
    round_off = money()
    total_amount_exclude_tax = money()
    total_amount_include_tax = money(help_text="What the customer pays")
    taxes = TaxTotalSchema(many=True)
    charges = ChargeSchema(many=True)
    discounts = DiscountSchema(many=True)
    lines = LineSchema(many=True)


class OrderSchema(QuoteSchema):
    order_id = serializers.UUIDField()
    order_number = serializers.CharField(help_text="Short token for the screen and receipt, e.g. K042")
    status = serializers.ChoiceField(choices=OrderStatus.choices)
    kitchen_status = serializers.ChoiceField(choices=KitchenStatus.choices)
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField(help_text="When the unpaid order expires")


class HistoryEntrySchema(serializers.Serializer):
    at = serializers.DateTimeField()
    kind = serializers.CharField(help_text="status, kitchen, payment, action, note")
    # `from` is a Python keyword: declared under another name and renamed in the schema's output below.
    from_ = serializers.CharField(allow_null=True)
    to = serializers.CharField(allow_null=True)
    actor = serializers.CharField(help_text="kiosk:<name>, system, phonepe, rista, staff:<user>")
    reason = serializers.CharField(allow_null=True)

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        fields["from"] = fields.pop("from_")
        return fields
