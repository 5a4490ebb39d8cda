import getpass
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kds_bridge.recovery import kitchen_delivery_resend
from orders.selectors import order_find


class Command(BaseCommand):
    help = ("Queue an order's kitchen delivery again (idempotent: the sender looks the sale up in Rista "
            "before posting, and Rista dedupes on orderTransactionId).")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("order", help="order id (UUID) or order number (latest business day), e.g. K042")
        parser.add_argument("--branch", help="the branch an order number belongs to (default: KIOSK_BRANCH_CODE)")
        parser.add_argument("--force", action="store_true",
                            help="also for a DELIVERED order: re-check with Rista (still never a second sale)")

    def handle(self, *args: Any, **options: Any) -> None:
        order = order_find(reference=options["order"], branch_code=options.get("branch"))
        if order is None:
            where = f" in branch {options['branch']}" if options.get("branch") else ""
            raise CommandError(f"no order {options['order']!r}{where}")
        result = kitchen_delivery_resend(order_id=order.pk, actor=f"operator:{getpass.getuser()}",
                                         force=options["force"])
        line = f"{order.order_number} ({order.pk}): {result.message}"
        if not result.queued:
            self.stdout.write(self.style.WARNING(line))
        else:
            self.stdout.write(self.style.SUCCESS(line))
