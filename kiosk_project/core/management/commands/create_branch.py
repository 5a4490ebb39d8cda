import json
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from kiosk_project.core.branches import branch_create
from kiosk_project.core.models import Branch


def _list(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


class Command(BaseCommand):
    help = ("Add a branch. Fields not given stay blank and follow the deployment's settings "
            "(KIOSK_CHANNELS, TIME_ZONE, RESTAURANT_*); change the rest in the admin (Branches).")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("code", help="Rista's branchCode, e.g. MYS01")
        parser.add_argument("--name", required=True, help="display name, e.g. 'Mysuru, Kuvempunagar'")
        parser.add_argument("--legal-name", default="")
        parser.add_argument("--address", default="")
        parser.add_argument("--gstin", default="")
        parser.add_argument("--invoice-prefix", default="",
                            help="1-4 letters/digits, unique per branch (default: the first 4 of the code)")
        parser.add_argument("--time-zone", default="", help="e.g. Asia/Kolkata (default: TIME_ZONE)")
        parser.add_argument("--day-start-hour", type=int, default=None,
                            help="business day start (default: ORDER_BUSINESS_DAY_START_HOUR)")
        parser.add_argument("--channels", default="", help="Rista channels served, comma separated")
        parser.add_argument("--modes", default="", help="order modes taken, comma separated (default: all)")
        parser.add_argument("--hours", default="",
                            help='opening hours as JSON, e.g. \'{"mon": ["07:00-22:30"]}\' (default: always open)')
        parser.add_argument("--closed", action="store_true", help="create it with the open switch off")
        parser.add_argument("--json", action="store_true", help="print JSON (for scripts)")

    def handle(self, *args: Any, **options: Any) -> None:
        code = options["code"]
        if Branch.objects.filter(code=code).exists():
            raise CommandError(f"branch {code!r} exists; change it in the admin")
        try:
            hours = json.loads(options["hours"]) if options["hours"] else {}
        except ValueError as exc:
            raise CommandError(f"--hours is not JSON: {exc}") from None
        try:
            branch = branch_create(
                code=code, display_name=options["name"], legal_name=options["legal_name"],
                address=options["address"], gstin=options["gstin"].upper(),
                invoice_prefix=options["invoice_prefix"] or code.replace("-", "").replace("_", "")[:4],
                time_zone=options["time_zone"], business_day_start_hour=options["day_start_hour"],
                channels=_list(options["channels"]), enabled_order_modes=_list(options["modes"]),
                opening_hours=hours, is_open=not options["closed"])
        except ValidationError as exc:
            problems = "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items())
            raise CommandError(problems) from None
        if options["json"]:
            self.stdout.write(json.dumps({"code": branch.code, "name": branch.display_name,
                                          "invoice_prefix": branch.invoice_prefix, "open": branch.is_open}))
        else:
            self.stdout.write(f"Branch {branch.code} ({branch.display_name}), invoices {branch.invoice_prefix}/... "
                              "Add kiosks with: create_kiosk NAME --branch " + branch.code)
