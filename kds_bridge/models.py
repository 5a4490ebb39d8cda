"""The kitchen outbox: one delivery row per paid order, and a ledger of every attempt to send it.

A `KitchenDelivery` is written in the transaction that confirms the order
(never earlier), so a paid order always has one and an unpaid order never
does; the one-to-one on `order` means a second hand-off cannot create a second
row. See docs/kitchen.md for the state machine and the exactly-once argument.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone

from kiosk_project.core.transitions import table_of


class DeliveryStatus(models.TextChoices):
    PENDING = "PENDING", "Pending (waiting for a send or a retry)"
    SENDING = "SENDING", "Sending (a worker holds the lease)"
    DELIVERED = "DELIVERED", "Delivered (Rista has the sale)"
    REJECTED = "REJECTED", "Rejected by Rista (4xx), not retried"
    FAILED = "FAILED", "Failed (gave up after the retry window)"


# Every allowed change of KitchenDelivery.status (kds_bridge.transitions.kitchen_delivery_transition).
# A sale Rista stored stands whatever happened to the row meanwhile (a lapsed lease, a give-up); an
# operator's resend reopens any closed row (DELIVERED only with --force, to re-check with Rista).
DELIVERY_STATUS_TRANSITIONS = table_of({
    DeliveryStatus.PENDING: (DeliveryStatus.SENDING, DeliveryStatus.DELIVERED),
    DeliveryStatus.SENDING: (DeliveryStatus.PENDING, DeliveryStatus.DELIVERED, DeliveryStatus.REJECTED,
                             DeliveryStatus.FAILED),
    DeliveryStatus.DELIVERED: (DeliveryStatus.PENDING,),
    DeliveryStatus.REJECTED: (DeliveryStatus.PENDING, DeliveryStatus.DELIVERED),
    DeliveryStatus.FAILED: (DeliveryStatus.PENDING, DeliveryStatus.DELIVERED),
})

# Rows the sender and the sweeper still have work for.
OPEN_STATUSES = (DeliveryStatus.PENDING, DeliveryStatus.SENDING)


class AttemptOutcome(models.TextChoices):
    IN_PROGRESS = "in_progress", "In progress"
    DELIVERED = "delivered", "Delivered (Rista stored the sale)"
    DUPLICATE_FOUND = "duplicate_found", "Already in Rista (found by lookup; nothing re-sent)"
    RETRY = "retry", "Failed; retry scheduled"
    NOT_YET_FOUND = "not_yet_found", "Not in Rista yet, but an earlier post may still be stored: not re-posted"
    REJECTED = "rejected", "Rejected by Rista (4xx)"
    FAILED = "failed", "Failed; retry window over"
    INTERRUPTED = "interrupted", "Interrupted (worker died or lost its lease)"


class KitchenDelivery(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    order = models.OneToOneField("orders.Order", on_delete=models.PROTECT, related_name="kitchen_delivery")
    status = models.CharField(max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0, help_text="Sends claimed so far (each is an attempt row).")
    next_attempt_at = models.DateTimeField(default=timezone.now,
                                           help_text="PENDING: when the next send is due.")
    claimed_until = models.DateTimeField(null=True, blank=True,
                                         help_text="SENDING: the lease; after it the send is presumed dead.")
    claimed_by = models.CharField(max_length=128, blank=True, default="", help_text="host:pid of the sender.")
    source_invoice_number = models.CharField(
        max_length=64, help_text="Our sourceInfo.invoiceNumber: branch-day-order number, unique forever.")
    rista_invoice_number = models.CharField(max_length=64, blank=True, default="",
                                            help_text="Rista's invoiceNumber, stored on success.")
    post_settles_at = models.DateTimeField(
        null=True, blank=True,
        help_text="After a POST that may have reached Rista (timeout, reset, 5xx): until then Rista may "
                  "still store it, so a lookup that misses it proves nothing and the sale is not posted again.")
    last_error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    alerted_at = models.DateTimeField(null=True, blank=True, help_text="When an alert was last raised for it.")

    class Meta:
        verbose_name_plural = "kitchen deliveries"
        ordering = ["-created_at"]
        permissions = [("resend_kitchendelivery", "Can resend an order to the kitchen")]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=DeliveryStatus.values), name="kitchen_delivery_status_valid"),
            models.CheckConstraint(condition=~Q(status=DeliveryStatus.DELIVERED) | ~Q(rista_invoice_number=""),
                                   name="kitchen_delivery_delivered_has_invoice"),
            models.CheckConstraint(condition=~Q(status=DeliveryStatus.SENDING) | Q(claimed_until__isnull=False),
                                   name="kitchen_delivery_sending_has_lease"),
            models.UniqueConstraint(fields=["source_invoice_number"], name="kitchen_delivery_source_invoice_unique"),
            models.UniqueConstraint(fields=["rista_invoice_number"], condition=~Q(rista_invoice_number=""),
                                    name="kitchen_delivery_rista_invoice_unique"),
        ]
        indexes = [
            # The sweeper's scan: only open rows, so the index stays tiny however many orders exist.
            models.Index(fields=["next_attempt_at"], condition=Q(status__in=OPEN_STATUSES),
                         name="kitchen_delivery_open_due"),
            # /health's "oldest paid order not in the kitchen": one index-only look at the open rows.
            models.Index(fields=["created_at"], condition=Q(status__in=OPEN_STATUSES),
                         name="kitchen_delivery_open_created"),
        ]

    def __str__(self) -> str:
        return f"{self.source_invoice_number} ({self.status})"


class KitchenDeliveryAttempt(models.Model):
    """One send of one delivery: when, how it ended, and Rista's answer (append-only ledger)."""

    delivery = models.ForeignKey(KitchenDelivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=16, choices=AttemptOutcome.choices, default=AttemptOutcome.IN_PROGRESS)
    looked_up = models.BooleanField(default=False, help_text="Looked the sale up in Rista before posting.")
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    worker = models.CharField(max_length=128, blank=True, default="")

    class Meta:
        ordering = ["delivery", "number"]
        constraints = [
            models.UniqueConstraint(fields=["delivery", "number"], name="kitchen_attempt_number_unique"),
            models.CheckConstraint(condition=Q(outcome__in=AttemptOutcome.values),
                                   name="kitchen_attempt_outcome_valid"),
        ]

    def __str__(self) -> str:
        return f"attempt {self.number}: {self.outcome}"
