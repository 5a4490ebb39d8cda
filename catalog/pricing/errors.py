"""Why a cart cannot be priced, in the project's one error vocabulary.

The codes and the shape of ``details`` are an API contract with the kiosk: each
error lists *every* offending SKU or option at once, so the kiosk can fix the
whole cart in one round trip. The engine checks in a fixed order and raises the
first kind that has problems: unknown SKUs, then unavailable items, then options.
"""

from __future__ import annotations

from typing import Any

from kiosk_project.core.errors import ApplicationError


class ItemNotFound(ApplicationError):
    """SKUs that are not on the menu (or are not sold on their own).

    422 rather than 400: the request is well-formed, but it refers to things
    the current catalog does not have (the kiosk's menu is probably stale).
    ``details = {"skus": ["...", ...]}`` in cart order, each SKU once.
    """

    code = "ITEM_NOT_FOUND"

    def __init__(self, skus: list[str]) -> None:
        super().__init__(f"Unknown item SKU(s): {', '.join(skus)}.", details={"skus": list(skus)})

    def __reduce__(self) -> tuple[Any, ...]:  # picklable/copyable despite the custom signature
        return (type(self), (self.details["skus"],))


class ItemUnavailable(ApplicationError):
    """Items on the menu that cannot be sold right now.

    ``details = {"items": [{"sku", "name", "reason"}]}`` where reason is
    ``inactive`` | ``sold_out`` | ``out_of_schedule``; 409 because the cart
    conflicts with the current state of the menu.
    """

    code = "ITEM_UNAVAILABLE"

    def __init__(self, items: list[dict[str, Any]]) -> None:
        names = ", ".join(f"{item['name']} ({item['reason']})" for item in items)
        super().__init__(f"Not available right now: {names}.", details={"items": list(items)})

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.details["items"],))


class InvalidOptions(ApplicationError):
    """Option choices that the catalog does not allow.

    ``details = {"problems": [{"line", "sku", "code", "message", ...}]}`` with
    code one of ``unknown_option``, ``option_not_allowed``, ``option_sold_out``,
    ``option_quantity_above_max``, ``below_min``, ``above_max`` (see
    docs/pricing.md for the extra keys each carries).
    """

    code = "INVALID_OPTIONS"

    def __init__(self, problems: list[dict[str, Any]]) -> None:
        super().__init__(
            f"{len(problems)} invalid option choice(s).", details={"problems": list(problems)}
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.details["problems"],))
