"""`make run`'s demo kiosk: a key that works with *this* database, kept in a state file between runs.

The key in the state file is checked against the database every time: switching `make run` from SQLite to
PostgreSQL (or a fresh database) leaves a key the new database has never seen, and printing it would make
every call answer 401. An unknown key is replaced: the demo kiosk is created, or its key re-issued (its
order modes and prefix kept), and the state file rewritten. A key that still works is printed unchanged.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from kiosk_project.core.kiosk_auth import kiosk_for_key
from kiosk_project.core.models import KioskDevice


class Command(BaseCommand):
    help = "Print the demo kiosk's key, creating the kiosk or re-issuing its key when this database does not know it."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", default="demo-kiosk")
        parser.add_argument("--state", default=str(Path(settings.BASE_DIR) / ".run" / "demo-kiosk.json"),
                            help="where the key is kept between runs (default .run/demo-kiosk.json)")

    def handle(self, *args: Any, **options: Any) -> None:
        state = Path(options["state"])
        name = options["name"]
        try:
            saved = json.loads(state.read_text())
        except (OSError, ValueError):
            saved = {}
        key = saved.get("key") if isinstance(saved, dict) else None
        known = kiosk_for_key(key) if isinstance(key, str) else None
        if known is not None and known.name == name:
            self.stdout.write(json.dumps({**saved, "state": "kept"}))
            return
        device = KioskDevice.objects.filter(name=name).first()
        outcome = "re-issued" if device else "created"
        if device is None:
            device = KioskDevice(name=name, branch_code=settings.KIOSK_BRANCH_CODE,
                                 channel=settings.KIOSK_DEFAULT_CHANNEL, allowed_order_modes=["takeaway", "dine_in"],
                                 order_prefix="K")
        device.is_active = True
        key = device.issue_key()
        device.save()
        record = {"name": device.name, "key": key, "branch": device.branch_code, "channel": device.channel}
        state.parent.mkdir(parents=True, exist_ok=True)
        state.write_text(json.dumps(record))
        self.stdout.write(json.dumps({**record, "state": outcome}))
