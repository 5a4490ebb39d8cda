from django.urls import path

from catalog.apis import CatalogApi, CatalogRefreshApi

urlpatterns = [
    path("catalog", CatalogApi.as_view(), name="catalog"),
    path("catalog/refresh", CatalogRefreshApi.as_view(), name="catalog-refresh"),
]
