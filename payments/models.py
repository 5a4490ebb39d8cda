"""Payments: every attempt to collect an order's total through PhonePe, and what happened to it.

`Payment` is one attempt (one merchant reference, one QR); an order may have
several (a failed or expired QR is followed by a new one). `PaymentEvent` is
the append-only ledger of everything PhonePe told us (callbacks, status
checks, initiation answers); its unique key is what makes a replayed callback
a no-op. `Refund` tracks money going back, to completion.

Money is Decimal rupees (2 places) here; paise integers exist only at the
PhonePe boundary and are stored next to the rupee amount for reconciliation.
"""

from __future__ import annotations

import uuid

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q

from kiosk_project.core.models import money
from kiosk_project.core.transitions import table_of


class Provider(models.TextChoices):
    PHONEPE_V2 = "phonepe_v2", "PhonePe PG v2 (OAuth)"
    PHONEPE_V1 = "phonepe_v1", "PhonePe PG v1 (X-VERIFY)"


class PaymentStatus(models.TextChoices):
    CREATED = "CREATED", "Created (PhonePe not yet answered)"
    PENDING = "PENDING", "Pending (QR shown)"
    SUCCEEDED = "SUCCEEDED", "Succeeded"
    FAILED = "FAILED", "Failed"
    EXPIRED = "EXPIRED", "Expired (no outcome by the QR's expiry + grace)"
    NEEDS_REVIEW = "NEEDS_REVIEW", "Needs review (amount mismatch)"
    REFUND_PENDING = "REFUND_PENDING", "Refund in progress"
    REFUNDED = "REFUNDED", "Refunded"


_DECIDED_BY_A_COMPLETION = (PaymentStatus.SUCCEEDED, PaymentStatus.NEEDS_REVIEW)
# Every allowed change of Payment.status (payments.transitions.payment_transition refuses the rest loudly).
# PhonePe's COMPLETED outranks anything we concluded without it: a QR paid after we saw it fail or expire
# is still money received (it confirms, is refunded, or is reviewed).
PAYMENT_STATUS_TRANSITIONS = table_of({
    PaymentStatus.CREATED: (PaymentStatus.PENDING, PaymentStatus.FAILED, PaymentStatus.EXPIRED,
                            *_DECIDED_BY_A_COMPLETION),
    PaymentStatus.PENDING: (PaymentStatus.FAILED, PaymentStatus.EXPIRED, *_DECIDED_BY_A_COMPLETION),
    PaymentStatus.FAILED: _DECIDED_BY_A_COMPLETION,
    PaymentStatus.EXPIRED: _DECIDED_BY_A_COMPLETION,
    PaymentStatus.SUCCEEDED: (PaymentStatus.REFUND_PENDING,),
    PaymentStatus.NEEDS_REVIEW: (PaymentStatus.REFUND_PENDING,),  # a manager refunds it
    PaymentStatus.REFUND_PENDING: (PaymentStatus.REFUNDED, PaymentStatus.NEEDS_REVIEW),  # refund done / failed
    PaymentStatus.REFUNDED: (),
})

# The reconciler's working set: attempts whose outcome PhonePe has not told us yet.
OPEN_STATUSES = (PaymentStatus.CREATED, PaymentStatus.PENDING)
# Money was received for these (a refund may be under way or done).
PAID_STATUSES = (PaymentStatus.SUCCEEDED, PaymentStatus.REFUND_PENDING, PaymentStatus.REFUNDED)


