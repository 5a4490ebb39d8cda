"""The back office's admin site: Django's admin, plus the pages a shift works from.

Index: the search box, what needs attention (with its count), links to the
live board and the reports. The extra pages are in backoffice.views; they are
admin views (staff login, the admin's look), so they extend the admin instead
of fighting it.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, URLResolver, path

from backoffice import views
from backoffice.access import actions_allowed, orders_visible_to
from backoffice.attention import problems_list
from backoffice.security import login_throttle
from kiosk_project.core.ratelimit import RateLimited


class BackOfficeSite(admin.AdminSite):
    site_header = "Kiosk back office"
    site_title = "Kiosk back office"
    index_title = "Today"
    enable_nav_sidebar = False  # the pages are wide (the board, the order screen): use the full width
    site_url = None  # the site is this back office; there is no public site to "view"

    def get_urls(self) -> list[URLResolver | URLPattern]:
        own = [
            path("search/", self.admin_view(views.search), name="backoffice_search"),
            path("board/", self.admin_view(views.board), name="backoffice_board"),
            path("board/live/", self.admin_view(views.board_live), name="backoffice_board_live"),
            path("attention/", self.admin_view(views.attention), name="backoffice_attention"),
            path("reports/", self.admin_view(views.reports_page), name="backoffice_reports"),
            path("reports/<str:report>.csv", self.admin_view(views.report_csv), name="backoffice_report_csv"),
        ]
        return own + super().get_urls()

    def index(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> TemplateResponse:
        problems = problems_list(orders=orders_visible_to(request.user))
        context = {"problems": problems[:5], "problem_count": len(problems), "allowed": actions_allowed(request.user),
                   **(extra_context or {})}
        return super().index(request, context)

    def login(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        if request.method == "POST":
            try:
                login_throttle(request)
            except RateLimited as exc:
                response = TemplateResponse(request, "backoffice/locked_out.html",
                                            {"retry_after": exc.retry_after, "throttled": True}, status=429)
                response["Retry-After"] = str(exc.retry_after)
                return response
        return super().login(request, extra_context)
