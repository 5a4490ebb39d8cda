"""Branches: the one way to read a branch's configuration, and whether its store is open now.

``branch_config(code)`` answers every caller (checkout, the menu, invoices, business days, commands).
A blank field on the row means the deployment's setting (models.Branch), resolved whenever the row
is read, so a single-branch deployment configured by environment keeps working unchanged.

Reads are cheap and never need PostgreSQL on the menu's hot path:
1. this process's memory, for BRANCH_MEMORY_SECONDS (1 s);
2. a JSON copy of the row in Redis, trusted for BRANCH_CACHE_SECONDS (10 s) after it was read from
   PostgreSQL (``branch_config_cached`` stops here: the WSGI fast path hands a request to Django
   rather than query);
3. PostgreSQL, which refreshes the Redis copy. The branch named by KIOSK_BRANCH_CODE is created there
   on first use if it is missing (the first run, or a test database that was flushed).
A save or delete through the ORM drops the Redis copy and this process's memory after commit, so an
admin change reaches every process within BRANCH_MEMORY_SECONDS; a raw UPDATE within
BRANCH_CACHE_SECONDS. With PostgreSQL down the last copy is used however old it is, and with nothing
at all the deployment's settings (open, no hours) answer: the menu must never fail for this.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.cache import cache as shared_cache
from django.core.signals import setting_changed
from django.db import DatabaseError, transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone

from kiosk_project.core import metrics
from kiosk_project.core.branch_rules import Hours, parse_hours, window_at, zone
from kiosk_project.core.errors import Conflict
from kiosk_project.core.models import Branch

log = logging.getLogger(__name__)

_KEY = "branch:v1:{code}"
FIELDS = ("code", "display_name", "legal_name", "trade_name", "address", "gstin", "fssai", "phone",
          "invoice_prefix", "time_zone", "business_day_start_hour", "channels", "default_channel",
          "order_mode_channels", "order_mode_charge_modes", "enabled_order_modes", "opening_hours", "is_open",
          "order_expiry_seconds")


class StoreClosed(Conflict):
    code = "STORE_CLOSED"
    message = "The store is closed; orders cannot be placed now."


@dataclass(frozen=True, slots=True)
class StoreStatus:
    open: bool
    next_open_at: datetime | None  # closed: the next opening by the hours (None: not known, e.g. switched off)
    closes_at: datetime | None  # open: when the hours close it (None: no closing time)

    def as_dict(self) -> dict[str, Any]:
        return {"open": self.open,
                "next_open_at": self.next_open_at.isoformat() if self.next_open_at else None,
                "closes_at": self.closes_at.isoformat() if self.closes_at else None}

    @property
    def plain(self) -> bool:
        """Open with no closing time: the menu's ETag stays the catalog's own."""
        return self.open and self.closes_at is None


ALWAYS_OPEN = StoreStatus(open=True, next_open_at=None, closes_at=None)
SWITCHED_OFF = StoreStatus(open=False, next_open_at=None, closes_at=None)


@dataclass(frozen=True)
class BranchConfig:
    """A branch's effective configuration: its row, with the deployment's settings where the row is blank."""

    code: str
    display_name: str
    legal_name: str
    trade_name: str
    address: str
    gstin: str
    fssai: str
    phone: str
    invoice_prefix: str
    time_zone: str
    business_day_start_hour: int
    channels: tuple[str, ...]
    default_channel: str
    order_mode_channels: Mapping[str, str]
    order_mode_charge_modes: Mapping[str, str]
    order_modes: tuple[str, ...]  # enabled, in the deployment's order
    hours: Hours
    is_open: bool
    order_expiry_seconds: int
    exists: bool  # False: no row (a code only settings or old data know)

    @property
    def tz(self) -> ZoneInfo:
        return zone(self.time_zone)

    def store_status(self, now: datetime | None = None) -> StoreStatus:
        if not self.is_open:
            return SWITCHED_OFF
        if not self.hours:
            return ALWAYS_OPEN  # most branches, every menu request: no clock, no allocation
        window = window_at(self.hours, self.tz, now or timezone.now())
        return StoreStatus(open=window.open, next_open_at=window.next_open_at, closes_at=window.closes_at)

    def require_open(self, now: datetime | None = None) -> None:
        """Raise STORE_CLOSED (409) unless new orders may be placed now."""
        status = self.store_status(now)
        if not status.open:
            metrics.incr("checkout.store_closed")
            raise StoreClosed(details={"branch": self.code, **status.as_dict()})


def _resolve(code: str, row: Mapping[str, Any] | None, hours: Hours) -> BranchConfig:
    row = row or {}
    is_default = code == settings.KIOSK_BRANCH_CODE
    channels = tuple(row.get("channels") or settings.KIOSK_CHANNELS)
    default_channel = row.get("default_channel") or (
        settings.KIOSK_DEFAULT_CHANNEL if settings.KIOSK_DEFAULT_CHANNEL in channels or not channels else channels[0])
    every_mode = list(settings.ORDER_CHANNELS)
    enabled = row.get("enabled_order_modes") or every_mode
    return BranchConfig(
        code=code,
        display_name=row.get("display_name") or settings.RESTAURANT_TRADE_NAME or code,
        legal_name=row.get("legal_name") or settings.RESTAURANT_LEGAL_NAME,
        trade_name=row.get("trade_name") or settings.RESTAURANT_TRADE_NAME,
        address=row.get("address") or settings.RESTAURANT_ADDRESS,
        gstin=(row.get("gstin") or settings.RESTAURANT_GSTIN).upper(),
        fssai=row.get("fssai") or settings.RESTAURANT_FSSAI,
        phone=row.get("phone") or settings.RESTAURANT_PHONE,
        # Invoice series must not collide: INVOICE_PREFIX belongs to the deployment's own branch only.
        invoice_prefix=row.get("invoice_prefix") or (settings.INVOICE_PREFIX if is_default else "") or code,
        time_zone=row.get("time_zone") or settings.TIME_ZONE,
        business_day_start_hour=(settings.ORDER_BUSINESS_DAY_START_HOUR if row.get("business_day_start_hour") is None
                                 else int(row["business_day_start_hour"])),
        channels=channels,
        default_channel=default_channel,
        order_mode_channels={**settings.ORDER_CHANNELS, **(row.get("order_mode_channels") or {})},
        order_mode_charge_modes={**settings.ORDER_CHARGE_MODES, **(row.get("order_mode_charge_modes") or {})},
        order_modes=tuple(mode for mode in every_mode if mode in enabled),
        hours=hours,
        is_open=bool(row.get("is_open", True)),
        order_expiry_seconds=(settings.ORDER_EXPIRY_SECONDS if row.get("order_expiry_seconds") is None
                              else int(row["order_expiry_seconds"])),
        exists=bool(row),
    )


# --- reading -----------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Held:
    until: float  # time.monotonic()
    row: dict[str, Any] | None
    config: BranchConfig  # resolved against the settings when remembered (a settings change forgets it)


_memory: dict[str, _Held] = {}
_lock = threading.Lock()


def _hours_of(row: Mapping[str, Any] | None) -> Hours:
    try:
        return parse_hours((row or {}).get("opening_hours"))
    except ValueError:
        # Saved around the admin's validation (raw SQL): an unreadable timetable must not close the store.
        log.error("branch opening hours unreadable; treated as always open", extra={"branch": (row or {}).get("code")})
        return {}


def _remember(code: str, row: dict[str, Any] | None) -> _Held:
    # Resolved once per BRANCH_MEMORY_SECONDS, not per request: the menu's fast path reads it every time.
    held = _Held(time.monotonic() + settings.BRANCH_MEMORY_SECONDS, row, _resolve(code, row, _hours_of(row)))
    with _lock:
        _memory[code] = held
    return held


def _from_redis(code: str, *, fresh_only: bool) -> tuple[bool, dict[str, Any] | None]:
    """(found, row) from the shared copy; found is False when it is missing, unreadable or (fresh_only) old."""
    try:
        raw = shared_cache.get(_KEY.format(code=code))
    except Exception:
        metrics.incr("branches.cache_down")
        return False, None
    if not raw:
        return False, None
    copy = json.loads(raw)
    if fresh_only and time.time() - copy["loaded_at"] > settings.BRANCH_CACHE_SECONDS:
        return False, None
    return True, copy["row"]


def _publish(code: str, row: dict[str, Any] | None) -> None:
    try:
        shared_cache.set(_KEY.format(code=code), json.dumps({"row": row, "loaded_at": time.time()}), timeout=None)
    except Exception:
        metrics.incr("branches.cache_down")


def _load(code: str) -> dict[str, Any] | None:
    row = Branch.objects.filter(code=code).values(*FIELDS).first()
    if row is None and code == settings.KIOSK_BRANCH_CODE:
        row = branch_ensure_default()
    return row


def _held(code: str, *, database: bool) -> _Held | None:
    held = _memory.get(code)
    if held is not None and held.until > time.monotonic():
        return held
    found, row = _from_redis(code, fresh_only=True)
    if found:
        return _remember(code, row)
    if not database:
        return None
    try:
        row = _load(code)
    except DatabaseError:
        metrics.incr("branches.database_down")
        found, row = _from_redis(code, fresh_only=False)
        if not found and held is not None:
            row = held.row
        return _remember(code, row)  # the last copy, or the settings; retried after BRANCH_MEMORY_SECONDS
    if row is None:
        # A code with no branch (a stranger's ?branch=, an old kiosk's): answered, never remembered, so
        # made-up codes cannot fill Redis or this process's memory.
        return _Held(0.0, None, _resolve(code, None, {}))
    _publish(code, row)
    return _remember(code, row)


def branch_config(code: str | None = None) -> BranchConfig:
    """The branch's configuration (default: KIOSK_BRANCH_CODE's). Never raises for an outage."""
    code = code or settings.KIOSK_BRANCH_CODE
    held = _held(code, database=True)
    assert held is not None
    return held.config


def branch_defaults(code: str | None = None) -> BranchConfig:
    """What the deployment's settings alone say (no row): for callers that name no branch."""
    return _resolve(code or settings.KIOSK_BRANCH_CODE, None, {})


