"""`python manage.py reconcile_payments [--order ID [--branch CODE]] [--due-only]`: one reconciliation pass, now.

Asks PhonePe about every open payment and refund of every branch (PhonePe's merchant account is the
chain's; or only those due on the schedule, with --due-only; or only one order's, with --order: an order
number is looked up in --branch, default KIOSK_BRANCH_CODE, since numbers restart per branch), applies the
answers exactly as the webhook and the beat job would, runs the expiry check,
and prints each change.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from orders.selectors import order_find
from payments.expiry import orders_expire
from payments.reconciliation import payments_reconcile


class Command(BaseCommand):
    help = "Check open PhonePe payments and refunds now, apply the results, expire unpaid orders; print changes."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--order", help="Only this order (its UUID, or its order number for today's orders).")
        parser.add_argument("--branch", help="The branch an --order number belongs to (default: KIOSK_BRANCH_CODE).")
        parser.add_argument("--due-only", action="store_true",
                            help="Only payments due on PhonePe's schedule (what the beat job does).")

    def handle(self, *args: Any, **options: Any) -> None:
        order_id = self._order_id(options.get("order"), options.get("branch"))
        report = payments_reconcile(order_id=order_id, force=not options["due_only"])
        expiry = orders_expire(order_id=order_id)
        changes = [*report.changes, *expiry.changes]
        for change in changes:
            self.stdout.write(str(change))
        errors = report.errors + expiry.errors
        summary = (f"checked {report.checked} payment(s), {report.refunds_checked} refund(s); "
                   f"{len(changes)} change(s); {expiry.orders_expired} order(s) expired; {errors} error(s)")
        self.stdout.write(self.style.WARNING(summary) if errors else self.style.SUCCESS(summary))

    def _order_id(self, value: str | None, branch_code: str | None) -> Any:
        if not value:
            return None
        order = order_find(reference=value, branch_code=branch_code)
        if order is None:
            raise CommandError(f"no order {value!r}" + (f" in branch {branch_code}" if branch_code else ""))
        return order.pk
