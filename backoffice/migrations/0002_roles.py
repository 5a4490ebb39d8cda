"""The back office's roles, as groups with exactly these permissions (re-running sets them again).

* Shift manager: sees orders, payments, refunds and kitchen deliveries; prints and reprints KOTs
  and bills; resends to the kitchen; marks problems handled; gets problem emails.
* Branch manager: all of that, plus refunds, reports and exports, kiosk devices and the menu
  (store settings: the cached catalog), and problem emails.
* Accountant: reports and exports, and every order, payment and refund, read-only.

docs/back-office.md has the table. Give a person a role by adding them to its group (and
ticking "staff status") in Users.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

SEE = ["orders.view_order", "orders.view_orderline", "orders.view_orderevent", "payments.view_payment",
       "payments.view_paymentevent", "payments.view_refund", "kds_bridge.view_kitchendelivery",
       "kds_bridge.view_kitchendeliveryattempt", "backoffice.view_problemnotice"]
SHIFT = [*SEE, "orders.print_order", "kds_bridge.resend_kitchendelivery", "backoffice.handle_problems",
         "backoffice.receive_alerts"]
BRANCH = [*SHIFT, "payments.refund_payment", "orders.view_reports", "core.view_kioskdevice",
          "core.add_kioskdevice", "core.change_kioskdevice", "catalog.view_catalogsnapshot"]
ACCOUNTANT = [*SEE, "orders.view_reports"]
ROLES = {"Shift manager": SHIFT, "Branch manager": BRANCH, "Accountant": ACCOUNTANT}


def create_roles(apps, schema_editor, roles=ROLES):
    # Permissions are normally created after all migrations (post_migrate); the roles need them now.
    for config in apps.get_app_configs():
        original = getattr(config, "models_module", None)
        config.models_module = True  # create_permissions skips an app without it
        create_permissions(config, verbosity=0, apps=apps)
        config.models_module = original
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codes in roles.items():
        group, _ = Group.objects.get_or_create(name=name)
        perms = []
        for code in codes:
            app_label, codename = code.split(".")
            perms.append(Permission.objects.get(content_type__app_label=app_label, codename=codename))
        group.permissions.set(perms)


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("backoffice", "0001_problem_notices"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("orders", "0003_invoices_and_permissions"),
        ("payments", "0003_refund_permission"),
        ("kds_bridge", "0002_resend_permission"),
        ("core", "0001_initial"),
        ("catalog", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
