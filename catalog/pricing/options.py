"""Option choices (add-ons, variants of preparation): validate against the item's option sets, price them.

Rista option sets (protocols.md §2.2): an item lists its sets in
``optionSetIds``; a set allows between ``min`` (absent = 0) and ``max``
(absent = no limit) selections, counted as the sum of the chosen options'
quantities; each option may be chosen up to its own ``max`` times (default 1)
per unit of the item. Options are priced per unit of the item: an option at
Rs 15 chosen twice on a line of 3 items adds 15 x 2 x 3 = 90.

Defaults (``isDefault``) are a screen concern: the kiosk pre-selects them and
sends them like any choice; the engine never adds options nobody sent.
"""

from __future__ import annotations

from typing import Any

from catalog.pricing.cart import MergedLine
from catalog.pricing.index import CatalogIndex
from catalog.pricing.models import CatalogItem, OptionChoice, OptionSet
from catalog.pricing.money import round_money
from catalog.pricing.quote import QuoteOption


def resolve_options(index: CatalogIndex, item: CatalogItem, line: MergedLine,
                    problems: list[dict[str, Any]]) -> tuple[QuoteOption, ...]:
    """The line's options priced, in menu order; appends every problem found to ``problems``."""
    sets = [index.option_sets[set_id] for set_id in item.option_set_ids]
    selected = {option_set.option_set_id: 0 for option_set in sets}
    chosen: list[tuple[tuple[int, int], QuoteOption]] = []

    def problem(code: str, message: str, **extra: Any) -> None:
        problems.append({"line": line.position, "sku": line.sku, "code": code, "message": message, **extra})

    for option_id, quantity in line.options:
        located = _locate(sets, option_id)
        if located is None:
            if index.option(option_id) is None:
                problem("unknown_option", f"Option {option_id} does not exist.", option_id=option_id)
            else:
                problem("option_not_allowed", f"Option {option_id} cannot be chosen for {item.name}.",
                        option_id=option_id)
            continue
        menu_position, choice = located
        if quantity > choice.max_quantity:
            problem("option_quantity_above_max",
                    f"{choice.name} can be chosen at most {choice.max_quantity} time(s) per item.",
                    option_id=option_id, option_set_id=choice.option_set_id,
                    quantity=quantity, max=choice.max_quantity)
        if _sold_out(index, choice):
            problem("option_sold_out", f"{choice.name} is sold out.", option_id=option_id,
                    option_set_id=choice.option_set_id)
        selected[choice.option_set_id] += quantity
        chosen.append((menu_position, QuoteOption(
            option_id=choice.option_id,
            option_set_id=choice.option_set_id,
            name=choice.name,
            sku=index.option_sku(choice),
            unit_price=choice.price,
            quantity=quantity,
            total_quantity=quantity * line.quantity,
            amount=round_money(choice.price * quantity * line.quantity),
        )))

    for option_set in sets:
        count = selected[option_set.option_set_id]
        if count < option_set.min_selections:
            problem("below_min", f"Choose at least {option_set.min_selections} in {option_set.name}.",
                    option_set_id=option_set.option_set_id, min=option_set.min_selections, selected=count)
        if option_set.max_selections is not None and count > option_set.max_selections:
            problem("above_max", f"Choose at most {option_set.max_selections} in {option_set.name}.",
                    option_set_id=option_set.option_set_id, max=option_set.max_selections, selected=count)
    return tuple(option for _, option in sorted(chosen, key=lambda pair: pair[0]))


def _locate(sets: list[OptionSet], option_id: str) -> tuple[tuple[int, int], OptionChoice] | None:
    """The option in the item's first set that offers it, with its (set, option) menu position."""
    for set_position, option_set in enumerate(sets):
        for option_position, choice in enumerate(option_set.options):
            if choice.option_id == option_id:
                return (set_position, option_position), choice
    return None


def _sold_out(index: CatalogIndex, choice: OptionChoice) -> bool:
    # An option that is itself a menu item (Rista itemId) is out when that item's SKU is sold out.
    referenced = index.item_by_id(choice.item_id) if choice.item_id else None
    return referenced is not None and referenced.sku in index.sold_out_skus
