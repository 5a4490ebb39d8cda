"""Which branches a back-office user may see: the one rule every admin list, page, action and report uses.

* a superuser, or a user holding ``core.view_all_branches`` (the Chain owner role): every branch;
* a user assigned to branches (Branch.staff; the branch page in the admin): those branches;
* anyone else on the staff: the deployment's own branch (KIOSK_BRANCH_CODE), so a single restaurant
  changes nothing, and a chain's new branches are seen only by the people given them.

Anything outside a user's branches does not exist for them: lists leave it out and its pages are 404,
so a manager cannot even learn that another branch's order number is in use.
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.conf import settings
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest

from kiosk_project.core.models import Branch

ALL_BRANCHES = "core.view_all_branches"
M = TypeVar("M", bound=Model)


def branch_codes_visible_to(user: Any) -> list[str] | None:
    """The codes this user may see; None means every branch."""
    if not (user.is_active and user.is_staff):
        return []
    if user.is_superuser or user.has_perm(ALL_BRANCHES):
        return None
    assigned = sorted(Branch.objects.filter(staff=user).values_list("code", flat=True))
    return assigned or [settings.KIOSK_BRANCH_CODE]


def user_sees_branch(user: Any, code: str) -> bool:
    """Whether the branch is among the user's (the same rule, staff status aside: alert emails)."""
    if user.is_superuser or user.has_perm(ALL_BRANCHES):
        return True
    assigned = set(Branch.objects.filter(staff=user).values_list("code", flat=True))
    return code in assigned if assigned else code == settings.KIOSK_BRANCH_CODE


def filter_to_branches(queryset: QuerySet[M], user: Any, field: str = "branch_code") -> QuerySet[M]:
    """`queryset` narrowed to the rows of the user's branches (`field` holds the branch code)."""
    codes = branch_codes_visible_to(user)
    return queryset if codes is None else queryset.filter(**{f"{field}__in": codes})


class BranchScopedAdmin:
    """A ModelAdmin mixin: lists, pages and actions hold only the rows of the user's branches
    (``branch_field``: the lookup to the row's branch code). The page of another branch's row is a 404,
    like the order page's, rather than the admin's redirect to its index."""

    branch_field = "branch_code"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return filter_to_branches(super().get_queryset(request), request.user, self.branch_field)  # type: ignore[misc]

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None) -> Any:
        found = super().get_object(request, object_id, from_field)  # type: ignore[misc]
        if found is None:
            raise Http404("Not found")
        return found
