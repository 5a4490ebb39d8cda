from django.urls import path

from payments.apis import PaymentDetailApi, PaymentInitiateApi, PaymentWebhookApi
from payments.order_apis import OrderCancelApi, OrderDetailApi, OrderStatusApi

urlpatterns = [
    path("orders/<str:order_id>", OrderDetailApi.as_view(), name="order-detail"),
    path("orders/<str:order_id>/status", OrderStatusApi.as_view(), name="order-status"),
    path("orders/<str:order_id>/cancel", OrderCancelApi.as_view(), name="order-cancel"),
    path("payment/initiate", PaymentInitiateApi.as_view(), name="payment-initiate"),
    path("payment/webhook", PaymentWebhookApi.as_view(), name="payment-webhook"),
    path("payment/<str:payment_id>", PaymentDetailApi.as_view(), name="payment-detail"),
]
