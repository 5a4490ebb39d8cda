"""One search box: an order by number (today's first), merchant reference, UTR, amount or id."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db.models import Case, IntegerField, Q, QuerySet, Value, When

from backoffice.access import orders_visible_to
from backoffice.selectors import today
from orders.models import Order
from payments.models import Payment, Refund

_NUMBER = re.compile(r"^(?P<prefix>[A-Za-z]{0,4})\s*-?\s*(?P<digits>\d{1,6})$")
_AMOUNT = re.compile(r"^(?:rs\.?|inr|\u20b9)?\s*(?P<value>\d{1,9}(?:,\d{2,3})*(?:\.\d{1,2})?)$", re.IGNORECASE)


@dataclass(frozen=True)
class SearchResult:
    orders: QuerySet[Order]
    jump_to: Order | None  # the one order the query clearly means: open it directly
    matched_on: str  # "number", "reference", "amount", "id" or ""


def _amount(text: str) -> Decimal | None:
    match = _AMOUNT.match(text)
    if not match or ("." not in text and not text.lower().startswith(("rs", "inr", "\u20b9"))):
        return None  # a bare integer is an order number, not an amount
    try:
        return Decimal(match["value"].replace(",", ""))
    except InvalidOperation:
        return None


def with_today_first(orders: QuerySet[Order]) -> QuerySet[Order]:
    """Annotate `is_today` (0 for today's business day, else 1): order by it to put today first."""
    return orders.annotate(is_today=Case(When(business_day=today(), then=Value(0)), default=Value(1),
                                         output_field=IntegerField()))


def _today_first(orders: QuerySet[Order]) -> QuerySet[Order]:
    return with_today_first(orders).order_by("is_today", "-created_at")  # type: ignore[misc]  # annotated above


def order_search(*, user: Any, query: str) -> SearchResult:
    visible = orders_visible_to(user)
    text = query.strip()
    if not text:
        return SearchResult(orders=visible, jump_to=None, matched_on="")
    try:
        order_id = uuid.UUID(text)
    except ValueError:
        pass
    else:
        found = visible.filter(pk=order_id)
        return SearchResult(orders=found, jump_to=found.first(), matched_on="id")

    number = _NUMBER.match(text)
    if number:
        prefix = re.escape(number["prefix"]) if number["prefix"] else "[A-Za-z]*"  # "42" matches K042 and T042
        pattern = rf"^{prefix}0*{int(number['digits'])}$"
        found = _today_first(visible.filter(order_number__iregex=pattern))
        todays = [o for o in found[:2] if o.business_day == today()]
        if found.exists():
            jump = todays[0] if len(todays) == 1 else (found.first() if found.count() == 1 else None)
            return SearchResult(orders=found, jump_to=jump, matched_on="number")

    amount = _amount(text)
    if amount is not None:
        found = _today_first(visible.filter(total_amount_include_tax=amount))
        return SearchResult(orders=found, jump_to=found.first() if found.count() == 1 else None,
                            matched_on="amount")

    # Payment references: our merchant reference, PhonePe's ids, the UPI UTR (also of a refund).
    reference = Q(merchant_reference__iexact=text) | Q(provider_order_id__iexact=text) | Q(utr__iexact=text) \
        | Q(provider_txn_id__iexact=text)
    by_payment = Payment.objects.filter(reference).values("order_id")
    by_refund = Refund.objects.filter(Q(merchant_refund_id__iexact=text) | Q(utr__iexact=text)).values(
        "payment__order_id")
    found = _today_first(visible.filter(Q(pk__in=by_payment) | Q(pk__in=by_refund)))
    if found.exists():
        return SearchResult(orders=found, jump_to=found.first() if found.count() == 1 else None,
                            matched_on="reference")
    # Last resort: part of an order number or reference.
    partial = visible.filter(Q(order_number__icontains=text) | Q(
        pk__in=Payment.objects.filter(Q(merchant_reference__icontains=text) | Q(utr__icontains=text))
        .values("order_id")))
    return SearchResult(orders=_today_first(partial), jump_to=None, matched_on="")
