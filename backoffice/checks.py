"""System checks: bills that would not be valid tax invoices are caught at start-up, not at the till."""

from __future__ import annotations

from typing import Any

from django.core import checks

from kiosk_project.core.branches import branch_defaults
from orders.seller import GSTIN_PATTERN, INVOICE_PREFIX_PATTERN, seller_of


def check_seller_settings(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    # The settings (the defaults of every branch's blank fields); a branch's own values are validated
    # by its admin form and create_branch. No database at start-up.
    seller = seller_of(branch_defaults())
    found: list[checks.CheckMessage] = []
    if seller.gstin and not GSTIN_PATTERN.match(seller.gstin):
        found.append(checks.Error(f"RESTAURANT_GSTIN {seller.gstin!r} is not a valid GSTIN (15 characters, "
                                  "e.g. 29AABCD1234E1Z5)", id="backoffice.E001"))
    if not INVOICE_PREFIX_PATTERN.match(seller.invoice_prefix):
        found.append(checks.Error(f"invoice prefix {seller.invoice_prefix!r} must be 1-4 letters or digits: set "
                                  "INVOICE_PREFIX (GST invoice numbers may not exceed 16 characters)",
                                  id="backoffice.E002"))
    if not seller.can_issue_tax_invoice:
        found.append(checks.Warning("RESTAURANT_LEGAL_NAME, RESTAURANT_ADDRESS and RESTAURANT_GSTIN are not all "
                                    "set: printed bills will lack what a GST tax invoice must show",
                                    id="backoffice.W001"))
    return found
