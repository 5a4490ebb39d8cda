"""The Rista sandbox's mutable world: its branches (each with a catalog, channels, sold-out
marks, sales and invoice numbering) and the counters shared by all of them.

Every method takes `self.lock`, because the HTTP server answers each request on its own
thread. Nothing here does network I/O, so the lock is never held while waiting on a socket.
"""

from __future__ import annotations

import copy
import json
import re
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sandbox.httpkit import HttpError
from sandbox.rista import sales as sale_rules
from sandbox.rista.faults import ROUTE_KINDS

DEFAULT_CATALOG = Path(__file__).resolve().parent / "data" / "catalog.json"
CHANNELS = ("Takeaway", "Dine In")
# Branch codes end up in URLs, query strings and invoice numbers: keep them plain.
BRANCH_CODE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


def load_catalog(path: str | Path | None) -> dict[str, Any]:
    with open(path or DEFAULT_CATALOG, encoding="utf-8") as fh:
        doc = json.load(fh)
    check_catalog(doc)
    return doc


def check_catalog(doc: Any) -> None:
    """The minimum the sandbox relies on: an object whose items each have a skuCode."""
    if not isinstance(doc, dict) or not isinstance(doc.get("items"), list):
        raise HttpError(400, {"message": "a catalog must be a JSON object with an 'items' list"})
    if not all(isinstance(i, dict) and isinstance(i.get("skuCode"), str) for i in doc["items"]):
        raise HttpError(400, {"message": "every catalog item needs a string 'skuCode'"})


@dataclass(frozen=True)
class BranchConfig:
    """How one branch is set up: its code, its catalog file (None: the sample) and channels."""

    code: str
    catalog_path: str | Path | None = None
    channels: tuple[str, ...] = CHANNELS


def branch_codes(value: str | Iterable[str]) -> list[str]:
    """`"BLR01,MYS01"` or `["BLR01", "MYS01"]` -> the codes; ValueError when empty, odd or repeated."""
    raw = value.split(",") if isinstance(value, str) else list(value)
    codes = [c.strip() for c in raw if c.strip()]
    if not codes:
        raise ValueError("at least one branch code is needed")
    for code in codes:
        if not BRANCH_CODE.match(code):
            raise ValueError(f"branch code {code!r}: use 1-32 letters, digits, '-' or '_'")
    if len(set(codes)) != len(codes):
        raise ValueError(f"branch codes repeat: {', '.join(codes)}")
    return codes


def branch_configs(
    branch: str | Iterable[str],
    catalog_path: str | Path | None = None,
    branch_catalogs: Mapping[str, str | Path] | None = None,
    branch_channels: Mapping[str, Sequence[str]] | None = None,
) -> list[BranchConfig]:
    """The constructor's and CLI's arguments as one BranchConfig per branch.

    `catalog_path` applies to every branch that `branch_catalogs` does not name.
    """
    codes = branch_codes(branch)
    for option, mapping in (("branch_catalogs", branch_catalogs), ("branch_channels", branch_channels)):
        unknown = sorted(set(mapping or {}) - set(codes))
        if unknown:
            raise ValueError(f"{option} names branches the sandbox does not serve: {', '.join(unknown)}")
    configs = []
    for code in codes:
        channels = tuple((branch_channels or {}).get(code, CHANNELS))
        if not channels or len(set(channels)) != len(channels) or not all(c.strip() for c in channels):
            raise ValueError(f"branch {code}: channels must be distinct non-empty names")
        configs.append(BranchConfig(code, (branch_catalogs or {}).get(code, catalog_path), channels))
    return configs


class Branch:
    """One branch's world. Not locked by itself: RistaState's lock guards every branch."""

    def __init__(self, config: BranchConfig, invoice_start: int) -> None:
        self.code = config.code
        self.channels = config.channels
        self._pristine = load_catalog(config.catalog_path)
        # Invoice numbers keep counting across reset(): a client database that outlives a
        # reset must never see the same invoiceNumber twice.
        self.invoice_seq = invoice_start - 1
        self.clear()

    def clear(self) -> None:
        self.catalog: dict[str, Any] = copy.deepcopy(self._pristine)
        self.sold_out: set[str] = set()
        self.sales: dict[str, dict[str, Any]] = {}  # invoiceNumber -> stored sale (insertion order)
        self.by_txn: dict[str, str] = {}  # orderTransactionId -> invoiceNumber
        self.order_seq = 0

    @property
    def name(self) -> str:
        return f"Sandbox Branch {self.code}"

    @property
    def outlet_id(self) -> str:
        return f"sandbox-outlet-{self.code}"

    def info(self) -> dict[str, Any]:
        """The branch as GET /v1/branch/list lists it."""
        return {
            "branchName": self.name,
            "branchCode": self.code,
            "businessName": "Sandbox Restaurant",
            "status": "Active",
            "channels": [{"name": c} for c in self.channels],
        }

    def item(self, sku: str) -> dict[str, Any]:
        item = next((i for i in self.catalog["items"] if i["skuCode"] == sku), None)
        if item is None:
            raise HttpError(404, {"message": f"no item with skuCode {sku!r} in branch {self.code}"})
        return item


