"""Response shapes of the payment and order-status API, for the OpenAPI schema (documents built as dicts in
payments.status_document and payments.apis)."""

from __future__ import annotations

from rest_framework import serializers

from orders.models import KitchenStatus, OrderStatus
from orders.schemas import HistoryEntrySchema, OrderSchema, money
from payments.models import PaymentStatus
from payments.status_document import BlockStatus

BLOCK_STATUSES = [v for k, v in vars(BlockStatus).items() if k.isupper()]


class PaymentBlockSchema(serializers.Serializer):
    status = serializers.ChoiceField(choices=BLOCK_STATUSES)
    payment_id = serializers.UUIDField(allow_null=True)
    merchant_reference = serializers.CharField(allow_null=True, help_text="What PhonePe's dashboard shows")
    failure_code = serializers.ChoiceField(
        choices=["PAYMENT_DECLINED", "PAYMENT_FAILED", "PAYMENT_EXPIRED", "GATEWAY_UNAVAILABLE"], allow_null=True)
    message = serializers.CharField(help_text="Short and customer-facing: show it as is")
    can_retry = serializers.BooleanField(help_text="A new attempt (POST /payment/initiate) is allowed now")
    expires_at = serializers.DateTimeField(allow_null=True, help_text="When this attempt's QR stops working")


class StatusDocumentSchema(serializers.Serializer):
    order_id = serializers.UUIDField()
    order_number = serializers.CharField()
    status = serializers.ChoiceField(choices=OrderStatus.choices)
    kitchen_status = serializers.ChoiceField(choices=KitchenStatus.choices)
    expires_at = serializers.DateTimeField(help_text="When the unpaid order expires")
    updated_at = serializers.DateTimeField()
    payment = PaymentBlockSchema()


class OrderDetailSchema(OrderSchema):
    payment = PaymentBlockSchema()
    history = HistoryEntrySchema(many=True)


class PaymentInitiatedSchema(serializers.Serializer):
    order_id = serializers.UUIDField()
    payment_id = serializers.UUIDField()
    merchant_reference = serializers.CharField()
    amount = money()
    qr_string = serializers.CharField(allow_null=True, help_text="The UPI link (null: PhonePe gave an image only)")
    qr_svg = serializers.CharField(allow_null=True, help_text="An SVG of qr_string")
    qr_image = serializers.CharField(help_text="A data: URI to put in an <img>, always present")
    expires_at = serializers.DateTimeField(allow_null=True)


class PaymentDetailSchema(serializers.Serializer):
    payment_id = serializers.UUIDField()
    order_id = serializers.UUIDField()
    merchant_reference = serializers.CharField()
    order_status = serializers.ChoiceField(choices=OrderStatus.choices)
    status = serializers.ChoiceField(choices=PaymentStatus.choices)
    amount = money()
    paid_amount = money(allow_null=True)
    qr_string = serializers.CharField(allow_null=True)
    expires_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField(allow_null=True)
    completed_at = serializers.DateTimeField(allow_null=True)


class WebhookAnswerSchema(serializers.Serializer):
    status = serializers.ChoiceField(choices=["processed", "duplicate", "ignored", "deferred", "coalesced"])
