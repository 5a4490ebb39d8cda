"""Who may see what and do what in the back office: one place for every check.

`orders_visible_to` is the one answer to "which orders may this user see";
every list, board, search, report and order page starts from it. It keeps the
user's branches only (kiosk_project.core.branch_access: chain owners see all,
managers their assigned branches); an order of another branch is a 404.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from kiosk_project.core.branch_access import branch_codes_visible_to, filter_to_branches
from kiosk_project.core.models import Branch
from orders.models import Order

# Each action of the order page needs its own permission (a view-only user has none of them).
PRINT = "orders.print_order"
REPORTS = "orders.view_reports"
REFUND = "payments.refund_payment"
RESEND = "kds_bridge.resend_kitchendelivery"
HANDLE = "backoffice.handle_problems"
VIEW_ORDERS = "orders.view_order"


def is_back_office_user(user: Any) -> bool:
    return bool(user.is_active and user.is_staff)


def orders_visible_to(user: Any) -> QuerySet[Order]:
    if not is_back_office_user(user) or not user.has_perm(VIEW_ORDERS):
        return Order.objects.none()
    return filter_to_branches(Order.objects.all(), user)


def branches_visible_to(user: Any) -> list[str]:
    """The branch codes to offer this user (board, reports): their branches, with orders or not."""
    if not is_back_office_user(user) or not user.has_perm(VIEW_ORDERS):
        return []
    codes = branch_codes_visible_to(user)
    if codes is None:  # every branch: the rows, and any code only old orders still carry
        return sorted({*Branch.objects.values_list("code", flat=True),
                       *Order.objects.values_list("branch_code", flat=True).distinct()})
    return codes


def can(user: Any, permission: str) -> bool:
    return is_back_office_user(user) and user.has_perm(permission)


def actions_allowed(user: Any) -> dict[str, bool]:
    return {"print": can(user, PRINT), "refund": can(user, REFUND), "resend": can(user, RESEND),
            "reports": can(user, REPORTS), "handle": can(user, HANDLE)}