class RistaState:
    def __init__(self, branches: Sequence[BranchConfig], invoice_start: int = 1) -> None:
        if not branches:
            raise ValueError("the sandbox needs at least one branch")
        self.lock = threading.RLock()
        self._branches = {b.code: Branch(b, invoice_start) for b in branches}
        self.default_branch = branches[0].code
        self.generation = 0
        self._clear()

    # -- lifecycle ----------------------------------------------------------

    def _clear(self) -> None:
        for branch in self._branches.values():
            branch.clear()
        self._invoices: dict[str, str] = {}  # invoiceNumber -> branch code, across branches
        self.requests = dict.fromkeys(ROUTE_KINDS, 0)
        self.auth_failed = 0
        self.sale_duplicates = 0
        self.faults_served = 0
        # Merge a repeated orderTransactionId into the sale it created (sandbox-only; Rista documents
        # no such dedupe). Tests switch it off so that a second POST shows up as a second sale.
        self.dedupe_sales = True
        self.callbacks: list[dict[str, Any]] = []
        self.webhooks: list[dict[str, Any]] = []

    def reset(self) -> None:
        """Every branch back to its pristine catalog with no sales; zero counters.

        Bumping `generation` lets work that was sleeping across the reset (a
        `timeout` fault, a delayed callback) notice and abandon itself instead
        of leaking into the next test.
        """
        with self.lock:
            self._clear()
            self.generation += 1

    # -- branches -----------------------------------------------------------

    @property
    def branch_codes(self) -> list[str]:
        return list(self._branches)

    def has_branch(self, code: str) -> bool:
        return code in self._branches

    def channels(self, code: str | None = None) -> tuple[str, ...]:
        return self._branch(code).channels

    def branch_list(self) -> list[dict[str, Any]]:
        return [b.info() for b in self._branches.values()]

    def branch_info(self, code: str | None = None) -> dict[str, Any]:
        return self._branch(code).info()

    def outlet_id(self, code: str | None = None) -> str:
        return self._branch(code).outlet_id

    def _branch(self, code: str | None) -> Branch:
        """The named branch (the first one when None); 404 naming the known ones otherwise."""
        branch = self._branches.get(self.default_branch if code is None else code)
        if branch is None:
            known = ", ".join(self._branches)
            raise HttpError(404, {"message": f"unknown branch {code!r} (this sandbox serves {known})"})
        return branch

    # -- catalog ------------------------------------------------------------

    def catalog_bytes(self, code: str | None = None) -> bytes:
        # Serialised under the lock: a control call may be mutating the dict.
        # Keys sorted because live Rista responses come back that way.
        with self.lock:
            return json.dumps(self._branch(code).catalog, sort_keys=True).encode()

    def catalog_copy(self, code: str | None = None) -> dict[str, Any]:
        with self.lock:
            return copy.deepcopy(self._branch(code).catalog)

    def catalog_replace(self, doc: Any, code: str | None = None) -> int:
        """Replace a branch's catalog; returns its item count."""
        check_catalog(doc)
        with self.lock:
            branch = self._branch(code)
            branch.catalog = copy.deepcopy(doc)
            branch.sold_out &= {i["skuCode"] for i in branch.catalog["items"]}
            return len(branch.catalog["items"])

    def sold_out_items(self, code: str | None = None) -> list[dict[str, str]]:
        with self.lock:
            branch = self._branch(code)
            return [
                {"shortName": i.get("itemName", ""), "longName": i.get("itemName", ""), "skuCode": i["skuCode"]}
                for i in branch.catalog["items"]
                if i["skuCode"] in branch.sold_out
            ]

    def item_update(self, sku: str, changes: dict[str, Any], code: str | None = None) -> dict[str, Any]:
        """Apply validated {price, status, soldOut, name} changes; 404 for an unknown sku.

        Returns the item as the catalog now has it, plus a `soldOut` flag
        (sold-out state lives apart from the catalog, as it does in Rista).
        """
        with self.lock:
            branch = self._branch(code)
            item = branch.item(sku)
            if "price" in changes:
                item["price"] = changes["price"]
            if "status" in changes:
                item["status"] = changes["status"]
            if "name" in changes:
                item["itemName"] = changes["name"]
            if "soldOut" in changes:
                (branch.sold_out.add if changes["soldOut"] else branch.sold_out.discard)(sku)
            return {**copy.deepcopy(item), "soldOut": sku in branch.sold_out}

    # -- sales --------------------------------------------------------------

    def sale_create(self, body: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """Store a validated PostSale in its branch; returns (public Sale, created).

        Dedupe and insert happen under one lock so two concurrent POSTs of the
        same orderTransactionId cannot both create a sale. Each branch numbers its
        own invoices (`BLR01-000001`) and orders, as each Rista outlet does.
        """
        txn = sale_rules.transaction_id(body)
        with self.lock:
            branch = self._branch(body["branchCode"])
            if txn is not None and txn in branch.by_txn and self.dedupe_sales:
                sale = branch.sales[branch.by_txn[txn]]
                sale["_duplicates"] += 1
                self.sale_duplicates += 1
                return sale_rules.public_view(sale), False
            branch.invoice_seq += 1
            branch.order_seq += 1
            invoice = f"{branch.code}-{branch.invoice_seq:06d}"
            sale = sale_rules.build_sale(body, invoice, str(branch.order_seq), time.time())
            branch.sales[invoice] = sale
            self._invoices[invoice] = branch.code
            if txn is not None:
                branch.by_txn.setdefault(txn, invoice)  # a lookup finds the first sale stored
            return sale_rules.public_view(sale), True

    def set_dedupe(self, enabled: bool) -> None:
        with self.lock:
            self.dedupe_sales = enabled

    def _stored_sale(self, invoice: str) -> dict[str, Any] | None:
        code = self._invoices.get(invoice)
        return None if code is None else self._branches[code].sales[invoice]

    def sale_public(
        self, invoice: str | None = None, txn: str | None = None, branch: str | None = None
    ) -> dict[str, Any] | None:
        """One sale by invoiceNumber or orderTransactionId, optionally only within `branch`."""
        with self.lock:
            matches = self.sales_matching(branch=branch, invoice=invoice, txn=txn)
            return sale_rules.public_view(matches[0]) if matches else None

    def sale_set_status(self, invoice: str, status: str) -> dict[str, Any]:
        """Apply a status event and return a deep copy of the stored sale after it; 404 if unknown."""
        with self.lock:
            sale = self._stored_sale(invoice)
            if sale is None:
                raise HttpError(404, {"message": f"no sale with invoiceNumber {invoice!r}"})
            sale_rules.apply_status(sale, status, time.time())
            return copy.deepcopy(sale)

    def sales_matching(
        self,
        branch: str | None = None,
        invoice: str | None = None,
        txn: str | None = None,
        source_invoice: str | None = None,
    ) -> list[dict[str, Any]]:
        """Stored sales (not copies: call under the lock) of every branch, or of `branch`,
        that match each filter given, oldest first."""
        with self.lock:
            branches = [self._branch(branch)] if branch is not None else self._branches.values()
            found = [
                sale
                for b in branches
                for sale in b.sales.values()
                if (invoice is None or sale["invoiceNumber"] == invoice)
                and (txn is None or sale["sourceInfo"].get("orderTransactionId") == txn)
                and (source_invoice is None or sale["sourceInfo"].get("invoiceNumber") == source_invoice)
            ]
            return sorted(found, key=lambda s: s["_receivedAt"])

    def sales_list(self, **filters: str | None) -> list[dict[str, Any]]:
        """Deep copies of the sales `sales_matching(**filters)` finds, with sandbox keys."""
        with self.lock:
            return copy.deepcopy(self.sales_matching(**filters))

    # -- counters and delivery log ----------------------------------------------

    def bump(self, counter: str, kind: str | None = None) -> int:
        """Increment `requests[kind]` (counter == "requests") or a top-level counter."""
        with self.lock:
            if counter == "requests" and kind is not None:
                self.requests[kind] += 1
            else:
                setattr(self, counter, getattr(self, counter) + 1)
            return self.generation

    def record(self, log: str, entry: dict[str, Any], generation: int) -> None:
        """Append to `callbacks` or `webhooks`, unless a reset happened meanwhile."""
        with self.lock:
            if generation == self.generation:
                getattr(self, log).append(entry)

    def stats(self) -> dict[str, Any]:
        with self.lock:
            return {
                "requests": dict(self.requests),
                "auth_failed": self.auth_failed,
                "sale_duplicates": self.sale_duplicates,
                "dedupe_sales": self.dedupe_sales,
                "faults_served": self.faults_served,
                "sales": len(self._invoices),
                "sales_by_branch": {code: len(b.sales) for code, b in self._branches.items()},
                "callbacks": copy.deepcopy(self.callbacks),
                "webhooks": copy.deepcopy(self.webhooks),
            }
