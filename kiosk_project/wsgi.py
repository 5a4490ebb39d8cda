import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kiosk_project.settings.local")
django_application = get_wsgi_application()

from catalog.fastpath import CatalogFastPath  # noqa: E402  (needs Django set up first)

# The menu's cache-hit path is answered before Django's handler (see catalog/fastpath.py).
application = CatalogFastPath(django_application)
