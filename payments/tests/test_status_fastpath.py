"""The status poll's WSGI fast path: the view's answer byte for byte, kept right by every change.

Each step of an order's life is made through the real code and committed (transactional tests),
then the poll is asked of the fast path first (it must answer from its copy, rebuilt on commit)
and of Django second, with the same request id; status, headers and body must be identical.
"""

from __future__ import annotations

import time
from datetime import timedelta
from threading import Thread

import pytest
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone

from kiosk_project.wsgi import django_application
from orders.models import KitchenStatus, OrderStatus
from orders.services import order_kitchen_transition, order_transition
from payments import status_cache
from payments.expiry import orders_expire
from payments.refunds import refund_check, refund_create
from payments.status_document import status_row
from payments.status_fastpath import StatusFastPath
from payments.status_local import LocalCopies
from payments.tests.helpers import INITIATE, post_callback, reference_of, signed_callback, wait_for
from testing.factories import OrderFactory, PaymentFactory
from testing.wsgi import HOST, CountingDjango, keep_test_connection, wsgi_call

pytestmark = pytest.mark.django_db(transaction=True)

MISSING = "00000000-0000-4000-8000-000000000000"


def call(app, order_id: str, key: str | None, *, etag: str | None = None, path: str | None = None,
         query: str = "", method: str = "GET", **environ: str) -> tuple[int, dict[str, str], bytes]:
    headers = {"HTTP_X_REQUEST_ID": "poll-1", **environ}
    if key is not None:
        headers["HTTP_AUTHORIZATION"] = f"Kiosk {key}"
    if etag is not None:
        headers["HTTP_IF_NONE_MATCH"] = etag
    return wsgi_call(app, path or f"/api/v1/orders/{order_id}/status", method, query, **headers)


@pytest.fixture
def fast(settings):
    settings.ALLOWED_HOSTS = [HOST, "testserver"]  # our WSGI calls and the test client's
    assert status_cache.enabled()  # the suite runs on Redis
    inner = CountingDjango()
    copies = LocalCopies()  # this test's "process": its own memory and its own listener
    app = StatusFastPath(inner, copies=copies)
    app.copies_under_test = copies  # type: ignore[attr-defined]
    for _ in keep_test_connection():
        yield app, inner
    copies.stop()


def same_answers(fast, order_id: str, key: str, *, served: bool = True) -> tuple[int, dict[str, str], bytes]:
    """The fast path's answer (from its copy when `served`) equals Django's, for a 200 and for a 304."""
    app, inner = fast
    # Every change made so far has reached this "process" (pub/sub is asynchronous; a real kiosk polls
    # every 3 s, a test polls at once).
    assert app.copies_under_test.sync()
    before = inner.calls
    ours = call(app, order_id, key)
    assert (inner.calls == before) is served, "the fast path did not answer from its copy" if served else ""
    theirs = call(django_application, order_id, key)
    assert set(ours[1].items()) ^ set(theirs[1].items()) == set()
    assert ours == theirs
    assert ours[0] == 200
    etag = ours[1]["ETag"]
    not_modified = call(app, order_id, key, etag=etag)
    assert not_modified == call(django_application, order_id, key, etag=etag)
    assert not_modified[0] == 304 and not_modified[2] == b""
    for listed in (f'W/{etag}', f'"other", {etag}'):  # If-None-Match lists and weak tags: the same rule in both
        assert call(app, order_id, key, etag=listed)[0] == call(django_application, order_id, key, etag=listed)[0]
    return ours


def tell_us(family: str, reference: str) -> None:
    body, headers = signed_callback(family, reference)
    assert post_callback(Client(), body, headers).json() == {"status": "processed"}


def test_the_same_answer_through_an_orders_life(fast, gateway_family, phonepe, kiosk, kiosk_client, rista):
    device, key = kiosk
    order_id = str(OrderFactory(device=device).pk)
    # A new order has no copy: its first poll is Django's, which makes one.
    same_answers(fast, order_id, key, served=False)
    same_answers(fast, order_id, key)

    first = kiosk_client.post(INITIATE, {"order_id": order_id, "amount": "324.50"}, format="json")
    assert first.status_code == 201, first.content
    same_answers(fast, order_id, key)  # the attempt is PENDING, with its references

    phonepe.decline(reference_of(first.json()["payment_id"]))
    tell_us(gateway_family, reference_of(first.json()["payment_id"]))
    body = same_answers(fast, order_id, key)[2]
    assert b'"failure_code":"PAYMENT_DECLINED"' in body and b'"can_retry":true' in body

    second = kiosk_client.post(INITIATE, {"order_id": order_id, "amount": "324.50"}, format="json")
    assert second.status_code == 201, second.content
    same_answers(fast, order_id, key)
    phonepe.pay(reference_of(second.json()["payment_id"]))
    tell_us(gateway_family, reference_of(second.json()["payment_id"]))
    assert b'"status":"CONFIRMED"' in same_answers(fast, order_id, key)[2]

    steps = (KitchenStatus.NOT_SENT, KitchenStatus.SENT, KitchenStatus.ACCEPTED, KitchenStatus.READY)
    for position, to in enumerate(steps[1:], start=1):  # as Rista's callbacks move it (wherever the worker got)
        order_kitchen_transition(order_id=order_id, to_status=to, allowed_from=steps[:position], actor="test")
        assert f'"kitchen_status":"{to}"'.encode() in same_answers(fast, order_id, key)[2]

    refund = refund_create(payment_id=second.json()["payment_id"], reason="test", requested_by="test")
    assert b'"status":"REFUND_PENDING"' in same_answers(fast, order_id, key)[2]
    assert wait_for(lambda: phonepe.refunds[0]["state"] == "COMPLETED")
    refund_check(refund_id=refund.pk)
    body = same_answers(fast, order_id, key)[2]
    assert b'"status":"REFUNDED"' in body and b'"status":"REFUNDED"' in body


