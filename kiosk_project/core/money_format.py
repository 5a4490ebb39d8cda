"""Rupees as people in India read them: Indian digit grouping (1,23,456.50), always two decimals.

One function for every page and document, so a bill, a report and the order
screen never disagree about how an amount looks.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

RUPEE = "\u20b9"
PAISA = Decimal("0.01")


def group_indian(whole: int) -> str:
    """12345678 -> "1,23,45,678": the last three digits, then groups of two."""
    digits = str(whole)
    if len(digits) <= 3:
        return digits
    head, tail = digits[:-3], digits[-3:]
    pairs: list[str] = []
    while len(head) > 2:
        pairs.insert(0, head[-2:])
        head = head[:-2]
    if head:
        pairs.insert(0, head)
    return ",".join(pairs) + "," + tail


def amount(value: Any) -> str:
    """An amount without the sign: Decimal("123456.5") -> "1,23,456.50"; None or junk -> ""."""
    if value is None or value == "":
        return ""
    try:
        number = Decimal(str(value)).quantize(PAISA, rounding=ROUND_HALF_UP)
    except (InvalidOperation, ValueError):
        return ""
    sign = "-" if number < 0 else ""
    whole, _, paise = f"{abs(number):.2f}".partition(".")
    return f"{sign}{group_indian(int(whole))}.{paise}"


def rupees(value: Any) -> str:
    """With the rupee sign: "₹1,23,456.50" (a minus goes before the sign: "-₹20.00")."""
    text = amount(value)
    if not text:
        return ""
    return f"-{RUPEE}{text[1:]}" if text.startswith("-") else f"{RUPEE}{text}"
