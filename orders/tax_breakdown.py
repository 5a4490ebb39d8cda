"""The GST breakdown of stored orders: taxable value and each tax, per rate, plus what is not taxed.

A GST invoice (and the day's takings) shows, for each rate, the value the tax
was charged on and the CGST and SGST on it. The order-level tax summary cannot
say that on its own: a charge with no tax (the packaging charge, "PC") is in
`total_amount_exclude_tax` but in no rate's taxable value. So the breakdown is
built from what was taxed, line by line and charge by charge, from the stored
snapshot (never today's catalog), and adds up exactly:

    Σ taxable value + not taxed == total_amount_exclude_tax
    Σ every tax amount         == tax_total
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from orders.models import Order, OrderLine

ZERO = Decimal("0.00")


@dataclass
class RateRow:
    """One set of taxes charged together, e.g. CGST 2.5% + SGST 2.5% (GST 5%)."""

    taxes: tuple[tuple[str, Decimal], ...]  # (name, percentage), in the order they were charged
    taxable: Decimal = ZERO
    amounts: dict[str, Decimal] = field(default_factory=dict)  # tax name -> amount

    @property
    def rate(self) -> Decimal:
        return sum((pct for _, pct in self.taxes), Decimal(0))

    @property
    def label(self) -> str:
        names = {name.upper() for name, _ in self.taxes}
        if names == {"CGST", "SGST"}:
            return f"GST {self.rate.normalize():f}%"
        return " + ".join(f"{name} {pct.normalize():f}%" for name, pct in self.taxes)

    @property
    def tax_total(self) -> Decimal:
        return sum(self.amounts.values(), ZERO)

    def tax_lines(self) -> list[dict[str, Any]]:
        return [{"name": name, "percentage": pct, "amount": self.amounts.get(name, ZERO)} for name, pct in self.taxes]


@dataclass
class TaxBreakdown:
    rows: list[RateRow]
    not_taxed: Decimal
    not_taxed_names: list[str]

    @property
    def taxable_total(self) -> Decimal:
        return sum((row.taxable for row in self.rows), ZERO)

    @property
    def tax_total(self) -> Decimal:
        return sum((row.tax_total for row in self.rows), ZERO)

    def by_tax(self) -> dict[tuple[str, Decimal], Decimal]:
        """(tax name, percentage) -> amount, e.g. ("CGST", 2.5) -> 7.25."""
        result: dict[tuple[str, Decimal], Decimal] = {}
        for row in self.rows:
            for name, pct in row.taxes:
                result[(name, pct)] = result.get((name, pct), ZERO) + row.amounts.get(name, ZERO)
        return result


class _Builder:
    def __init__(self) -> None:
        self.rows: dict[tuple[tuple[str, Decimal], ...], RateRow] = {}
        self.not_taxed = ZERO
        self.not_taxed_names: list[str] = []

    def add(self, *, net: Decimal, taxes: list[dict[str, Any]], name: str) -> None:
        charged = [t for t in taxes if Decimal(str(t.get("percentage", 0))) > 0 or Decimal(str(t.get("amount", 0)))]
        if not charged:
            self.not_taxed += net
            if name not in self.not_taxed_names:
                self.not_taxed_names.append(name)
            return
        key = tuple((str(t["name"]), Decimal(str(t["percentage"])).normalize()) for t in charged)
        row = self.rows.setdefault(key, RateRow(taxes=key))
        # Every tax of one line is charged on the same amount (net of tax); take it once.
        row.taxable += Decimal(str(charged[0].get("taxable_amount", net)))
        for tax in charged:
            row.amounts[str(tax["name"])] = row.amounts.get(str(tax["name"]), ZERO) + Decimal(str(tax["amount"]))

    def result(self) -> TaxBreakdown:
        rows = sorted(self.rows.values(), key=lambda r: (r.rate, r.label))
        return TaxBreakdown(rows=rows, not_taxed=self.not_taxed, not_taxed_names=self.not_taxed_names)


def _feed(builder: _Builder, order: Order, lines: Iterable[OrderLine]) -> None:
    for line in lines:
        builder.add(net=line.net_amount, taxes=list(line.taxes or []), name=line.name)
    for charge in (order.pricing or {}).get("charges", []):
        builder.add(net=Decimal(str(charge["amount"])), taxes=list(charge.get("taxes") or []),
                    name=str(charge.get("name") or "charge"))


def tax_breakdown(order: Order, lines: Iterable[OrderLine] | None = None) -> TaxBreakdown:
    """The breakdown of one order (pass `lines` when they are already loaded)."""
    builder = _Builder()
    _feed(builder, order, order.lines.all() if lines is None else lines)
    return builder.result()


def tax_breakdown_of_orders(orders: Iterable[Order]) -> TaxBreakdown:
    """The breakdown of many orders together; their lines should be prefetched (`prefetch_related("lines")`)."""
    builder = _Builder()
    for order in orders:
        _feed(builder, order, order.lines.all())
    return builder.result()