def test_cancel_and_expiry_reach_the_copy(fast, kiosk, kiosk_client, rista):
    device, key = kiosk
    cancelled, expired = (str(OrderFactory(device=device).pk) for _ in range(2))
    for order_id in (cancelled, expired):
        same_answers(fast, order_id, key, served=False)

    assert kiosk_client.post(f"/api/v1/orders/{cancelled}/cancel", {}, format="json").status_code == 200
    assert b'"status":"CANCELLED"' in same_answers(fast, cancelled, key)[2]

    orders_expire(order_id=expired, now=timezone.now() + timedelta(days=1))
    assert b'"status":"EXPIRED"' in same_answers(fast, expired, key)[2]


def test_the_copy_turns_with_the_clock_when_the_order_window_closes(fast, kiosk, rista):
    """`can_retry` reads the clock: the copy holds both versions and the fast path picks as the view would."""
    device, key = kiosk
    order = OrderFactory(device=device)
    order.expires_at = timezone.now() + timedelta(seconds=1.5)
    order.save(update_fields=["expires_at", "updated_at"])
    assert call(django_application, MISSING, key)[0] == 404  # now this process knows the kiosk's key
    opened = same_answers(fast, str(order.pk), key)  # the save rebuilt the copy
    assert b'"can_retry":true' in opened[2]
    while timezone.now() <= order.expires_at:
        time.sleep(0.05)  # the clock itself is what this test waits for
    closed = same_answers(fast, str(order.pk), key)
    assert b'"can_retry":false' in closed[2] and closed[1]["ETag"] != opened[1]["ETag"]


def test_anything_unusual_is_djangos(fast, kiosk, other_kiosk, rista):
    app, inner = fast
    device, key = kiosk
    order_id = str(OrderFactory(device=device).pk)
    same_answers(fast, order_id, key, served=False)
    cases = [
        dict(key=other_kiosk[1]),  # another kiosk's order: Django's 404
        dict(key="kk_unknown.secret"),  # a key this process does not know: Django's 401
        dict(key=None),
        dict(key=key, path=f"/api/v1/orders/{order_id.upper()}/status"),  # not the canonical form
        dict(key=key, query="x=1"),
        dict(key=key, method="HEAD"),
        dict(key=key, path=f"/api/v1/orders/{order_id}/status/"),
        dict(key=key, HTTP_ACCEPT="text/html"),  # DRF: 406
        dict(key=key, HTTP_ACCEPT="application/json; indent=4"),  # DRF: an indented body
        dict(key=key, CONTENT_LENGTH="999999999"),  # the body limit: 413
    ]
    # The other kiosk's key is known to this process once Django has seen it.
    assert call(django_application, order_id, other_kiosk[1])[0] == 404
    for case in cases:
        before = inner.calls
        ours = call(app, order_id, **case)
        assert inner.calls == before + 1, case
        assert ours[:1] == call(django_application, order_id, **case)[:1], case
    assert call(app, MISSING, key)[0] == 404


def test_a_writer_that_read_earlier_never_overwrites_a_later_one(kiosk):
    order = OrderFactory(device=kiosk[0])
    early = status_cache.ticket(order.pk)  # a poll that reached Django takes its ticket and reads...
    old = status_row(order_id=order.pk)
    order_transition(order_id=order.pk, to_status=OrderStatus.CANCELLED, actor="test")  # ...a commit rebuilds...
    assert not status_cache.store(old, early)  # ...and the poll's older read does not replace the newer copy
    copy = status_cache.read(str(order.pk))
    assert copy is not None and b'"status":"CANCELLED"' in copy.body


def test_inside_a_transaction_the_copy_is_gone_until_commit(kiosk):
    order = OrderFactory(device=kiosk[0])
    status_cache.refresh(order.pk)
    assert status_cache.read(str(order.pk)) is not None
    with transaction.atomic():
        order_transition(order_id=order.pk, to_status=OrderStatus.CANCELLED, actor="test")
        assert status_cache.read(str(order.pk)) is None  # a poll now goes to Django (and reads the old rows)
    copy = status_cache.read(str(order.pk))
    assert copy is not None and b'"status":"CANCELLED"' in copy.body


