from django.urls import path

from orders.apis import OrderCreateApi, OrderDetailApi, OrderQuoteApi, OrderStatusApi

urlpatterns = [
    path("orders", OrderCreateApi.as_view(), name="order-create"),
    path("orders/quote", OrderQuoteApi.as_view(), name="order-quote"),
    path("orders/<str:order_id>", OrderDetailApi.as_view(), name="order-detail"),
    path("orders/<str:order_id>/status", OrderStatusApi.as_view(), name="order-status"),
]
