import json
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from kiosk_project.core.branches import branch_config
from kiosk_project.core.models import KioskDevice


class Command(BaseCommand):
    help = "Register a kiosk device and print its key (shown once; only a hash is stored)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        parser.add_argument("--branch", default=None, help="an existing branch's code (default: KIOSK_BRANCH_CODE)")
        parser.add_argument("--channel", default=None,
                            help="the kiosk's home channel, for reference (default: KIOSK_DEFAULT_CHANNEL); "
                                 "orders are priced from their order mode's channel (ORDER_CHANNEL_*)")
        parser.add_argument("--modes", default=None,
                            help="allowed order modes, comma separated (new kiosks: takeaway,dine_in; "
                                 "--rotate keeps the kiosk's own unless given)")
        parser.add_argument("--prefix", default=None,
                            help="order number prefix, e.g. K (new kiosks: K; --rotate keeps the kiosk's own)")
        parser.add_argument("--rotate", action="store_true",
                            help="issue a new key for an existing kiosk (its modes, prefix, branch and channel stay)")
        parser.add_argument("--json", action="store_true", help="print JSON (for scripts)")

    def handle(self, *args: Any, **options: Any) -> None:
        modes = None
        if options["modes"] is not None:
            modes = [m.strip() for m in options["modes"].split(",") if m.strip()]
            bad = set(modes) - {"takeaway", "dine_in"}
            if bad or not modes:
                raise CommandError(f"unknown order modes: {', '.join(sorted(bad)) or '(none given)'}")
        device = KioskDevice.objects.filter(name=options["name"]).first()
        if device and not options["rotate"]:
            raise CommandError(f"kiosk {options['name']!r} exists; use --rotate to issue a new key")
        if device is None:
            device = KioskDevice(name=options["name"], allowed_order_modes=["takeaway", "dine_in"], order_prefix="K")
        device.branch_code = options["branch"] or device.branch_code or settings.KIOSK_BRANCH_CODE
        branch = branch_config(device.branch_code)
        if not branch.exists and device.branch_code != settings.KIOSK_BRANCH_CODE:
            raise CommandError(f"no branch {device.branch_code!r}: create_branch {device.branch_code} --name ...")
        device.channel = options["channel"] or device.channel or branch.default_channel
        if modes is not None:
            device.allowed_order_modes = modes
        if options["prefix"] is not None:
            device.order_prefix = options["prefix"]
        key = device.issue_key()
        device.save()
        if options["json"]:
            self.stdout.write(json.dumps({"name": device.name, "key": key, "branch": device.branch_code,
                                          "channel": device.channel, "order_modes": device.allowed_order_modes,
                                          "order_prefix": device.order_prefix}))
        else:
            self.stdout.write(f"Kiosk {device.name} ({device.branch_code}/{device.channel}). Key (shown once):")
            self.stdout.write(key)
