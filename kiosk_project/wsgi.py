import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kiosk_project.settings.local")
django_application = get_wsgi_application()

from catalog.fastpath import CatalogFastPath  # noqa: E402  (needs Django set up first)
from payments.status_fastpath import StatusFastPath  # noqa: E402

# The menu's cache-hit path and the status poll are answered before Django's handler
# (catalog/fastpath.py, payments/status_fastpath.py); everything else goes to Django.
application = StatusFastPath(CatalogFastPath(django_application))
