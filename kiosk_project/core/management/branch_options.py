"""`--branch CODE` and `--all` for commands that work per branch."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import CommandError, CommandParser

from kiosk_project.core.branches import BranchConfig, branch_config, branch_configs


def add_branch_options(parser: CommandParser, *, all_help: str = "every branch") -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--branch", help="one branch's code (default: KIOSK_BRANCH_CODE)")
    group.add_argument("--all", action="store_true", help=all_help)


def branches_chosen(options: dict[str, Any]) -> list[BranchConfig]:
    """The branches `--branch` / `--all` name; an unknown code is an error, not a silent no-op."""
    if options.get("all"):
        return branch_configs()
    code = options.get("branch") or settings.KIOSK_BRANCH_CODE
    branch = branch_config(code)
    if not branch.exists and code != settings.KIOSK_BRANCH_CODE:
        raise CommandError(f"no branch {code!r} (create_branch {code} --name ...)")
    return [branch]
