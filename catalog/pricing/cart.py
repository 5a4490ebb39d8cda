"""What the kiosk asks for: SKUs, quantities, option choices and notes, never prices."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field


def _positive_int(value: object, *, what: str) -> int:
    # The API layer validates and bounds quantities; this only refuses values the
    # engine cannot price at all (a programming error upstream, hence ValueError).
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{what} must be a positive integer, got {value!r}")
    return value


@dataclass(frozen=True, slots=True)
class CartOption:
    option_id: str
    quantity: int = 1  # per unit of the parent item

    def __post_init__(self) -> None:
        object.__setattr__(self, "option_id", str(self.option_id))
        _positive_int(self.quantity, what=f"quantity of option {self.option_id}")


@dataclass(frozen=True, slots=True)
class CartLine:
    sku: str
    quantity: int
    options: tuple[CartOption, ...] = field(default=())
    note: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "sku", str(self.sku))
        object.__setattr__(self, "options", tuple(self.options))
        _positive_int(self.quantity, what=f"quantity of sku {self.sku}")

    def option_key(self) -> tuple[tuple[str, int], ...]:
        """The options as a canonical, order-insensitive key.

        An option id listed twice on one line counts once with the quantities
        added, so ``[A, A]`` and ``[A x2]`` are the same choice.
        """
        totals: dict[str, int] = {}
        for option in self.options:
            totals[option.option_id] = totals.get(option.option_id, 0) + option.quantity
        return tuple(sorted(totals.items()))


@dataclass(frozen=True, slots=True)
class MergedLine:
    """One cart line after merging repeats; ``position`` is where it first appeared."""

    position: int
    sku: str
    quantity: int
    options: tuple[tuple[str, int], ...]  # canonical (option_id, quantity) pairs
    note: str | None


def merge_cart_lines(lines: Iterable[CartLine]) -> list[MergedLine]:
    """Merge lines with the same SKU and the same options (order-insensitive).

    Quantities add up; distinct non-empty notes are joined with "; " in the
    order they came. The merged line keeps the place of its first occurrence,
    so the quote's line order is the cart's order.
    """
    merged: dict[tuple[str, tuple[tuple[str, int], ...]], tuple[int, int, list[str]]] = {}
    for position, line in enumerate(lines):
        if not isinstance(line, CartLine):
            raise TypeError(f"cart lines must be CartLine, got {type(line).__name__}")
        key = (line.sku, line.option_key())
        first, quantity, notes = merged.get(key, (position, 0, []))
        note = (line.note or "").strip()
        if note and note not in notes:
            notes.append(note)
        merged[key] = (first, quantity + line.quantity, notes)
    return [
        MergedLine(position=first, sku=sku, quantity=quantity, options=options,
                   note="; ".join(notes) or None)
        for (sku, options), (first, quantity, notes) in merged.items()
    ]
