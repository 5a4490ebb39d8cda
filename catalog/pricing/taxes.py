"""Taxes of one taxable amount (a line or a charge), exclusive or inclusive.

Exclusive (the price excludes tax): each tax is ``round(base x pct / 100)`` and
is added on top; ``net = base``.

Inclusive (the price already contains every tax of the item): with ``T`` the
sum of the percentages, ``net = round(base x 100 / (100 + T))`` and each tax is
``round(net x pct / 100)``. Rounding each part separately can leave the parts a
paisa off the price, so the residual ``base - net - Σ taxes`` goes to the LAST
tax type (the later of CGST/SGST): the customer pays exactly the menu price and
CGST and SGST differ by at most a paisa. With three or more tax types the
residual can reach two paise; it is then spread one paisa per tax type, from
the last backwards, so no tax moves more than one paisa from its own formula.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from catalog.pricing.models import TaxType
from catalog.pricing.money import HUNDRED, PAISA, ZERO, percent_of, round_money, to_paise
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
    net = round_money(base * HUNDRED / (HUNDRED + total_percentage))
    amounts = [percent_of(net, t.percentage) for t in tax_types]
    net = _absorb_residual(base, net, amounts, tax_types)
    return net, tuple(
        LineTax(tax_type_id=t.tax_type_id, name=t.name, percentage=t.percentage, taxable_amount=net,
                amount=amount, included=True)
        for t, amount in zip(tax_types, amounts, strict=True)
    )


def _absorb_residual(base: Decimal, net: Decimal, amounts: list[Decimal],
                     tax_types: Sequence[TaxType]) -> Decimal:
    """Move ``base - net - Σ amounts`` into the taxes (last first), one paisa each; return net."""
    residual = to_paise(base - net - sum(amounts, ZERO))
    # Only a tax that has a rate may absorb it: a 0% tax with a paisa in it would be nonsense.
    order = [i for i in reversed(range(len(tax_types))) if tax_types[i].percentage > 0]
    step = PAISA if residual > 0 else -PAISA
    while residual != 0 and order:
        moved = False
        for i in order:
            if residual == 0:
                break
            if step < 0 and amounts[i] <= 0:
                continue  # never push a tax below zero
            amounts[i] += step
            residual += -1 if step > 0 else 1
            moved = True
        if not moved:
            break
    # Unreachable with real rates (net rounds from below base/(1+t), so it never
    # overshoots base), but keep the invariant net + Σ taxes == base regardless.
    return net + residual * PAISA
