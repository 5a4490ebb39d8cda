"""A branch's rules as pure functions: opening hours, when it opens and closes, which field values are valid.

No database and no settings objects here, so the model's validation, the store status on the menu's hot
path and the tests all use the same code.

Opening hours are a mapping of weekday to intervals in the branch's time zone:
``{"mon": ["07:00-15:00", "18:00-23:30"], "sat": ["08:00-02:00"]}``. A weekday not listed is closed;
an interval whose end is not after its start runs past midnight into the next day; "00:00-24:00" is all
day. Overlapping or touching intervals (Saturday's 08:00-02:00 and Sunday's 00:00-...) join into one, so
``closes_at`` is when the store really closes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
CHARGE_MODES = ("", "Pickup", "Delivery", "Others")
BRANCH_CODE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # Rista's branchCode, as we accept it anywhere
# 2-digit state code, 10-character PAN, entity number, "Z", check character.
GSTIN_PATTERN = re.compile(r"^[0-9]{2}[A-Z]{5}[0-9]{4}[A-Z][1-9A-Z]Z[0-9A-Z]$")
# At most 4 characters: "BLR1/2526/999999" is 16, the GST limit, with room for a million invoices a year.
INVOICE_PREFIX_PATTERN = re.compile(r"^[A-Za-z0-9]{1,4}$")
_INTERVAL = re.compile(r"^(?P<sh>[01]\d|2[0-3]):(?P<sm>[0-5]\d)-(?P<eh>[01]\d|2[0-4]):(?P<em>[0-5]\d)$")

Hours = dict[int, tuple[tuple[time, timedelta], ...]]  # weekday -> (start, length)


def parse_hours(raw: Mapping[str, Any] | None) -> Hours:
    """Validated hours (``ValueError`` naming the bad part). Empty: always open."""
    if not raw:
        return {}
    if not isinstance(raw, Mapping):
        raise ValueError("opening hours must map weekdays (mon..sun) to lists like [\"07:00-22:30\"]")
    hours: Hours = {}
    for day, intervals in raw.items():
        if day not in WEEKDAYS:
            raise ValueError(f"unknown weekday {day!r} (use {', '.join(WEEKDAYS)})")
        if not isinstance(intervals, list) or not all(isinstance(i, str) for i in intervals):
            raise ValueError(f"{day}: a list of \"HH:MM-HH:MM\" intervals")
        parsed = []
        for interval in intervals:
            match = _INTERVAL.match(interval.strip())
            if match is None or (match["eh"] == "24" and match["em"] != "00"):
                raise ValueError(f"{day}: {interval!r} is not HH:MM-HH:MM")
            start = timedelta(hours=int(match["sh"]), minutes=int(match["sm"]))
            end = timedelta(hours=int(match["eh"]), minutes=int(match["em"]))
            if end <= start:
                end += timedelta(days=1)  # runs past midnight
            parsed.append((time(int(match["sh"]), int(match["sm"])), end - start))
        hours[WEEKDAYS.index(day)] = tuple(parsed)
    return hours


@dataclass(frozen=True, slots=True)
class Window:
    """Whether the hours have the store open at an instant, and the next change (aware datetimes)."""

    open: bool
    closes_at: datetime | None  # when open: the end of this opening (None: never, by the hours)
    next_open_at: datetime | None  # when closed: the next opening (None: none in the coming week)


def _intervals(hours: Hours, tz: ZoneInfo, now: datetime) -> list[tuple[datetime, datetime]]:
    today = now.astimezone(tz).date()
    found = []
    for offset in range(-1, 9):  # yesterday's late opening may still run; a week ahead for the next one
        day = today + timedelta(days=offset)
        for start, length in hours.get(day.weekday(), ()):
            begins = datetime.combine(day, start, tzinfo=tz)
            # Wall-clock end (a DST change inside an opening moves the end with the clock, as people expect).
            ends = (begins.replace(tzinfo=None) + length).replace(tzinfo=tz)
            found.append((begins, ends))
    found.sort()
    merged: list[tuple[datetime, datetime]] = []
    for begins, ends in found:
        if merged and begins <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], ends))
        else:
            merged.append((begins, ends))
    return merged


def window_at(hours: Hours, tz: ZoneInfo, now: datetime) -> Window:
    if not hours:
        return Window(open=True, closes_at=None, next_open_at=None)
    for begins, ends in _intervals(hours, tz, now):
        if begins <= now < ends:
            return Window(open=True, closes_at=ends, next_open_at=None)
        if begins > now:
            return Window(open=False, closes_at=None, next_open_at=begins)
    return Window(open=False, closes_at=None, next_open_at=None)


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r}") from exc


def branch_field_errors(*, time_zone: str, opening_hours: Any, channels: Any, default_channel: str,
                        order_mode_channels: Any, order_mode_charge_modes: Any, enabled_order_modes: Any,
                        invoice_prefix: str, gstin: str, order_modes: Iterable[str] = ("takeaway", "dine_in"),
                        ) -> dict[str, str]:
    """What is wrong with a branch's values, by field (empty when nothing is)."""
    errors: dict[str, str] = {}
    modes = set(order_modes)
    if time_zone:
        try:
            zone(time_zone)
        except ValueError as exc:
            errors["time_zone"] = str(exc)
    try:
        parse_hours(opening_hours)
    except ValueError as exc:
        errors["opening_hours"] = str(exc)
    if not isinstance(channels, list) or not all(isinstance(c, str) and c for c in channels):
        errors["channels"] = 'a list of Rista channel names, e.g. ["Takeaway"]'
    elif default_channel and channels and default_channel not in channels:
        errors["default_channel"] = "must be one of the channels served"
    if not isinstance(order_mode_channels, dict) or not set(order_mode_channels) <= modes \
            or not all(isinstance(v, str) and v for v in order_mode_channels.values()):
        errors["order_mode_channels"] = f"order modes ({', '.join(sorted(modes))}) to channel names"
    if not isinstance(order_mode_charge_modes, dict) or not set(order_mode_charge_modes) <= modes \
            or not all(v in CHARGE_MODES for v in order_mode_charge_modes.values()):
        errors["order_mode_charge_modes"] = "order modes to Pickup, Delivery, Others or \"\" (no charges)"
    if not isinstance(enabled_order_modes, list) or not set(enabled_order_modes) <= modes:
        errors["enabled_order_modes"] = f"a list of order modes ({', '.join(sorted(modes))})"
    if invoice_prefix and not INVOICE_PREFIX_PATTERN.match(invoice_prefix):
        errors["invoice_prefix"] = "1-4 letters or digits (GST invoice numbers are at most 16 characters)"
    if gstin and not GSTIN_PATTERN.match(gstin.upper()):
        errors["gstin"] = "not a valid GSTIN (15 characters, e.g. 29AABCT1234E1Z5)"
    return errors