def branch_config_cached(code: str) -> BranchConfig | None:
    """The configuration from memory or a fresh Redis copy only; None when answering needs the database."""
    held = _held(code, database=False)
    return None if held is None else held.config


def branch_codes() -> list[str]:
    """Every branch's code, the deployment's own first created if missing (commands and beat jobs)."""
    codes = list(Branch.objects.values_list("code", flat=True))
    if settings.KIOSK_BRANCH_CODE not in codes:
        codes = sorted([*codes, branch_ensure_default()["code"]])
    return codes


def branch_configs() -> list[BranchConfig]:
    """Every branch's configuration, in code order."""
    return [branch_config(code) for code in branch_codes()]


# --- writing -----------------------------------------------------------------------------------------
def branch_ensure_default() -> dict[str, Any]:
    """The deployment's own branch (KIOSK_BRANCH_CODE), created with every field blank (= its settings)."""
    branch, created = Branch.objects.get_or_create(
        code=settings.KIOSK_BRANCH_CODE, defaults={"display_name": settings.RESTAURANT_TRADE_NAME
                                                   or settings.KIOSK_BRANCH_CODE})
    if created:
        log.info("default branch created from settings", extra={"branch": branch.code})
    return {name: getattr(branch, name) for name in FIELDS}


def branch_create(*, code: str, display_name: str, **fields: Any) -> Branch:
    """A new branch, validated like the admin's form (``ValidationError``)."""
    branch = Branch(code=code, display_name=display_name, **fields)
    branch.full_clean()
    branch.save()
    return branch


def branches_changed(code: str | None = None) -> None:
    """Forget the copies of one branch (or, with no code, this process's memory of all)."""
    if code is not None:
        try:
            shared_cache.delete(_KEY.format(code=code))
        except Exception:
            log.error("branch change not propagated: the shared cache is unavailable", extra={"branch": code})
    with _lock:
        if code is None:
            _memory.clear()
        else:
            _memory.pop(code, None)


@receiver(setting_changed, dispatch_uid="branches-forgotten-on-setting-change")
def _setting_changed(**kwargs: Any) -> None:
    # Remembered configurations hold resolved settings (tests change settings; nothing else does).
    branches_changed()


@receiver(post_save, sender=Branch, dispatch_uid="branch-changed-on-save")
@receiver(post_delete, sender=Branch, dispatch_uid="branch-changed-on-delete")
def _branch_changed(sender: Any, instance: Branch, **kwargs: Any) -> None:
    # After commit: dropping the copy earlier would let a reader cache the old row again.
    code = instance.code
    transaction.on_commit(lambda: branches_changed(code))