def test_a_save_of_bookkeeping_columns_keeps_the_copy(kiosk, rista):
    order = OrderFactory(device=kiosk[0])
    payment = PaymentFactory(order=order)
    status_cache.refresh(order.pk)
    payment.check_count += 1
    payment.save(update_fields=["check_count", "updated_at"])
    assert status_cache.read(str(order.pk)) is not None


def test_redis_trouble_sends_every_poll_to_django(fast, kiosk, settings):
    app, inner = fast
    device, key = kiosk
    order_id = str(OrderFactory(device=device).pk)
    same_answers(fast, order_id, key, served=False)
    settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": "redis://127.0.0.1:9/0"}}
    app.copies_under_test.stop()  # as if this process had just started: its listener cannot reach Redis either
    before = inner.calls
    status, _headers, body = call(app, order_id, key)
    assert (status, inner.calls) == (200, before + 1) and order_id.encode() in body


def redis_reads() -> int:
    """GET and MGET commands Redis has served so far (its own count)."""
    stats = status_cache._client().info("commandstats")
    return sum(stats.get(f"cmdstat_{name}", {}).get("calls", 0) for name in ("get", "mget"))


def test_a_copy_once_read_is_answered_from_memory_until_it_changes(fast, kiosk, rista):
    app, _inner = fast
    device, key = kiosk
    order = OrderFactory(device=device)
    order_id = str(order.pk)
    same_answers(fast, order_id, key, served=False)  # Django fills the copy; the fast path then keeps it
    assert app.copies_under_test.sync()
    call(app, order_id, key)
    assert app.copies_under_test.get(order_id) is not None
    reads = redis_reads()
    for _ in range(20):
        assert call(app, order_id, key)[0] == 200
    assert redis_reads() - reads <= 2  # the listener's own generation read may fall in between

    order_transition(order_id=order.pk, to_status=OrderStatus.CANCELLED, actor="test")
    assert b'"status":"CANCELLED"' in same_answers(fast, order_id, key)[2]


def test_a_read_that_raced_a_change_is_not_kept(kiosk):
    copies = LocalCopies()
    try:
        assert copies.sync()
        order = OrderFactory(device=kiosk[0])
        status_cache.refresh(order.pk)
        token = copies.token()
        copy = status_cache.read(str(order.pk))
        status_cache.order_changed(order.pk)  # autocommit: rebuilt and announced at once
        assert copies.sync()
        copies.keep(str(order.pk), copy, token)
        assert copies.get(str(order.pk)) is None
        copies.keep(str(order.pk), copy, copies.token())
        assert copies.get(str(order.pk)) is copy
    finally:
        copies.stop()


def test_a_process_that_stops_hearing_forgets_its_copies(fast, kiosk, rista):
    app, _inner = fast
    device, key = kiosk
    order_id = str(OrderFactory(device=device).pk)
    same_answers(fast, order_id, key, served=False)
    copies = app.copies_under_test
    assert copies.get(order_id) is not None
    status_cache._client().client_kill_filter(_type="pubsub")  # Redis drops every subscriber
    assert wait_for(lambda: not copies.listening(), timeout=5)
    assert copies.get(order_id) is None  # not trusted while not listening
    assert call(app, order_id, key)[0] == 200  # answered from Redis meanwhile
    assert copies.sync(timeout=10)  # listening again, with an empty memory
    same_answers(fast, order_id, key)


def test_a_poll_during_a_changing_transaction_does_not_fill_the_old_state(fast, kiosk, rista):
    """Between the drop and the commit, a poll reads the rows as they were: it answers them, but keeps no copy."""
    device, key = kiosk
    order = OrderFactory(device=device)
    order_id = str(order.pk)
    seen = {}

    def another_request() -> None:  # on its own connection: it sees the committed (old) rows
        try:
            seen["answer"] = call(django_application, order_id, key)
        finally:
            connection.close()

    with transaction.atomic():
        order_transition(order_id=order.pk, to_status=OrderStatus.CANCELLED, actor="test")
        poll = Thread(target=another_request)
        poll.start()
        poll.join()
        assert seen["answer"][0] == 200 and b'"status":"PENDING"' in seen["answer"][2]
        assert status_cache.read(order_id) is None  # not filled with what is about to change
    copy = status_cache.read(order_id)
    assert copy is not None and b'"status":"CANCELLED"' in copy.body


def test_a_rebuild_that_never_runs_leaves_no_copy_behind(kiosk):
    order = OrderFactory(device=kiosk[0])
    status_cache.refresh(order.pk)
    with transaction.atomic():
        order_transition(order_id=order.pk, to_status=OrderStatus.CANCELLED, actor="test")
        connection.run_on_commit = [entry for entry in connection.run_on_commit  # as if the process died
                                    if not isinstance(entry[1], status_cache.CopyRebuild)]
    assert status_cache.read(str(order.pk)) is None  # the next poll reads the database (and may fill after
    row = status_row(order_id=order.pk)              # BUSY_SECONDS)
    assert not status_cache.store(row, status_cache.ticket(order.pk))  # a fill waits out the open transaction
