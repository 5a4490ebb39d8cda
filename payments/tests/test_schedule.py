"""PhonePe's documented status-check schedule, as a pure function."""

from __future__ import annotations

import pytest

from payments.schedule import check_offsets, next_check_delay, refund_next_check_delay


def test_offsets_follow_phonepes_documented_schedule():
    offsets = check_offsets(600)  # 480 s QR + 120 s grace (the defaults)
    assert offsets[0] == 25
    assert offsets[1:11] == tuple(float(t) for t in range(28, 56, 3))  # every 3 s for 30 s
    assert offsets[11:21] == tuple(float(t) for t in range(61, 116, 6))  # every 6 s for 60 s
    assert offsets[21:27] == tuple(float(t) for t in range(125, 176, 10))  # every 10 s for 60 s
    assert offsets[27:29] == (205.0, 235.0)  # every 30 s for 60 s
    assert offsets[29:] == (295.0, 355.0, 415.0, 475.0, 535.0, 595.0, 600.0)  # every minute, then the horizon


@pytest.mark.parametrize(("age", "delay"), [
    (0, 25), (10, 15), (25, 3), (26.5, 1.5), (55, 6), (115, 10), (175, 30), (235, 60), (595, 5), (599.5, 0.5),
])
def test_next_check_delay(age, delay):
    assert next_check_delay(age, 600) == pytest.approx(delay)


def test_no_check_after_the_horizon():
    assert next_check_delay(600, 600) is None
    assert next_check_delay(10_000, 600) is None


def test_a_late_reconciler_resumes_the_schedule_instead_of_catching_up():
    # Due at 28 but run at 40: the next check is the slot after 40, not 31, 34, 37 in a burst.
    assert next_check_delay(40, 600) == pytest.approx(3)


def test_schedule_is_configurable(settings):
    settings.PAYMENT_RECONCILE_FIRST_CHECK = 20
    settings.PAYMENT_RECONCILE_STEPS = [(5, 10)]
    settings.PAYMENT_RECONCILE_TAIL_EVERY = 100
    assert check_offsets(300) == (20.0, 25.0, 30.0, 130.0, 230.0, 300.0)
    settings.PAYMENT_QR_EXPIRY_SECONDS = 300
    settings.PAYMENT_RECONCILE_GRACE_SECONDS = 0
    assert next_check_delay(299) == pytest.approx(1)
    assert next_check_delay(300) is None


def test_refund_checks_back_off_to_a_cap(settings):
    settings.PAYMENT_REFUND_FIRST_CHECK = 10
    settings.PAYMENT_REFUND_MAX_CHECK_EVERY = 600
    assert [refund_next_check_delay(n) for n in range(8)] == [10, 20, 40, 80, 160, 320, 600, 600]
