"""Who is selling: the legal details a GST tax invoice must carry, read through one function.

Today they come from settings (RESTAURANT_LEGAL_NAME, RESTAURANT_ADDRESS,
RESTAURANT_GSTIN, ...), one set for the whole deployment. When branches become
data, `seller_for` reads the branch's own row instead; nothing else changes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.conf import settings

# 2-digit state code, 10-character PAN, entity number, "Z", check character.
GSTIN_PATTERN = re.compile(r"^[0-9]{2}[A-Z]{5}[0-9]{4}[A-Z][1-9A-Z]Z[0-9A-Z]$")
# At most 4 characters: "BLR1/2526/999999" is 16, the GST limit, with room for a million invoices a year.
INVOICE_PREFIX_PATTERN = re.compile(r"^[A-Za-z0-9]{1,4}$")


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
    """The seller of an order placed at `branch_code` (one seller per deployment for now)."""
    return Seller(
        legal_name=settings.RESTAURANT_LEGAL_NAME,
        trade_name=settings.RESTAURANT_TRADE_NAME,
        address=settings.RESTAURANT_ADDRESS,
        gstin=settings.RESTAURANT_GSTIN.upper(),
        fssai=settings.RESTAURANT_FSSAI,
        phone=settings.RESTAURANT_PHONE,
        invoice_prefix=settings.INVOICE_PREFIX or branch_code,
    )
