"""Taxes of one taxable amount (a line or a charge), exclusive or inclusive.

Exclusive (the price excludes tax): each tax is ``round(base x pct / 100)`` and
is added on top; ``net = base``.

Inclusive (the price already contains every tax of the item): with ``T`` the
sum of the percentages, each tax is its share of the price,
``round(base x pct / (100 + T))``, and the taxable value is what is left,
``net = base - Σ taxes``. So the customer pays exactly the menu price, taxes
with equal rates are always equal (an Indian GST invoice shows CGST == SGST),
and the paisa that rounding leaves over belongs to the taxable value, never to
one of the taxes. Each tax is still within one paisa of ``round(net x pct / 100)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from catalog.pricing.models import TaxType
from catalog.pricing.money import ZERO, included_tax_of, percent_of
from catalog.pricing.quote import LineTax


def compute_taxes(base: Decimal, tax_types: Sequence[TaxType], *,
                  included: bool) -> tuple[Decimal, tuple[LineTax, ...]]:
    """``(net, taxes)`` for ``base``; inclusive: ``net + Σ taxes == base``, exclusive: ``net == base``."""
    if not included:
        return base, tuple(
            LineTax(tax_type_id=t.tax_type_id, name=t.name, percentage=t.percentage, taxable_amount=base,
                    amount=percent_of(base, t.percentage), included=False)
            for t in tax_types
        )
    total_percentage = sum((t.percentage for t in tax_types), Decimal(0))
    amounts = [included_tax_of(base, t.percentage, total_percentage) for t in tax_types]
    net = base - sum(amounts, ZERO)
    if net < 0:
        # Only possible with a total rate far above 100%, which no GST schedule has.
        raise ValueError(f"taxes of {total_percentage}% exceed the tax-inclusive price {base}")
    return net, tuple(
        LineTax(tax_type_id=t.tax_type_id, name=t.name, percentage=t.percentage, taxable_amount=net,
                amount=amount, included=True)
        for t, amount in zip(tax_types, amounts, strict=True)
    )
