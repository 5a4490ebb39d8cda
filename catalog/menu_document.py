"""The menu as served: the cached catalog bytes with the branch's store status in front.

``{"store": {"open", "next_open_at", "closes_at"}, ...Rista's catalog...}``. The catalog's bytes are
never parsed: the store block is spliced in after the opening brace, and the result is kept per
(catalog ETag, store block), so the fast path pays for the splice once per change, not per request.

The ETag is the catalog's own while the store is simply open (no closing time), and the catalog's
with a suffix naming the store block otherwise, so it changes exactly when the store opens, closes
or its next opening or closing time moves: a kiosk revalidating with If-None-Match sees the change.
"""

from __future__ import annotations

import hashlib
import json

from catalog.store import CachedCatalog
from kiosk_project.core.branches import StoreStatus
from kiosk_project.core.kiosk_auth import BoundedLRU

_documents: BoundedLRU[tuple[bytes, str]] = BoundedLRU(1024)  # 100 branches x 2 channels x a few states


def menu_document(entry: CachedCatalog, store: StoreStatus) -> tuple[bytes, str]:
    """(body, ETag) of the menu for this catalog and store status."""
    key = f"{entry.etag}|{store.open}|{store.next_open_at}|{store.closes_at}"  # the ETag hashes the bytes
    found = _documents.get(key)
    if found is not None:
        return found
    block = json.dumps(store.as_dict(), separators=(",", ":")).encode()
    rest = entry.body.lstrip()[1:].lstrip()
    body = b'{"store":' + block + (b"," if not rest.startswith(b"}") else b"") + rest
    etag = entry.etag if store.plain else entry.etag[:-1] + "-" + hashlib.sha256(block).hexdigest()[:8] + '"'
    _documents.put(key, (body, etag))
    return body, etag
