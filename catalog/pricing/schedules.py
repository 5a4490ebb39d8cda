"""Time windows: Rista schedules (item availability, schedule prices) and discount hours.

Rista describes both with the same ``BusinessHours`` shape (protocols.md §2.2)::

    {"businessDays": [{"day": "Mon", "slots": [{"startTime": "07:00", "endTime": "11:30"}]}]}

Semantics implemented here (docs/pricing.md, "Schedules"):

* a day that is not listed is closed; a listed day with no slots is open all day;
* a slot covers ``startTime <= t < endTime`` (end exclusive, minute resolution);
* a slot whose end is before its start wraps past midnight: Fri 22:00-02:00 covers
  Fri 22:00-24:00 *and* Sat 00:00-02:00, and the early-morning part belongs to
  Friday (it counts only if Friday is inside the date range and not excluded);
* a slot with equal start and end ("00:00"-"00:00") covers the whole day;
* "24:00" is accepted as an end time meaning midnight;
* no ``itemHours``/``discountHours`` (or no ``businessDays`` list, or an empty
  one) means every day, all day: an empty list most likely means "not
  configured", and reading it as "never" would silently hide items forever.

Times are compared as wall-clock values of ``now``, which the caller supplies
already converted to the branch time zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

WEEKDAY_NUMBERS = {"Mon": 0, "Tue": 1, "Wed": 2, "Thu": 3, "Fri": 4, "Sat": 5, "Sun": 6}
MINUTES_PER_DAY = 24 * 60


@dataclass(frozen=True, slots=True)
class TimeSlot:
    start: int  # minutes after midnight, 0..1439
    end: int  # minutes after midnight, 0..1440 (exclusive)

    @property
    def wraps(self) -> bool:
        return self.end < self.start

    def covers_on_its_day(self, minute: int) -> bool:
        if self.start == self.end:
            return True
        if self.wraps:
            return minute >= self.start
        return self.start <= minute < self.end

    def covers_next_morning(self, minute: int) -> bool:
        return self.wraps and minute < self.end


@dataclass(frozen=True, slots=True)
class BusinessHours:
    """Open slots per weekday (0 = Monday); a weekday absent from ``days`` is closed."""

    days: dict[int, tuple[TimeSlot, ...]]

    def open_on(self, weekday: int, minute: int) -> bool:
        slots = self.days.get(weekday)
        if slots is None:
            return False
        return not slots or any(slot.covers_on_its_day(minute) for slot in slots)

    def open_from_previous_day(self, previous_weekday: int, minute: int) -> bool:
        return any(slot.covers_next_morning(minute) for slot in self.days.get(previous_weekday, ()))


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """A date range (inclusive), dates excluded from it, and optional business hours."""

    start_date: date | None = None
    end_date: date | None = None
    excluded_dates: frozenset[date] = frozenset()
    hours: BusinessHours | None = None

    def includes_day(self, day: date) -> bool:
        if self.start_date is not None and day < self.start_date:
            return False
        if self.end_date is not None and day > self.end_date:
            return False
        return day not in self.excluded_dates

    def contains(self, now: datetime) -> bool:
        today = now.date()
        minute = now.hour * 60 + now.minute
        if self.hours is None:
            return self.includes_day(today)
        if self.includes_day(today) and self.hours.open_on(today.weekday(), minute):
            return True
        yesterday = today - timedelta(days=1)
        return self.includes_day(yesterday) and self.hours.open_from_previous_day(
            yesterday.weekday(), minute
        )


@dataclass(frozen=True, slots=True)
class Schedule:
    schedule_id: str
    name: str
    window: TimeWindow

    def is_active(self, now: datetime) -> bool:
        return self.window.contains(now)


# --- parsing -------------------------------------------------------------------------------------


def parse_date(value: Any, *, field: str) -> date | None:
    """``YYYY-MM-DD`` (a longer ISO timestamp is cut to its date part); null → None."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError(f"{field} must be a YYYY-MM-DD string, got {value!r}")
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        raise ValueError(f"{field} must be a YYYY-MM-DD string, got {value!r}") from None


def parse_dates(values: Any, *, field: str) -> frozenset[date]:
    if values is None:
        return frozenset()
    if not isinstance(values, list):
        raise ValueError(f"{field} must be a list of YYYY-MM-DD strings, got {values!r}")
    parsed = (parse_date(v, field=f"{field}[{i}]") for i, v in enumerate(values))
    return frozenset(d for d in parsed if d is not None)


def _parse_minute(value: Any, *, field: str, allow_24: bool) -> int:
    if not isinstance(value, str):
        raise ValueError(f"{field} must be an HH:MM string, got {value!r}")
    parts = value.split(":")
    try:
        if len(parts) not in (2, 3):
            raise ValueError
        hour, minute = int(parts[0]), int(parts[1])
    except ValueError:
        raise ValueError(f"{field} must be an HH:MM string, got {value!r}") from None
    if hour == 24 and minute == 0 and allow_24:
        return MINUTES_PER_DAY
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        raise ValueError(f"{field} is not a time of day: {value!r}")
    return hour * 60 + minute


def parse_business_hours(value: Any, *, field: str) -> BusinessHours | None:
    """Rista ``BusinessHours`` → ``BusinessHours``, or None for "no restriction"."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ValueError(f"{field} must be an object, got {value!r}")
    business_days = value.get("businessDays")
    if business_days is None or business_days == []:
        return None
    if not isinstance(business_days, list):
        raise ValueError(f"{field}.businessDays must be a list")
    days: dict[int, tuple[TimeSlot, ...]] = {}
    for i, entry in enumerate(business_days):
        where = f"{field}.businessDays[{i}]"
        if not isinstance(entry, dict) or entry.get("day") not in WEEKDAY_NUMBERS:
            raise ValueError(f"{where}.day must be one of Mon..Sun")
        slots_raw = entry.get("slots") or []
        if not isinstance(slots_raw, list):
            raise ValueError(f"{where}.slots must be a list")
        slots = []
        for j, slot in enumerate(slots_raw):
            if not isinstance(slot, dict):
                raise ValueError(f"{where}.slots[{j}] must be an object")
            slot_where = f"{where}.slots[{j}]"
            start = _parse_minute(slot.get("startTime"), field=f"{slot_where}.startTime", allow_24=False)
            end = _parse_minute(slot.get("endTime"), field=f"{slot_where}.endTime", allow_24=True)
            slots.append(TimeSlot(start=start, end=end))
        weekday = WEEKDAY_NUMBERS[entry["day"]]
        # A day listed twice: its slots add up (an empty list still means all day).
        previous = days.get(weekday)
        if previous is None:
            days[weekday] = tuple(slots)
        elif previous and slots:
            days[weekday] = previous + tuple(slots)
        else:
            days[weekday] = ()
    return BusinessHours(days=days)


def parse_schedule(raw: Any, *, where: str) -> Schedule:
    if not isinstance(raw, dict):
        raise ValueError(f"{where} must be an object")
    schedule_id = raw.get("scheduleId")
    if not isinstance(schedule_id, str) or not schedule_id:
        raise ValueError(f"{where}.scheduleId is required")
    window = TimeWindow(
        start_date=parse_date(raw.get("startDate"), field=f"{where}.startDate"),
        end_date=parse_date(raw.get("endDate"), field=f"{where}.endDate"),
        hours=parse_business_hours(raw.get("itemHours"), field=f"{where}.itemHours"),
    )
    return Schedule(schedule_id=schedule_id, name=str(raw.get("name") or schedule_id), window=window)

