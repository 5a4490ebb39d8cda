from django.urls import path

from catalog.apis import CatalogApi, CatalogRefreshApi

urlpatterns = [
    # Most hits never get here: catalog.fastpath.CatalogFastPath wraps the WSGI application (kiosk_project/wsgi.py)
    # and answers a fresh cached menu (200 or 304) before Django. This view answers everything else (misses,
    # ageing copies, kiosk-key mode, cache trouble), and tests prove both give the same bytes and headers.
    path("catalog", CatalogApi.as_view(), name="catalog"),
    path("catalog/refresh", CatalogRefreshApi.as_view(), name="catalog-refresh"),
]
