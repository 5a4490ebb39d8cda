from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from catalog.services import catalog_refresh_many
from kiosk_project.core.management.branch_options import add_branch_options, branches_chosen


class Command(BaseCommand):
    help = "Fetch the menu from Rista now and swap the cached copy (the old copy stays if Rista fails)."

    def add_arguments(self, parser: CommandParser) -> None:
        add_branch_options(parser, all_help="every channel of every branch")
        parser.add_argument("--channel", help="one channel (default: the branch's default channel; "
                                              "with --branch and no --channel: every channel of that branch)")

    def handle(self, *args: Any, **options: Any) -> None:
        failed = False
        for branch in branches_chosen(options):
            if options["channel"]:
                channels = [options["channel"]]
            elif options["all"] or options["branch"]:
                channels = list(branch.channels)
            else:
                channels = [branch.default_channel]
            results = catalog_refresh_many(branch=branch.code, channels=channels)
            for channel, result in results.items():
                self.stdout.write(f"{branch.code}/{channel}: {result}")
            failed = failed or any(not r.startswith("ok") for r in results.values())
        if failed:
            raise CommandError("some channels were not refreshed; their previous menu stays in place")
