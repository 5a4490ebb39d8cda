"""Money arithmetic for the pricing engine: ``Decimal`` only, one rounding rule.

The rule (docs/pricing.md, "The one rounding rule"): every money amount the
engine *computes* with a multiplication or division (a tax of a line or
charge, a percentage discount or charge, a quantity times a price) is
quantized to 0.01 with ROUND_HALF_UP at the moment it is computed, once, from
unrounded operands. Everything else is a sum or difference of amounts that are
already whole paise, which Decimal does exactly, so totals never drift. That
includes the taxable value of a tax-inclusive price: the price minus its
(rounded) taxes.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import (
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
)

# Paise conversion is shared with payments, so it lives in core; the engine's modules keep one money import.
from kiosk_project.core.money import PAISA as PAISA
from kiosk_project.core.money import from_paise as from_paise
from kiosk_project.core.money import to_paise as to_paise

RUPEE = Decimal("1")
ZERO = Decimal("0.00")
HUNDRED = Decimal(100)

# The arithmetic context the engine runs in, whatever the process-wide context
# is: 28 significant digits (Python's default) is far beyond any bill, and every
# rounding that reaches money goes through an explicit ROUND_HALF_UP quantize.
MONEY_CONTEXT = Context(prec=28, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation, DivisionByZero, Overflow])


def to_decimal(value: object, *, field: str) -> Decimal:
    """A catalog number as a Decimal, or ``ValueError`` naming the field.

    Rista sends JSON numbers (rupees, not paise). Going through ``str()``
    keeps the number the catalog author typed: ``Decimal(2.5)`` is exact but
    ``Decimal(0.1)`` is 0.1000000000000000055..., whereas ``Decimal(str(0.1))``
    is 0.1. Strings and booleans are refused: a catalog that sends either where
    a number belongs is not one we can price from.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        raise ValueError(f"{field} must be a number, got {value!r}")
    number = Decimal(str(value))
    if not number.is_finite():
        raise ValueError(f"{field} must be a finite number, got {value!r}")
    return number


def round_money(amount: Decimal) -> Decimal:
    """Quantize to whole paise, half away from zero (ROUND_HALF_UP)."""
    return amount.quantize(PAISA, rounding=ROUND_HALF_UP)


def percent_of(amount: Decimal, percentage: Decimal) -> Decimal:
    """``round(amount x percentage / 100)``: the only way a percentage becomes money."""
    return round_money(amount * percentage / HUNDRED)


def included_tax_of(price: Decimal, percentage: Decimal, total_percentage: Decimal) -> Decimal:
    """The tax at ``percentage`` inside a price that includes ``total_percentage`` of tax in all.

    ``round(price x percentage / (100 + total_percentage))``: the tax's share of
    the price, rounded once. Two taxes with equal rates on one price are
    therefore always equal (CGST == SGST).
    """
    return round_money(price * percentage / (HUNDRED + total_percentage))


def round_to_rupee(amount: Decimal) -> Decimal:
    """The bill round-off: nearest whole rupee, halves up (324.50 → 325)."""
    return amount.quantize(RUPEE, rounding=ROUND_HALF_UP).quantize(PAISA)


def allocate(total: Decimal, weights: Sequence[Decimal]) -> list[Decimal]:
    """Split ``total`` across ``weights`` in proportion, to the paisa, summing exactly.

    Largest-remainder method in integer paise: each share is first floored,
    then the paise left over go one each to the shares with the largest
    remainders; ties go to the earlier weight, so the result depends only on
    the inputs and their order. With ``0 <= total <= sum(weights)`` no share
    exceeds its weight.
    """
    total_paise = to_paise(total)
    weight_paise = [to_paise(w) for w in weights]
    weight_sum = sum(weight_paise)
    if weight_sum == 0:
        if total_paise != 0:
            raise ValueError("cannot allocate a non-zero amount over zero weights")
        return [ZERO for _ in weights]
    shares = [total_paise * w // weight_sum for w in weight_paise]
    remainders = [total_paise * w % weight_sum for w in weight_paise]
    left_over = total_paise - sum(shares)
    # Largest remainder first; on equal remainders the earlier line wins.
    order = sorted(range(len(weights)), key=lambda i: (-remainders[i], i))
    for i in order[:left_over]:
        shares[i] += 1
    return [from_paise(share) for share in shares]
