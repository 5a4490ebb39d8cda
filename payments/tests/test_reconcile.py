"""The reconciler, expiry, amount mismatch and late success, against the sandbox over HTTP."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from kiosk_project.core import metrics
from orders.models import Order, OrderEvent, OrderStatus
from payments.expiry import orders_expire
from payments.models import Payment, PaymentStatus, Refund, RefundStatus
from payments.reconciliation import payments_reconcile
from payments.tests.helpers import confirmations, kitchen_handoffs, reference_of, wait_for

pytestmark = pytest.mark.django_db

SOON = timedelta(seconds=30)  # "now" for a reconciler pass that should find the first check due


def order_row(order) -> Order:
    return Order.objects.get(pk=order["order_id"])


def later(seconds: float = 30):
    return timezone.now() + timedelta(seconds=seconds)


def test_a_dropped_callback_is_confirmed_by_the_reconciler(gateway_family, phonepe, order, initiate,
                                                           django_capture_on_commit_callbacks):
    payment_id = initiate(order).json()["payment_id"]
    reference = reference_of(payment_id)
    phonepe.set_callback(reference, "drop")
    phonepe.pay(reference)

    assert payments_reconcile().checked == 0  # the first check is due 25 s after initiation
    with django_capture_on_commit_callbacks(execute=True):
        report = payments_reconcile(now=later())
    assert report.checked == 1
    assert [str(c) for c in report.changes] == [
        f"{order['order_number']} {reference}: PENDING -> SUCCEEDED (confirmed; order CONFIRMED)"]
    assert order_row(order).status == OrderStatus.CONFIRMED
    assert kitchen_handoffs(order["order_id"]) == 1
    assert metrics.get("payments.confirmed_by_reconciler") == 1
    assert Payment.objects.get(pk=payment_id).next_check_at is None
    assert payments_reconcile(now=later(60)).checked == 0  # nothing open is left


def test_a_pending_payment_is_rescheduled_on_phonepes_schedule(phonepe, order, initiate):
    payment_id = initiate(order).json()["payment_id"]
    payment = Payment.objects.get(pk=payment_id)
    assert payment.next_check_at - payment.initiated_at == pytest.approx(timedelta(seconds=25),
                                                                          abs=timedelta(seconds=1))
    # 26 s in: the check is due; PhonePe says PENDING; the next one is 3 s later (age 28).
    Payment.objects.filter(pk=payment_id).update(created_at=ago(26), initiated_at=ago(26), next_check_at=ago(1))
    report = payments_reconcile()
    assert (report.checked, report.changes) == (1, [])
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING and payment.check_count == 1
    assert payment.next_check_at - timezone.now() == pytest.approx(timedelta(seconds=2), abs=timedelta(seconds=1))


def ago(seconds: float):
    return timezone.now() - timedelta(seconds=seconds)


def test_the_due_query_uses_the_partial_index(phonepe, order, initiate):
    initiate(order)
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
        cursor.execute("EXPLAIN SELECT id FROM payments_payment WHERE status IN ('CREATED', 'PENDING') "
                       "AND next_check_at <= now() ORDER BY next_check_at LIMIT 50")
        plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("SET enable_seqscan = on")
    assert "payment_open_due_check" in plan


def test_the_reconciler_gives_up_after_the_qr_expiry_plus_grace(phonepe, order, initiate, settings):
    payment_id = initiate(order).json()["payment_id"]
    # PhonePe still says PENDING, but by our books the QR expired long ago (plus the grace period).
    Payment.objects.filter(pk=payment_id).update(created_at=ago(900), initiated_at=ago(900),
                                                 expires_at=ago(420), next_check_at=ago(1))
    report = payments_reconcile()
    assert [c.after for c in report.changes] == [PaymentStatus.EXPIRED]
    assert Payment.objects.get(pk=payment_id).next_check_at is None


def test_phonepe_down_during_a_pass_keeps_the_schedule(phonepe, order, initiate):
    payment_id = initiate(order).json()["payment_id"]
    phonepe.set_fault("error", count=None, routes=["status", "token"])
    report = payments_reconcile(now=later())
    assert (report.checked, report.errors) == (1, 1)
    payment = Payment.objects.get(pk=payment_id)
    assert payment.status == PaymentStatus.PENDING
    assert payment.next_check_at > timezone.now()  # claimed: the next scheduled slot, not a hot loop


def test_amount_mismatch_flags_the_payment_and_leaves_the_order_unconfirmed(gateway_family, phonepe, order,
                                                                           initiate, caplog):
    payment_id = initiate(order).json()["payment_id"]
    reference = reference_of(payment_id)
    phonepe.set_callback(reference, "drop")
    phonepe.pay(reference, amount=100)  # PhonePe reports Rs 1.00 paid for a Rs 324.50 order

    report = payments_reconcile(now=later())
    payment = Payment.objects.get(pk=payment_id)
    assert payment.status == PaymentStatus.NEEDS_REVIEW
    assert "amount mismatch" in payment.flag_reason and payment.flagged_at
    assert str(payment.paid_amount) == "1.00"
    assert order_row(order).status == OrderStatus.PENDING
    assert kitchen_handoffs(order["order_id"]) == 0
    assert metrics.get("payments.amount_mismatch") == 1
    assert report.changes[0].after == PaymentStatus.NEEDS_REVIEW
    assert any(r.levelname == "ERROR" and "amount mismatch" in r.getMessage() for r in caplog.records)
    # No second QR while staff review what happened to the first payment.
    assert initiate(order, expect=409).json()["error"]["details"]["reason"] == "payment_under_review"


# -- expiry --------------------------------------------------------------------------------------------


def test_an_unpaid_order_expires_with_a_reason(phonepe, order):
    Order.objects.filter(pk=order["order_id"]).update(expires_at=ago(1))
    report = orders_expire()
    assert report.orders_expired == 1
    row = order_row(order)
    assert (row.status, row.status_reason) == (OrderStatus.EXPIRED, "payment window closed")
    assert OrderEvent.objects.filter(order_id=row.id, to_status="EXPIRED", reason="payment window closed").exists()
    assert orders_expire().orders_expired == 0


def test_an_order_whose_qr_phonepe_still_accepts_waits_for_it(gateway_family, phonepe, order, initiate):
    payment_id = initiate(order).json()["payment_id"]
    Order.objects.filter(pk=order["order_id"]).update(expires_at=ago(1))
    assert orders_expire().orders_expired == 0  # the QR is live at PhonePe: the customer may be paying
    assert order_row(order).status == OrderStatus.PENDING

    phonepe.expire(reference_of(payment_id))  # PhonePe times the QR out (its callback goes nowhere here)
    assert orders_expire().orders_expired == 1
    assert Payment.objects.get(pk=payment_id).status == PaymentStatus.FAILED
    assert order_row(order).status == OrderStatus.EXPIRED


def test_a_last_second_payment_confirms_instead_of_expiring(gateway_family, phonepe, order, initiate,
                                                            django_capture_on_commit_callbacks):
    payment_id = initiate(order).json()["payment_id"]
    reference = reference_of(payment_id)
    phonepe.set_callback(reference, "drop")
    phonepe.pay(reference)
    Order.objects.filter(pk=order["order_id"]).update(expires_at=ago(1))

    with django_capture_on_commit_callbacks(execute=True):
        report = orders_expire()
    assert report.orders_expired == 0
    assert order_row(order).status == OrderStatus.CONFIRMED
    assert not Refund.objects.exists()
    assert kitchen_handoffs(order["order_id"]) == 1


def test_expiry_waits_when_phonepe_cannot_say_whether_the_qr_was_paid(phonepe, order, initiate):
    initiate(order)
    Order.objects.filter(pk=order["order_id"]).update(expires_at=ago(1))
    phonepe.set_fault("error", count=None, routes=["status", "token"])
    report = orders_expire()
    assert (report.orders_expired, report.errors) == (0, 1)
    assert order_row(order).status == OrderStatus.PENDING


# -- late success ------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_late_success_is_refunded_and_flagged(gateway_family, phonepe, deliver_callbacks, order, initiate):
    from payments.tasks import payments_refund_submit_task

    payment_id = initiate(order).json()["payment_id"]
    reference = reference_of(payment_id)
    Order.objects.filter(pk=order["order_id"]).update(expires_at=ago(1))
    phonepe.expire(reference)  # PhonePe times the QR out; its FAILED callback reaches us
    assert Payment.objects.get(pk=payment_id).status == PaymentStatus.FAILED
    assert orders_expire().orders_expired == 1

    phonepe.pay(reference, late=True)  # ...and then the customer's bank completes it anyway

    payment = Payment.objects.get(pk=payment_id)
    assert payment.status == PaymentStatus.REFUND_PENDING
    assert "refunded automatically" in payment.flag_reason
    refund = Refund.objects.get(payment=payment)
    assert (refund.status, refund.amount_paise, refund.requested_by) == (RefundStatus.CREATED, 32450, "system")
    row = order_row(order)
    assert row.status == OrderStatus.EXPIRED and "automatic refund started" in row.status_reason
    assert kitchen_handoffs(order["order_id"]) == 0
    assert metrics.get("payments.late_success") == 1 and metrics.get("payments.refund_started") == 1

    payments_refund_submit_task.apply(args=[str(refund.id)])  # what the worker does after the commit
    # PhonePe completes the refund 0.2 s later and tells us by callback (v2 pg.refund.*, v1 S2S).
    assert wait_for(lambda: Refund.objects.get(pk=refund.id).status == RefundStatus.COMPLETED)
    assert wait_for(lambda: Payment.objects.get(pk=payment_id).status == PaymentStatus.REFUNDED)
    assert phonepe.refunds[0]["amount"] == 32450
    row = order_row(order)
    assert row.status == OrderStatus.EXPIRED and "refunded" in row.status_reason
    assert OrderEvent.objects.filter(order_id=row.id, kind="payment", reason__startswith="refunded").exists()


def test_late_success_refund_is_submitted_by_the_reconciler_if_the_task_never_ran(gateway_family, phonepe,
                                                                                  order, initiate):
    payment_id = initiate(order).json()["payment_id"]
    reference = reference_of(payment_id)
    phonepe.set_callback(None, "drop")
    Order.objects.filter(pk=order["order_id"]).update(status=OrderStatus.CANCELLED)
    phonepe.pay(reference)

    # No worker runs the submit task here. One pass (its clock 30 s ahead, past the task's head start)
    # applies the late success, records the refund, and submits it to PhonePe itself.
    payments_reconcile(now=later())
    refund = Refund.objects.get(payment_id=payment_id)
    assert refund.status in (RefundStatus.PENDING, RefundStatus.COMPLETED)
    assert phonepe.refunds[0]["ref"] == refund.merchant_refund_id
    wait_for(lambda: phonepe.refunds[0]["state"] == "COMPLETED")
    payments_reconcile(now=later(600))  # and learns it completed
    assert Refund.objects.get(pk=refund.id).status == RefundStatus.COMPLETED
    assert Payment.objects.get(pk=payment_id).status == PaymentStatus.REFUNDED
    assert order_row(order).status == OrderStatus.CANCELLED


def test_late_success_policy_confirm_confirms_the_expired_order(phonepe, order, initiate, settings,
                                                                django_capture_on_commit_callbacks):
    settings.PAYMENT_LATE_SUCCESS_POLICY = "confirm"
    payment_id = initiate(order).json()["payment_id"]
    reference = reference_of(payment_id)
    Order.objects.filter(pk=order["order_id"]).update(status=OrderStatus.EXPIRED)
    phonepe.pay(reference)

    with django_capture_on_commit_callbacks(execute=True):
        report = payments_reconcile(now=later())
    assert report.changes[0].note == "late_confirmed; order CONFIRMED"
    assert order_row(order).status == OrderStatus.CONFIRMED
    assert kitchen_handoffs(order["order_id"]) == 1
    assert not Refund.objects.exists()
    assert Payment.objects.get(pk=payment_id).flagged_at is not None


def test_a_second_paid_qr_for_a_confirmed_order_is_refunded(phonepe, order, initiate,
                                                           django_capture_on_commit_callbacks):
    first = initiate(order).json()["payment_id"]
    Payment.objects.filter(pk=first).update(expires_at=ago(1))  # the kiosk asked for a fresh QR...
    second = initiate(order).json()["payment_id"]
    phonepe.pay(reference_of(first))  # ...but the customer paid both
    phonepe.pay(reference_of(second))

    with django_capture_on_commit_callbacks(execute=True):
        payments_reconcile(now=later(), force=True)
    statuses = dict(Payment.objects.filter(order_id=order["order_id"]).values_list("id", "status"))
    assert sorted(statuses.values()) == sorted([PaymentStatus.SUCCEEDED, PaymentStatus.REFUND_PENDING])
    assert confirmations(order["order_id"]) == 1
    assert kitchen_handoffs(order["order_id"]) == 1
    assert metrics.get("payments.duplicate_payment") == 1


# -- the management command ---------------------------------------------------------------------------


def test_reconcile_payments_command_prints_what_it_changed(phonepe, order, initiate, capsys,
                                                           django_capture_on_commit_callbacks):
    reference = reference_of(initiate(order).json()["payment_id"])
    phonepe.set_callback(reference, "drop")
    phonepe.pay(reference)
    with django_capture_on_commit_callbacks(execute=True):
        call_command("reconcile_payments", "--order", order["order_id"])
    out = capsys.readouterr().out
    assert f"{reference}: PENDING -> SUCCEEDED" in out
    assert "checked 1 payment(s)" in out
    assert order_row(order).status == OrderStatus.CONFIRMED


def test_reconcile_payments_command_with_nothing_to_do(phonepe, capsys):
    call_command("reconcile_payments", "--due-only")
    assert "checked 0 payment(s), 0 refund(s); 0 change(s)" in capsys.readouterr().out


def test_beat_schedule_names_our_tasks(settings):
    from kiosk_project.celery import app

    app.loader.import_default_modules()
    names = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"payments.tasks.payments_reconcile_task", "payments.tasks.orders_expire_task"} <= names
    assert {"payments.tasks.payments_reconcile_task", "payments.tasks.orders_expire_task",
            "payments.tasks.payments_refund_submit_task"} <= set(app.tasks)


def test_the_reconcile_pass_uses_few_queries(phonepe, order, initiate):
    initiate(order)
    with CaptureQueriesContext(connection) as queries:
        payments_reconcile(now=later())
    assert len(queries) < 25
