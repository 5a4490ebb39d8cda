"""Who is selling: the legal details a GST tax invoice must carry, read through one function.

They come from the branch's row (kiosk_project.core.branches); a blank field is
the deployment's setting (RESTAURANT_LEGAL_NAME, RESTAURANT_ADDRESS,
RESTAURANT_GSTIN, INVOICE_PREFIX for its own branch, ...).
"""

from __future__ import annotations

from dataclasses import dataclass

from kiosk_project.core.branch_rules import GSTIN_PATTERN, INVOICE_PREFIX_PATTERN
from kiosk_project.core.branches import BranchConfig, branch_config

__all__ = ["GSTIN_PATTERN", "INVOICE_PREFIX_PATTERN", "Seller", "seller_for", "seller_of"]


@dataclass(frozen=True)
class Seller:
    legal_name: str
    trade_name: str
    address: str
    gstin: str
    fssai: str
    phone: str
    invoice_prefix: str

    @property
    def address_lines(self) -> list[str]:
        """Lines of the address as printed: RESTAURANT_ADDRESS separated by newlines or " | "."""
        return [part.strip() for part in self.address.replace(" | ", "\n").splitlines() if part.strip()]

    @property
    def can_issue_tax_invoice(self) -> bool:
        return bool(self.legal_name and self.address and GSTIN_PATTERN.match(self.gstin))


def seller_for(branch_code: str) -> Seller:
    """The seller of an order placed at `branch_code`."""
    return seller_of(branch_config(branch_code))


def seller_of(branch: BranchConfig) -> Seller:
    return Seller(legal_name=branch.legal_name, trade_name=branch.trade_name, address=branch.address,
                  gstin=branch.gstin, fssai=branch.fssai, phone=branch.phone, invoice_prefix=branch.invoice_prefix)
