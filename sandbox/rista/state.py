"""The Rista sandbox's mutable world: one branch, its catalog, sales and counters.

Every method takes `self.lock`, because the HTTP server answers each request
on its own thread. Nothing here does network I/O, so the lock is never held
while waiting on a socket.
"""

from __future__ import annotations

import copy
import json
import threading
import time
from pathlib import Path
from typing import Any

from sandbox.httpkit import HttpError
from sandbox.rista import sales as sale_rules
from sandbox.rista.faults import ROUTE_KINDS

DEFAULT_CATALOG = Path(__file__).resolve().parent / "data" / "catalog.json"
CHANNELS = ("Takeaway", "Dine In")


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


class RistaState:
    def __init__(self, branch: str, catalog_path: str | Path | None = None, invoice_start: int = 1) -> None:
        self.branch = branch
        self.channels = CHANNELS
        self.lock = threading.RLock()
        self._pristine = load_catalog(catalog_path)
        # Invoice numbers keep counting across reset(): a client database that
        # outlives a reset must never see the same invoiceNumber twice.
        self._invoice_seq = invoice_start - 1
        self.generation = 0
        self._clear()

    # -- lifecycle ----------------------------------------------------------

    def _clear(self) -> None:
        self.catalog: dict[str, Any] = copy.deepcopy(self._pristine)
        self.sold_out: set[str] = set()
        self._sales: dict[str, dict[str, Any]] = {}  # invoiceNumber -> stored sale (insertion order)
        self._by_txn: dict[str, str] = {}  # orderTransactionId -> invoiceNumber
        self._order_seq = 0
        self.requests = dict.fromkeys(ROUTE_KINDS, 0)
        self.auth_failed = 0
        self.sale_duplicates = 0
        self.faults_served = 0
        self.callbacks: list[dict[str, Any]] = []
        self.webhooks: list[dict[str, Any]] = []

    def reset(self) -> None:
        """Back to the pristine catalog with no sales and zero counters.

        Bumping `generation` lets work that was sleeping across the reset (a
        `timeout` fault, a delayed callback) notice and abandon itself instead
        of leaking into the next test.
        """
        with self.lock:
            self._clear()
            self.generation += 1

    # -- branch and catalog -------------------------------------------------

    def branch_info(self) -> dict[str, Any]:
        return {
            "branchName": f"Sandbox Branch {self.branch}",
            "branchCode": self.branch,
            "businessName": "Sandbox Restaurant",
            "status": "Active",
            "channels": [{"name": c} for c in self.channels],
        }

    @property
    def outlet_id(self) -> str:
        return f"sandbox-outlet-{self.branch}"

    def catalog_bytes(self) -> bytes:
        # Serialised under the lock: a control call may be mutating the dict.
        # Keys sorted because live Rista responses come back that way.
        with self.lock:
            return json.dumps(self.catalog, sort_keys=True).encode()

    def catalog_copy(self) -> dict[str, Any]:
        with self.lock:
            return copy.deepcopy(self.catalog)

    def catalog_replace(self, doc: Any) -> None:
        check_catalog(doc)
        with self.lock:
            self.catalog = copy.deepcopy(doc)
            skus = {i["skuCode"] for i in self.catalog["items"]}
            self.sold_out &= skus

    def sold_out_items(self) -> list[dict[str, str]]:
        with self.lock:
            return [
                {
                    "shortName": i.get("itemName", ""),
                    "longName": i.get("itemName", ""),
                    "skuCode": i["skuCode"],
                }
                for i in self.catalog["items"]
                if i["skuCode"] in self.sold_out
            ]

    def item_update(self, sku: str, changes: dict[str, Any]) -> dict[str, Any]:
        """Apply validated {price, status, soldOut, name} changes; 404 for an unknown sku.

        Returns the item as the catalog now has it, plus a `soldOut` flag
        (sold-out state lives apart from the catalog, as it does in Rista).
        """
        with self.lock:
            item = next((i for i in self.catalog["items"] if i["skuCode"] == sku), None)
            if item is None:
                raise HttpError(404, {"message": f"no item with skuCode {sku!r}"})
            if "price" in changes:
                item["price"] = changes["price"]
            if "status" in changes:
                item["status"] = changes["status"]
            if "name" in changes:
                item["itemName"] = changes["name"]
            if "soldOut" in changes:
                (self.sold_out.add if changes["soldOut"] else self.sold_out.discard)(sku)
            return {**copy.deepcopy(item), "soldOut": sku in self.sold_out}

    # -- sales --------------------------------------------------------------

    def sale_create(self, body: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """Store a validated PostSale; returns (public Sale, created).

        Dedupe and insert happen under one lock so two concurrent POSTs of the
        same orderTransactionId cannot both create a sale.
        """
        txn = sale_rules.transaction_id(body)
        with self.lock:
            if txn is not None and txn in self._by_txn:
                sale = self._sales[self._by_txn[txn]]
                sale["_duplicates"] += 1
                self.sale_duplicates += 1
                return sale_rules.public_view(sale), False
            self._invoice_seq += 1
            self._order_seq += 1
            invoice = f"{self.branch}-{self._invoice_seq:06d}"
            sale = sale_rules.build_sale(body, invoice, str(self._order_seq), time.time())
            self._sales[invoice] = sale
            if txn is not None:
                self._by_txn[txn] = invoice
            return sale_rules.public_view(sale), True

    def sale_public(self, invoice: str | None = None, txn: str | None = None) -> dict[str, Any] | None:
        with self.lock:
            if invoice is None and txn is not None:
                invoice = self._by_txn.get(txn)
            sale = self._sales.get(invoice or "")
            return None if sale is None else sale_rules.public_view(sale)

    def sale_set_status(self, invoice: str, status: str) -> dict[str, Any]:
        """Apply a status event and return a deep copy of the stored sale after it; 404 if unknown."""
        with self.lock:
            sale = self._sales.get(invoice)
            if sale is None:
                raise HttpError(404, {"message": f"no sale with invoiceNumber {invoice!r}"})
            sale_rules.apply_status(sale, status, time.time())
            return copy.deepcopy(sale)

    def sales_list(self) -> list[dict[str, Any]]:
        with self.lock:
            return copy.deepcopy(list(self._sales.values()))

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
                "faults_served": self.faults_served,
                "sales": len(self._sales),
                "callbacks": copy.deepcopy(self.callbacks),
                "webhooks": copy.deepcopy(self.webhooks),
            }
