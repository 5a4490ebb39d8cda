from django.urls import path

from kds_bridge.apis import KitchenWebhookApi

urlpatterns = [
    path("kds/webhook", KitchenWebhookApi.as_view(), name="kds-webhook"),
]
