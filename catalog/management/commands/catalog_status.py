import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from catalog import store
from kiosk_project.core.management.branch_options import add_branch_options, branches_chosen


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = int(seconds)
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m{seconds % 60:02d}s"


class Command(BaseCommand):
    help = "Per channel: cached or not, age, ETag, item count, snapshot age."

    def add_arguments(self, parser: CommandParser) -> None:
        add_branch_options(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        for config in branches_chosen(options):
            if options["all"]:
                self.stdout.write(f"== {config.code} ({config.display_name})")
            self._branch(config.code, config.channels)

    def _branch(self, branch: str, channels: tuple[str, ...]) -> None:
        header = f"{'channel':<16} {'cached':<7} {'age':<10} {'etag':<36} {'items':>5}  {'snapshot age':<12}"
        self.stdout.write(header)
        for channel in channels:
            try:
                entry = store.cache_read(branch, channel)
                cached = "yes" if entry else "no"
            except store.CacheDown:
                entry, cached = None, "DOWN"
            snapshot = store.snapshot_read(branch, channel)
            source = entry or snapshot
            items = len(json.loads(source.body).get("items", [])) if source else 0
            self.stdout.write(
                f"{channel:<16} {cached:<7} {_age(entry.age if entry else None):<10} "
                f"{(source.etag if source else '-'):<36} {items:>5}  "
                f"{_age(snapshot.age if snapshot else None):<12}"
            )
