from django.urls import path

from payments.apis import PaymentDetailApi, PaymentInitiateApi, PaymentWebhookApi

urlpatterns = [
    path("payment/initiate", PaymentInitiateApi.as_view(), name="payment-initiate"),
    path("payment/webhook", PaymentWebhookApi.as_view(), name="payment-webhook"),
    path("payment/<str:payment_id>", PaymentDetailApi.as_view(), name="payment-detail"),
]
