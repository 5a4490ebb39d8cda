"""The back office's own pages (admin views: staff login and the admin's look). Thin: parse, call, render."""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse

from backoffice import charts, reports
from backoffice.access import REPORTS, actions_allowed, branches_visible_to, can, orders_visible_to
from backoffice.attention import problems_list
from backoffice.board import board_for
from backoffice.search import order_search
from backoffice.selectors import today


def _page(request: HttpRequest, template: str, title: str, **context: object) -> TemplateResponse:
    return TemplateResponse(request, template, {**admin.site.each_context(request), "title": title, **context})


def search(request: HttpRequest) -> HttpResponse:
    """The index's search box: straight to the order when the query clearly means one, else the list."""
    query = request.GET.get("q", "").strip()
    result = order_search(user=request.user, query=query)
    if result.jump_to is not None:
        return redirect("admin:orders_order_change", result.jump_to.pk)
    return redirect(reverse("admin:orders_order_changelist") + "?" + urlencode({"q": query}))


def _branch(request: HttpRequest) -> tuple[str, list[str]]:
    branches = branches_visible_to(request.user) or [settings.KIOSK_BRANCH_CODE]
    chosen = request.GET.get("branch", "")
    return (chosen if chosen in branches else branches[0] if len(branches) == 1 else
            settings.KIOSK_BRANCH_CODE if settings.KIOSK_BRANCH_CODE in branches else branches[0]), branches


def board(request: HttpRequest) -> TemplateResponse:
    branch, branches = _branch(request)
    live = board_for(orders=orders_visible_to(request.user), branch=branch)
    return _page(request, "backoffice/board.html", f"Live board, {live.day:%a %d %b}", board=live, branch=branch,
                 branches=branches, refresh_seconds=settings.BACKOFFICE_BOARD_REFRESH_SECONDS,
                 live_url=reverse("admin:backoffice_board_live") + "?" + urlencode({"branch": branch}))


def board_live(request: HttpRequest) -> TemplateResponse:
    """The board's columns alone, as an HTML fragment the board page swaps in every few seconds."""
    branch, _ = _branch(request)
    live = board_for(orders=orders_visible_to(request.user), branch=branch)
    return TemplateResponse(request, "backoffice/board_columns.html", {"board": live})  # never cached (admin_view)


def attention(request: HttpRequest) -> TemplateResponse:
    problems = problems_list(orders=orders_visible_to(request.user))
    return _page(request, "backoffice/attention.html", "Needs attention", problems=problems,
                 allowed=actions_allowed(request.user))


def _period(request: HttpRequest) -> tuple[reports.Period | None, str]:
    branch = request.GET.get("branch", "")
    if branch and branch not in branches_visible_to(request.user):
        raise PermissionDenied
    try:
        return reports.period_parse(day=request.GET.get("day", ""), first=request.GET.get("from", ""),
                                    last=request.GET.get("to", ""), branch=branch, default=today()), ""
    except reports.BadPeriod as exc:
        return None, str(exc)


def reports_page(request: HttpRequest) -> TemplateResponse:
    if not can(request.user, REPORTS):
        raise PermissionDenied
    period, error = _period(request)
    context: dict[str, object] = {"error": error, "branches": branches_visible_to(request.user)}
    if period is not None:
        orders = orders_visible_to(request.user)
        hours = reports.sales_by_hour(period, orders)
        query = urlencode({k: v for k, v in request.GET.items() if k in ("day", "from", "to", "branch")})
        context |= {"period": period, "takings": reports.takings(period, orders),
                    "items": reports.item_sales(period, orders), "hours": hours,
                    "chart": charts.hourly_bars(hours), "query": query}
    title = f"Sales report, {period.label}" if period else "Sales report"
    return _page(request, "backoffice/reports.html", title, **context)


CSV_REPORTS = {"takings", "items", "hours", "orders"}


def report_csv(request: HttpRequest, report: str) -> HttpResponse:
    if not can(request.user, REPORTS):
        raise PermissionDenied
    if report not in CSV_REPORTS:
        return HttpResponse("Unknown report", status=404, content_type="text/plain")
    period, error = _period(request)
    if period is None:
        return HttpResponse(error, status=400, content_type="text/plain")
    orders = orders_visible_to(request.user)
    body = {"takings": lambda: reports.takings_csv(reports.takings(period, orders)),
            "items": lambda: reports.items_csv(reports.item_sales(period, orders)),
            "hours": lambda: reports.hours_csv(reports.sales_by_hour(period, orders)),
            "orders": lambda: reports.orders_csv(period, orders)}[report]()
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    branch = f"-{period.branch}" if period.branch else ""
    response["Content-Disposition"] = f'attachment; filename="{report}{branch}-{period.slug}.csv"'
    return response
