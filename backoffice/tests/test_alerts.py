"""Problems reach a person: one email per problem to the branch's managers, never two."""

from __future__ import annotations

import pytest
from django.core import mail

from backoffice.alerts import alert_recipients, problems_notify
from backoffice.models import ProblemNotice
from backoffice.tests.conftest import make_user
from kiosk_project.core import metrics

pytestmark = pytest.mark.django_db


def test_each_problem_is_emailed_once_to_the_managers(scenes, settings):
    settings.BACKOFFICE_ALERT_EMAILS = ["ops@example.com"]
    make_user("shiva", role="Shift manager")
    make_user("bina", role="Branch manager")
    make_user("anand", role="Accountant")  # accountants are not woken up by the kitchen
    stuck = scenes.stuck()
    assert alert_recipients(branch_code=stuck.branch_code) == ["bina@example.com", "ops@example.com",
                                                               "shiva@example.com"]
    report = problems_notify()
    assert (report.new, report.emailed) == (1, 1)
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert stuck.order_number in message.subject and "not in the kitchen" in message.subject
    assert "Resend to kitchen" in message.body and f"/admin/orders/order/{stuck.pk}/change/" in message.body
    assert sorted(message.to) == ["bina@example.com", "ops@example.com", "shiva@example.com"]
    # The next passes find it again but do not email it again; a new problem gets its own email.
    problems_notify()
    assert len(mail.outbox) == 1
    scenes.mismatch()
    problems_notify()
    assert len(mail.outbox) == 2 and "Payment under review" in mail.outbox[1].subject
    assert ProblemNotice.objects.filter(emailed_at__isnull=False).count() == 2


def test_a_failed_send_is_retried_and_nobody_to_tell_is_loud(scenes, settings, monkeypatch):
    order = scenes.rejected()
    report = problems_notify()  # nobody holds the alert permission yet
    assert report.failed == 1 and not mail.outbox
    assert metrics.get("backoffice.alert_no_recipients") == 1
    make_user("bina", role="Branch manager")

    def smtp_down(*args, **kwargs):
        raise ConnectionRefusedError("SMTP server down")

    monkeypatch.setattr("backoffice.alerts.send_mail", smtp_down)
    assert problems_notify().failed == 1
    assert ProblemNotice.objects.get().last_error == "SMTP server down"
    monkeypatch.undo()
    assert problems_notify().emailed == 1
    assert len(mail.outbox) == 1 and order.order_number in mail.outbox[0].subject


def test_the_periodic_task_is_scheduled(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["backoffice-problems-notify"]
    assert entry["task"] == "backoffice.tasks.problems_notify_task"
    from kiosk_project.celery import app

    app.loader.import_default_modules()
    assert entry["task"] in app.tasks  # so run_periodic (make run) runs it too
