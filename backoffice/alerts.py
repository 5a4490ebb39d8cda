"""Problems reach a person: each new problem is emailed to its branch's managers, at most once.

Run every 30 s by beat (and by `run_periodic` in make run's embedded mode).
Each pass finds the current problems (backoffice.attention), claims the ones
never noticed before by inserting their ProblemNotice row (a unique key, so two
passes racing claim each problem once), then sends one email per branch listing
that branch's new problems, outside any transaction. A failed send releases its
claims for the next pass; a sent one stamps them. See ProblemNotice for why a
crash mid-send costs at most a lost email, never a second one.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from backoffice.attention import Problem, problems_list
from backoffice.models import ProblemNotice
from kiosk_project.core import metrics
from kiosk_project.core.branch_access import user_sees_branch
from kiosk_project.core.logging import log_context
from kiosk_project.core.money_format import rupees
from orders.models import Order, OrderEvent

log = logging.getLogger(__name__)


def alert_recipients(*, branch_code: str) -> list[str]:
    """Who hears about a branch's problems: active users holding "receives problem alerts" (through a
    role or directly) with an email address who see the branch (kiosk_project.core.branch_access),
    plus BACKOFFICE_ALERT_EMAILS."""
    perm = Permission.objects.filter(codename="receive_alerts", content_type__app_label="backoffice").first()
    emails: list[str] = []
    if perm is not None:
        users = (get_user_model().objects.filter(is_active=True).exclude(email="")
                 .filter(Q(groups__permissions=perm) | Q(user_permissions=perm)).distinct().order_by("email"))
        emails = [u.email for u in users if user_sees_branch(u, branch_code)]
    return sorted({*emails, *settings.BACKOFFICE_ALERT_EMAILS})


@dataclass
class NotifyReport:
    found: int = 0
    new: int = 0
    emailed: int = 0
    failed: int = 0
    branches: list[str] = field(default_factory=list)


def _claim(problem: Problem, now: datetime) -> ProblemNotice | None:
    try:
        with transaction.atomic():
            return ProblemNotice.objects.create(
                key=problem.key, kind=problem.kind, order=problem.order, branch_code=problem.order.branch_code,
                summary=f"{problem.order.order_number}: {problem.title}"[:255], claimed_at=now)
    except IntegrityError:
        pass
    # Known already: claim it only if an earlier send failed (claim released, never emailed).
    claimed = ProblemNotice.objects.filter(key=problem.key, claimed_at__isnull=True, emailed_at__isnull=True,
                                           handled_at__isnull=True).update(claimed_at=now)
    return ProblemNotice.objects.get(key=problem.key) if claimed else None


def _body(problems: list[Problem], base_url: str) -> str:
    lines = ["These orders need a person now:", ""]
    for p in problems:
        url = base_url + reverse("admin:orders_order_change", args=[p.order.pk])
        amount = f" ({rupees(p.amount or p.order.total_amount_include_tax)})"
        lines += [f"* {p.order.order_number}{amount}: {p.title}", f"  {p.detail}", f"  What to do: {p.fix_label}",
                  f"  {url}", ""]
    lines.append("You get one email per problem. The back office's Needs attention page lists every open one.")
    return "\n".join(lines)


def problems_notify(*, now: datetime | None = None) -> NotifyReport:
    now = now or timezone.now()
    report = NotifyReport()
    problems = problems_list(orders=Order.objects.all(), now=now)
    report.found = len(problems)
    by_branch: dict[str, list[tuple[Problem, ProblemNotice]]] = defaultdict(list)
    for problem in problems:
        notice = _claim(problem, now)
        if notice is not None:
            by_branch[problem.order.branch_code].append((problem, notice))
    for branch, claimed in by_branch.items():
        report.new += len(claimed)
        _send(branch, claimed, report)
    return report


def _send(branch: str, claimed: list[tuple[Problem, ProblemNotice]], report: NotifyReport) -> None:
    ids = [notice.pk for _, notice in claimed]
    recipients = alert_recipients(branch_code=branch)
    if not recipients:
        metrics.incr("backoffice.alert_no_recipients")
        log.error("ALERT: problems need a person but nobody receives alerts for this branch", extra={
            "branch": branch, "problems": [p.key for p, _ in claimed]})
        ProblemNotice.objects.filter(pk__in=ids).update(claimed_at=None, last_error="no recipients")
        report.failed += len(claimed)
        return
    problems = [p for p, _ in claimed]
    subject = (f"[{branch}] {problems[0].order.order_number}: {problems[0].title}" if len(problems) == 1
               else f"[{branch}] {len(problems)} orders need attention")
    try:
        send_mail(subject, _body(problems, settings.PUBLIC_BASE_URL), settings.DEFAULT_FROM_EMAIL, recipients)
    except Exception as exc:  # SMTP down or refusing: release the claims, the next pass tries again
        ProblemNotice.objects.filter(pk__in=ids).update(claimed_at=None, last_error=str(exc)[:255])
        metrics.incr("backoffice.alert_email_failed")
        log.exception("alert email not sent; will retry", extra={"branch": branch})
        report.failed += len(claimed)
        return
    ProblemNotice.objects.filter(pk__in=ids).update(emailed_at=timezone.now(), emailed_to=", ".join(recipients),
                                                    last_error="")
    metrics.incr("backoffice.alert_emailed", len(claimed))
    report.emailed += len(claimed)
    report.branches.append(branch)
    for problem in problems:
        with log_context(order_id=str(problem.order.pk)):
            log.warning("problem emailed to managers", extra={"problem": problem.key, "to": len(recipients)})


def problem_mark_handled(*, order: Order, key: str, actor: str) -> bool:
    """A manager says a problem needs nothing more (a late payment that was refunded by itself)."""
    with transaction.atomic():
        notice, _ = ProblemNotice.objects.get_or_create(
            key=key, defaults={"kind": key.partition(":")[0], "order": order, "branch_code": order.branch_code,
                               "summary": f"{order.order_number}: handled"})
        if notice.handled_at is not None:
            return False
        ProblemNotice.objects.filter(pk=notice.pk).update(handled_at=timezone.now(), handled_by=actor[:128])
        OrderEvent.objects.create(order=order, kind="action", actor=actor[:128], reason="problem marked handled",
                                  data={"action": "problem_handled", "problem": key})
    return True


def describe(report: NotifyReport) -> dict[str, Any]:
    return {"found": report.found, "new": report.new, "emailed": report.emailed, "failed": report.failed}
