"""The pricing engine: a kiosk cart priced from the Rista catalog, exact to the paisa.

Pure Python (no Django), so it can be used and tested without settings. Rules
and worked examples: docs/pricing.md. Typical use::

    index = CatalogIndex.from_document(catalog_document)   # once per catalog version
    quote = quote_cart(index=index, lines=[CartLine(sku="1", quantity=2)],
                       charge_mode="Pickup", now=branch_now)
    quote.total_amount_include_tax
"""

from catalog.pricing.cart import CartLine, CartOption
from catalog.pricing.engine import quote_cart
from catalog.pricing.errors import InvalidOptions, ItemNotFound, ItemUnavailable
from catalog.pricing.index import (
    REASON_INACTIVE,
    REASON_OUT_OF_SCHEDULE,
    REASON_SOLD_OUT,
    SOLD_OUT_KEY,
    CatalogIndex,
    validate_catalog_document,
)
from catalog.pricing.quote import (
    AppliedDiscount,
    LineDiscount,
    LineTax,
    Quote,
    QuoteCharge,
    QuoteLine,
    QuoteOption,
    TaxSummary,
)

__all__ = [
    "REASON_INACTIVE",
    "REASON_OUT_OF_SCHEDULE",
    "REASON_SOLD_OUT",
    "SOLD_OUT_KEY",
    "AppliedDiscount",
    "CartLine",
    "CartOption",
    "CatalogIndex",
    "InvalidOptions",
    "ItemNotFound",
    "ItemUnavailable",
    "LineDiscount",
    "LineTax",
    "Quote",
    "QuoteCharge",
    "QuoteLine",
    "QuoteOption",
    "TaxSummary",
    "quote_cart",
    "validate_catalog_document",
]
