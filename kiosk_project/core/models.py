"""Kiosk devices: each screen authenticates with its own scoped key."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from kiosk_project.core.branch_rules import branch_field_errors


def money(**kwargs: Any) -> models.DecimalField:
    """Rupees with paise: 12 digits, 2 decimal places, everywhere money is stored (every app)."""
    return models.DecimalField(max_digits=12, decimal_places=2, **kwargs)


def hash_key(secret: str) -> str:
    # Keys are 32 random bytes, so a fast hash is enough (no dictionary to attack);
    # a slow KDF would cost every poll of every kiosk.
    return hashlib.sha256(secret.encode()).hexdigest()


class KioskDevice(models.Model):
    name = models.CharField(max_length=64, unique=True)
    branch_code = models.CharField(max_length=64)
    channel = models.CharField(max_length=128)
    allowed_order_modes = models.JSONField(default=list, help_text='e.g. ["takeaway", "dine_in"]')
    order_prefix = models.CharField(max_length=4, default="K", help_text="Printed before the order number.")
    is_active = models.BooleanField(default=True)
    key_prefix = models.CharField(max_length=16, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "kiosk device"

    def __str__(self) -> str:
        return f"{self.name} ({self.branch_code}/{self.channel})"

    def issue_key(self) -> str:
        """Set a new key and return it; only its hash is stored, so show it now or never."""
        self.key_prefix = secrets.token_hex(4)
        secret = secrets.token_urlsafe(32)
        self.key_hash = hash_key(secret)
        return f"kk_{self.key_prefix}_{secret}"


class Branch(models.Model):
    """One restaurant of the chain: who sells, when it is open, what it serves (docs/chain.md).

    A blank field (empty text, empty list or mapping, no number) means "the deployment's setting"
    (KIOSK_CHANNELS, ORDER_CHANNEL_*, RESTAURANT_*, ...), read when it is used, so the branch made on
    the first run from KIOSK_BRANCH_CODE keeps behaving exactly as the settings say until someone fills
    a field in. Read through kiosk_project.core.branches.branch_config, never field by field.
    """

    code = models.CharField(max_length=64, unique=True, help_text="Rista's branchCode, e.g. BLR01.")
    display_name = models.CharField(max_length=128, help_text="What people call it (admin, reports, kiosk).")
    legal_name = models.CharField(max_length=200, blank=True,
                                  help_text="On GST invoices (blank: RESTAURANT_LEGAL_NAME).")
    trade_name = models.CharField(max_length=200, blank=True)
    address = models.TextField(blank=True, help_text='Lines separated by newlines or " | ".')
    gstin = models.CharField(max_length=15, blank=True)
    fssai = models.CharField(max_length=32, blank=True)
    phone = models.CharField(max_length=32, blank=True)
    invoice_prefix = models.CharField(max_length=4, blank=True,
                                      help_text="1-4 letters/digits before each invoice number; unique per branch.")
    time_zone = models.CharField(max_length=64, blank=True, help_text="e.g. Asia/Kolkata (blank: TIME_ZONE).")
    business_day_start_hour = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Orders before this hour belong to the evening before (0-23).")
    channels = models.JSONField(default=list, blank=True,
                                help_text='Rista channels served, e.g. ["Takeaway", "Dine In"].')
    default_channel = models.CharField(max_length=128, blank=True)
    order_mode_channels = models.JSONField(default=dict, blank=True,
                                           help_text='Order mode -> Rista channel, e.g. {"dine_in": "Dine In"}.')
    order_mode_charge_modes = models.JSONField(default=dict, blank=True,
                                               help_text='Order mode -> Rista charge mode (Pickup, Delivery, Others, '
                                                         'or "" for none).')
    enabled_order_modes = models.JSONField(default=list, blank=True,
                                           help_text='Order modes this branch takes (blank: all).')
    opening_hours = models.JSONField(
        default=dict, blank=True,
        help_text='Per weekday, in the branch\'s time zone: {"mon": ["07:00-15:00", "18:00-23:30"], ...}; '
                  'a day not listed is closed; "22:00-02:00" runs past midnight. Blank: always open.')
    is_open = models.BooleanField(default=True, help_text="Off: the kiosks refuse new orders (paid ones carry on).")
    order_expiry_seconds = models.PositiveIntegerField(null=True, blank=True,
                                                       help_text="Unpaid orders expire after this long.")
    staff = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="branches",
                                   help_text="Back-office users who see this branch's orders, reports and "
                                             "kiosks (kiosk_project.core.branch_access).")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "branches"
        ordering = ["code"]
        permissions = [("view_all_branches", "Sees every branch (chain owner)")]
        constraints = [
            models.UniqueConstraint(fields=["invoice_prefix"], condition=~models.Q(invoice_prefix=""),
                                    name="branch_invoice_prefix_unique",
                                    violation_error_message="Another branch has this invoice prefix "
                                                            "(each branch needs its own invoice series)."),
            models.CheckConstraint(condition=models.Q(business_day_start_hour__isnull=True)
                                   | models.Q(business_day_start_hour__lte=23), name="branch_day_start_hour_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.code} ({self.display_name})"

    def clean(self) -> None:
        errors = branch_field_errors(
            time_zone=self.time_zone, opening_hours=self.opening_hours, channels=self.channels,
            default_channel=self.default_channel, order_mode_channels=self.order_mode_channels,
            order_mode_charge_modes=self.order_mode_charge_modes, enabled_order_modes=self.enabled_order_modes,
            invoice_prefix=self.invoice_prefix, gstin=self.gstin)
        if errors:
            raise ValidationError(errors)
