"""Branches: the Chain owner role, and branch managers see their branch's settings.

* Chain owner: everything a Branch manager may do, in every branch (core.view_all_branches), plus
  adding and changing branches (hours, the open switch, who works where).
* Branch manager: also sees its branch's row (hours, open switch) read-only.

Which branches a user sees: kiosk_project.core.branch_access (docs/chain.md).
"""

from importlib import import_module

from django.db import migrations

roles = import_module("backoffice.migrations.0002_roles")

BRANCH = [*roles.BRANCH, "core.view_branch"]
CHAIN_OWNER = [*BRANCH, "core.view_all_branches", "core.add_branch", "core.change_branch"]
ROLES = {"Branch manager": BRANCH, "Chain owner": CHAIN_OWNER}


def set_roles(apps, schema_editor):
    roles.create_roles(apps, schema_editor, ROLES)  # 0002's set-up (permissions created first), these roles


def unset_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name="Chain owner").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("backoffice", "0002_roles"),
        ("core", "0002_branch"),
    ]

    operations = [migrations.RunPython(set_roles, unset_roles)]