class Payment(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False, verbose_name="payment id")
    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="payments")
    merchant_reference = models.CharField(
        max_length=35, help_text="v2 merchantOrderId / v1 merchantTransactionId; new for every attempt.")
    provider = models.CharField(max_length=16, choices=Provider.choices)
    provider_order_id = models.CharField(max_length=64, blank=True, default="",
                                         help_text="PhonePe's id: v2 orderId (OMO...) / v1 transactionId.")
    amount = money(help_text="What we asked the customer to pay (the order total).")
    amount_paise = models.PositiveIntegerField()
    status = models.CharField(max_length=16, choices=PaymentStatus.choices, default=PaymentStatus.CREATED)
    qr_string = models.TextField(blank=True, default="", help_text="The UPI intent string encoded in the QR.")
    qr_image = models.TextField(blank=True, default="",
                                help_text="PhonePe's QR as a data: URI, when it gave an image and no UPI link.")
    expires_at = models.DateTimeField(null=True, blank=True, help_text="When PhonePe stops accepting this QR.")
    paid_amount = money(null=True, blank=True, help_text="What PhonePe says was paid.")
    provider_txn_id = models.CharField(max_length=64, blank=True, default="")
    utr = models.CharField(max_length=64, blank=True, default="", help_text="UPI bank reference (UTR).")
    error_code = models.CharField(max_length=64, blank=True, default="",
                                  help_text="PhonePe's failure code, or ours for a failed initiation.")
    next_check_at = models.DateTimeField(null=True, blank=True, help_text="When the reconciler checks next.")
    check_count = models.PositiveIntegerField(default=0)
    status_check_until = models.DateTimeField(
        null=True, blank=True, help_text="A status check is in flight until then (payments.status_checks).")
    callback_checked_at = models.DateTimeField(
        null=True, blank=True, help_text="When a callback last made us ask PhonePe; repeats within "
        "PAYMENT_CALLBACK_COALESCE_SECONDS are coalesced into that check.")
    confirmed_order = models.BooleanField(default=False, help_text="This attempt is the one that confirmed its order.")
    flag_reason = models.CharField(max_length=255, blank=True, default="",
                                   help_text="Why a manager should look at this payment (empty: nothing to do).")
    flagged_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    initiated_at = models.DateTimeField(null=True, blank=True, help_text="When PhonePe accepted the attempt.")
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        permissions = [("refund_payment", "Can refund a payment to the customer")]
        constraints = [
            models.UniqueConstraint(fields=["merchant_reference"], name="payment_merchant_reference_unique"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
            models.CheckConstraint(condition=Q(amount_paise__gt=0), name="payment_amount_paise_positive"),
            models.CheckConstraint(condition=Q(status__in=PaymentStatus.values), name="payment_status_valid"),
            models.CheckConstraint(condition=Q(provider__in=Provider.values), name="payment_provider_valid"),
            # However many attempts an order has, one payment confirms it (the others are refunded).
            models.UniqueConstraint(fields=["order"], condition=Q(confirmed_order=True),
                                    name="payment_one_confirming_per_order"),
        ]
        indexes = [
            # The reconciler's "due" query touches only open attempts: the index holds nothing else.
            models.Index(fields=["next_check_at"], condition=Q(status__in=OPEN_STATUSES),
                         name="payment_open_due_check"),
            models.Index(fields=["order", "-created_at"], name="payment_order_recent"),
            # A callback that names the payment only by PhonePe's orderId is looked up by it.
            models.Index(fields=["provider_order_id"], condition=~Q(provider_order_id=""),
                         name="payment_provider_order_id"),
            models.Index(fields=["flagged_at"], condition=Q(flagged_at__isnull=False), name="payment_flagged"),
        ]

    def __str__(self) -> str:
        return f"{self.merchant_reference} ({self.status})"



class EventSource(models.TextChoices):
    WEBHOOK_V2 = "webhook_v2", "Webhook (v2)"
    WEBHOOK_V1 = "webhook_v1", "S2S callback (v1)"
    STATUS_CHECK = "status_check", "Status API"
    INITIATE = "initiate", "Initiation"
    REFUND = "refund", "Refund API"
    REFUND_STATUS = "refund_status", "Refund status API"


class LedgerKind(models.TextChoices):
    PAYMENT = "payment", "Payment"
    REFUND = "refund", "Refund"


class PaymentEvent(models.Model):
    """Append-only: what PhonePe said, when, verbatim. Never updated, never deleted by code.

    The unique key (source, kind, provider_reference, state) is the dedupe key: a
    callback replayed any number of times inserts one row, and the receiver
    answers "duplicate" to the rest. Status checks are recorded once per state.
    """

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="events", null=True, blank=True)
    refund = models.ForeignKey("payments.Refund", on_delete=models.PROTECT, related_name="events", null=True,
                               blank=True)
    source = models.CharField(max_length=16, choices=EventSource.choices)
    kind = models.CharField(max_length=8, choices=LedgerKind.choices, default=LedgerKind.PAYMENT)
    provider_reference = models.CharField(max_length=64, help_text="merchant reference the event is about")
    state = models.CharField(max_length=32)
    payload = models.JSONField(encoder=DjangoJSONEncoder, default=dict)
    remote_addr = models.GenericIPAddressField(null=True, blank=True)
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["received_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["source", "kind", "provider_reference", "state"],
                                    name="payment_event_dedupe"),
            models.CheckConstraint(condition=Q(kind__in=LedgerKind.values), name="payment_event_kind_valid"),
        ]
        indexes = [models.Index(fields=["provider_reference"], name="payment_event_reference")]

    def __str__(self) -> str:
        return f"{self.source} {self.provider_reference} {self.state}"

    def save(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        if self.pk is not None:
            raise ValueError("Payment events are append-only")
        super().save(*args, **kwargs)


class RefundStatus(models.TextChoices):
    CREATED = "CREATED", "Recorded, not yet accepted by PhonePe"
    PENDING = "PENDING", "Accepted by PhonePe, in progress"
    COMPLETED = "COMPLETED", "Completed"
    FAILED = "FAILED", "Failed"


OPEN_REFUND_STATUSES = (RefundStatus.CREATED, RefundStatus.PENDING)
# Every allowed change of Refund.status (payments.transitions.refund_transition).
REFUND_STATUS_TRANSITIONS = table_of({
    RefundStatus.CREATED: (RefundStatus.PENDING, RefundStatus.COMPLETED, RefundStatus.FAILED),
    RefundStatus.PENDING: (RefundStatus.COMPLETED, RefundStatus.FAILED),
    RefundStatus.COMPLETED: (),
    RefundStatus.FAILED: (),  # a failed refund stays failed; a manager's new refund is a new row
})


class Refund(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    merchant_refund_id = models.CharField(max_length=35, help_text="v2 merchantRefundId / v1 merchantTransactionId")
    amount = money()
    amount_paise = models.PositiveIntegerField()
    status = models.CharField(max_length=16, choices=RefundStatus.choices, default=RefundStatus.CREATED)
    reason = models.CharField(max_length=255)
    requested_by = models.CharField(max_length=128, help_text="system, staff:<user>")
    provider_refund_id = models.CharField(max_length=64, blank=True, default="")
    utr = models.CharField(max_length=64, blank=True, default="")
    error_code = models.CharField(max_length=64, blank=True, default="")
    next_check_at = models.DateTimeField(null=True, blank=True)
    check_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["merchant_refund_id"], name="refund_merchant_refund_id_unique"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive"),
            models.CheckConstraint(condition=Q(status__in=RefundStatus.values), name="refund_status_valid"),
            # Full refunds only: at most one refund per payment that is open or done (a failed one may be retried).
            models.UniqueConstraint(fields=["payment"], condition=~Q(status=RefundStatus.FAILED),
                                    name="refund_one_active_per_payment"),
        ]
        indexes = [
            models.Index(fields=["next_check_at"], condition=Q(status__in=OPEN_REFUND_STATUSES),
                         name="refund_open_due_check"),
        ]

    def __str__(self) -> str:
        return f"{self.merchant_refund_id} ({self.status})"
