from datetime import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from kds_bridge.admin import age
from kds_bridge.models import DeliveryStatus, KitchenDelivery
from kds_bridge.selectors import kitchen_deliveries_needing_attention, kitchen_stuck_orders
from kiosk_project.core.management.branch_options import add_branch_options, branches_chosen


def _next(delivery: KitchenDelivery, now: datetime) -> str:
    if delivery.status == DeliveryStatus.PENDING:
        wait = int((delivery.next_attempt_at - now).total_seconds())
        return f"in {wait}s" if wait > 0 else "due"
    if delivery.status == DeliveryStatus.SENDING and delivery.claimed_until:
        return "sending" if delivery.claimed_until > now else "expired"
    return "-"


class Command(BaseCommand):
    help = ("Kitchen deliveries not in Rista (pending, sending, failed, rejected), oldest first, and paid "
            "orders stuck on the way (the ones the alert check is shouting about).")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--limit", type=int, default=200)
        add_branch_options(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        now = timezone.now()
        codes = [branch.code for branch in branches_chosen(options)]
        stuck = list(kitchen_stuck_orders(now=now, branch_codes=codes))
        stuck_ids = {order.pk for order in stuck}
        deliveries = list(kitchen_deliveries_needing_attention(branch_codes=codes)[: options["limit"]])
        self.stdout.write(f"{'order':<8} {'branch':<8} {'order id':<36} {'delivery':<10} {'kitchen':<10} {'tries':>5} "
                          f"{'age':>7} {'next':>9} {'stuck':<5} last error")
        for d in deliveries:
            self.stdout.write(
                f"{d.order.order_number:<8} {d.order.branch_code:<8} {d.order_id!s:<36} {d.status:<10} "
                f"{d.order.kitchen_status:<10} "
                f"{d.attempts:>5} {age(d.order.confirmed_at or d.created_at):>7} {_next(d, now):>9} "
                f"{'YES' if d.order_id in stuck_ids else '':<5} {d.last_error[:60]}")
        listed = {d.order_id for d in deliveries}
        for order in stuck:
            if order.pk not in listed:  # paid, but no kitchen delivery row at all
                self.stdout.write(
                    f"{order.order_number:<8} {order.branch_code:<8} {order.pk!s:<36} {'(none)':<10} "
                    f"{order.kitchen_status:<10} "
                    f"{'-':>5} {age(order.confirmed_at):>7} {'-':>9} {'YES':<5} no kitchen delivery")
        self.stdout.write(f"\n{len(deliveries)} deliveries not in Rista; {len(stuck)} paid orders stuck "
                          f"in {', '.join(codes)} "
                          "(CONFIRMED past KDS_ALERT_AFTER_SECONDS without a delivered sale)")
