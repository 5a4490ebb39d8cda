"""The order in the back office: a list that finds any order, and one screen with its whole story.

Registered here rather than in orders/admin.py because the screen gathers what
four apps know (orders, payments, kitchen, back office). Every action is a POST
with CSRF, checks its own permission, asks for confirmation first (a dialog on
the page) and calls the one service that owns the change; nothing here writes
a status field.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html

from backoffice.access import HANDLE, PRINT, REFUND, RESEND, can, orders_visible_to
from backoffice.alerts import problem_mark_handled
from backoffice.attention import problems_for_order
from backoffice.labels import kitchen_label, mode_label, refund_label
from backoffice.models import ProblemNotice
from backoffice.order_screen import order_screen
from backoffice.search import order_search, with_today_first
from backoffice.selectors import display_status, today, with_payment_summary
from kds_bridge.recovery import kitchen_delivery_resend
from kiosk_project.core.errors import ApplicationError
from kiosk_project.core.money_format import rupees
from orders.models import KitchenStatus, Order, OrderStatus
from orders.printing import DOCUMENTS, PAID, UnknownDocument, document_preview, order_print
from payments.admin import ReadOnlyAdmin
from payments.gateway import GatewayError
from payments.models import Payment, Refund
from payments.refunds import refund_check, refund_create


def as_uuid(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def badge(text: str, tone: str) -> str:
    return format_html('<span class="bo-badge bo-{}">{}</span>', tone, text)


class BusinessDayFilter(admin.SimpleListFilter):
    """Business days, not calendar days: at 00:30 "Today" still shows the evening's orders."""

    title = "business day"
    parameter_name = "day"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("today", "Today"), ("yesterday", "Yesterday"), ("7", "Last 7 days"), ("30", "Last 30 days")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Order]) -> QuerySet[Order]:
        day = today()
        value = self.value()
        if value == "today":
            return queryset.filter(business_day=day)
        if value == "yesterday":
            return queryset.filter(business_day=day - timedelta(days=1))
        if value in ("7", "30"):
            return queryset.filter(business_day__gt=day - timedelta(days=int(value)))
        return queryset


class HumanStatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("waiting", "Waiting for payment"), ("paid", "Paid"), ("problem", "Paid, kitchen did not get it"),
                ("refunded", "Refunded"), ("expired", "Expired unpaid"), ("cancelled", "Cancelled")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Order]) -> QuerySet[Order]:
        value = self.value()
        statuses = {"waiting": OrderStatus.PENDING, "paid": OrderStatus.CONFIRMED, "refunded": OrderStatus.REFUNDED,
                    "expired": OrderStatus.EXPIRED, "cancelled": OrderStatus.CANCELLED}
        if value == "problem":
            return queryset.filter(status=OrderStatus.CONFIRMED, kitchen_status="REJECTED")
        if value in statuses:
            return queryset.filter(status=statuses[value])
        return queryset


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin):
    list_display = ("number", "day", "status_badge", "kitchen_badge", "amount", "mode", "kiosk",
                    "placed_at")
    list_display_links = ("number",)
    list_filter = (BusinessDayFilter, HumanStatusFilter, "order_mode", "branch_code")
    search_fields = ("order_number",)  # shows the box; get_search_results does the real search
    search_help_text = "Order number (K042 or 42), amount (324.50), UPI reference (UTR) or merchant reference"
    list_per_page = 50
    show_full_result_count = False

    # -- the list ----------------------------------------------------------------------------------

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        return super().changelist_view(request, {"title": "Orders", **(extra_context or {})})

    def get_queryset(self, request: HttpRequest) -> QuerySet[Order]:
        return with_today_first(with_payment_summary(orders_visible_to(request.user))).select_related("device")

    def get_search_results(self, request: HttpRequest, queryset: QuerySet[Order], search_term: str
                           ) -> tuple[QuerySet[Order], bool]:
        if not search_term.strip():
            return queryset, False
        found = order_search(user=request.user, query=search_term).orders
        return queryset.filter(pk__in=found.values("pk")), False

    def get_ordering(self, request: HttpRequest) -> tuple[str, ...]:
        # Today's business day first (an order number repeats daily). `is_today` is annotated by
        # get_queryset, so every admin with a foreign key to Order shows that key read-only.
        return ("is_today", "-created_at")

    @admin.display(description="order", ordering="order_number")
    def number(self, obj: Order) -> str:
        return format_html("<b>{}</b>", obj.order_number)

    @admin.display(description="business day", ordering="business_day")
    def day(self, obj: Order) -> str:
        return f"{obj.business_day:%a %d %b}"

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj: Order) -> str:
        label = display_status(obj)
        return badge(label.text, label.tone)

    @admin.display(description="kitchen", ordering="kitchen_status")
    def kitchen_badge(self, obj: Order) -> str:
        if obj.status not in PAID and obj.kitchen_status == KitchenStatus.NOT_SENT:
            return ""  # nothing for the kitchen: saying so on every unpaid row is noise
        label = kitchen_label(obj.kitchen_status, order_status=obj.status)
        return badge(label.text, label.tone)

    @admin.display(description="amount", ordering="total_amount_include_tax")
    def amount(self, obj: Order) -> str:
        return format_html('<span class="bo-money">{}</span>', rupees(obj.total_amount_include_tax))

    @admin.display(description="mode", ordering="order_mode")
    def mode(self, obj: Order) -> str:
        return mode_label(obj.order_mode)

    @admin.display(description="kiosk", ordering="device__name")
    def kiosk(self, obj: Order) -> str:
        return obj.device.name if obj.device else "-"

    @admin.display(description="placed", ordering="created_at")
    def placed_at(self, obj: Order) -> str:
        return f"{timezone.localtime(obj.created_at):%d %b %H:%M:%S}"

    # Read-only (ReadOnlyAdmin): orders come from kiosks, history is never hand-written; the actions below
    # change an order only through the services that own each change.

    # -- the order screen ------------------------------------------------------------------------------

    def get_urls(self) -> list[URLPattern]:
        def view(func: Any, name: str, route: str) -> URLPattern:
            return path(f"<uuid:order_id>/{route}", self.admin_site.admin_view(func), name=f"orders_order_{name}")

        return [
            view(self.print_view, "print", "print/<str:document>/"),
            view(self.resend_view, "resend", "resend/"),
            view(self.refund_view, "refund", "refund/"),
            view(self.check_refund_view, "check_refund", "check-refund/"),
            view(self.handle_view, "handle", "handle/"),
            *super().get_urls(),
        ]

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "",
                    extra_context: dict[str, Any] | None = None) -> HttpResponse:
        screen = order_screen(order_id=object_id, user=request.user, orders=orders_visible_to(request.user))
        if screen is None:
            raise Http404("No such order")
        order = screen.order
        context = {**self.admin_site.each_context(request), "opts": self.opts, "title": f"Order {order.order_number}",
                   "screen": screen, "order": order, "confirm": request.GET.get("confirm", ""),
                   "other_days": self._same_number_elsewhere(request, order)}
        return TemplateResponse(request, "backoffice/order.html", context)

    def _same_number_elsewhere(self, request: HttpRequest, order: Order) -> int:
        return orders_visible_to(request.user).filter(order_number=order.order_number).exclude(pk=order.pk).count()

    def _order(self, request: HttpRequest, order_id: Any, permission: str) -> Order:
        if not can(request.user, permission):
            raise PermissionDenied
        order = orders_visible_to(request.user).filter(pk=order_id).first()
        if order is None:
            raise Http404("No such order")
        return order

    def _back(self, order: Order) -> HttpResponseRedirect:
        return redirect("admin:orders_order_change", order.pk)

    @staticmethod
    def _actor(request: HttpRequest) -> str:
        return f"staff:{request.user.get_username()}"

    def print_view(self, request: HttpRequest, order_id: Any, document: str) -> HttpResponse:
        """GET: the document as it would print (records nothing). POST (Print pressed): record and print."""
        if document not in DOCUMENTS:
            raise Http404("Unknown document")
        order = self._order(request, order_id, PRINT)
        urls = {"print_url": reverse("admin:orders_order_print", args=[order.pk, document]),
                "back_url": reverse("admin:orders_order_change", args=[order.pk]),
                "document_label": "KOT" if document == "kot" else "bill"}
        try:
            if request.method == "POST":
                context = order_print(order=order, document=document, actor=self._actor(request))
            else:
                context = document_preview(order=order, document=document)
        except UnknownDocument as exc:
            raise Http404("Unknown document") from exc
        return TemplateResponse(request, f"orders/print/{document}.html", {**context, **urls})

    def resend_view(self, request: HttpRequest, order_id: Any) -> HttpResponse:
        if request.method != "POST":
            return redirect(reverse("admin:orders_order_change", args=[order_id]) + "?confirm=resend")
        order = self._order(request, order_id, RESEND)
        result = kitchen_delivery_resend(order_id=order.pk, actor=self._actor(request))
        self.message_user(request, f"Resend to kitchen: {result.message}",
                          messages.SUCCESS if result.queued else messages.WARNING)
        return self._back(order)

    def refund_view(self, request: HttpRequest, order_id: Any) -> HttpResponse:
        if request.method != "POST":
            return redirect(reverse("admin:orders_order_change", args=[order_id]) + "?confirm=refund")
        order = self._order(request, order_id, REFUND)
        reason = " ".join(request.POST.get("reason", "").split())
        payment_id = as_uuid(request.POST.get("payment"))
        payment = Payment.objects.filter(order=order, pk=payment_id).first() if payment_id else None
        if payment is None:
            self.message_user(request, "Choose the payment to refund.", messages.ERROR)
            return self._back(order)
        if len(reason) < 3:
            self.message_user(request, "Nothing refunded: say why (a reason is required).", messages.ERROR)
            return redirect(reverse("admin:orders_order_change", args=[order.pk]) + "?confirm=refund")
        try:
            refund = refund_create(payment_id=payment.pk, reason=reason, requested_by=self._actor(request))
        except (ApplicationError, GatewayError) as exc:
            self.message_user(request, f"Nothing refunded: {exc}", messages.ERROR)
            return self._back(order)
        self.message_user(request, f"Refund of {rupees(refund.amount)} started ({refund.merchant_refund_id}): "
                                   f"{refund_label(refund.status).text}.", messages.SUCCESS)
        return self._back(order)

    def check_refund_view(self, request: HttpRequest, order_id: Any) -> HttpResponse:
        if request.method != "POST":
            return redirect("admin:orders_order_change", order_id)
        order = self._order(request, order_id, REFUND)
        refund_id = as_uuid(request.POST.get("refund"))
        refund = Refund.objects.filter(payment__order=order, pk=refund_id).first() if refund_id else None
        if refund is None:
            raise Http404("No such refund")
        try:
            refund = refund_check(refund_id=refund.pk)
        except GatewayError as exc:
            self.message_user(request, f"PhonePe could not answer: {exc}", messages.ERROR)
            return self._back(order)
        self.message_user(request, f"PhonePe says: {refund.get_status_display()}", messages.INFO)
        return self._back(order)

    def handle_view(self, request: HttpRequest, order_id: Any) -> HttpResponse:
        if request.method != "POST":
            return redirect("admin:orders_order_change", order_id)
        order = self._order(request, order_id, HANDLE)
        key = request.POST.get("problem", "")
        if key not in {p.key for p in problems_for_order(order=order) if p.fix == "handle"}:
            self.message_user(request, "That problem is not open any more.", messages.WARNING)
            return self._back(order)
        problem_mark_handled(order=order, key=key, actor=self._actor(request))
        self.message_user(request, "Marked as handled.", messages.SUCCESS)
        return self._back(order)


@admin.register(ProblemNotice)
class ProblemNoticeAdmin(ReadOnlyAdmin):
    list_display = ("summary", "kind", "branch_code", "first_seen_at", "emailed_at", "emailed_to", "handled_by")
    list_filter = ("kind", "branch_code")
    search_fields = ("summary", "key")
    readonly_fields = [f.name for f in ProblemNotice._meta.fields]
    list_select_related = ("order",)
