from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from catalog.services import catalog_refresh_many


class Command(BaseCommand):
    help = "Fetch the menu from Rista now and swap the cached copy (the old copy stays if Rista fails)."

    def add_arguments(self, parser: CommandParser) -> None:
        group = parser.add_mutually_exclusive_group()
        group.add_argument("--channel", help="one channel (default: KIOSK_DEFAULT_CHANNEL)")
        group.add_argument("--all", action="store_true", help="every channel in KIOSK_CHANNELS")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["all"]:
            channels = list(settings.KIOSK_CHANNELS)
        else:
            channels = [options["channel"] or settings.KIOSK_DEFAULT_CHANNEL]
        results = catalog_refresh_many(branch=settings.KIOSK_BRANCH_CODE, channels=channels)
        for channel, result in results.items():
            self.stdout.write(f"{settings.KIOSK_BRANCH_CODE}/{channel}: {result}")
        if any(not r.startswith("ok") for r in results.values()):
            raise CommandError("some channels were not refreshed; their previous menu stays in place")
