"""Kiosk devices: each screen authenticates with its own scoped key."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from django.db import models


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
