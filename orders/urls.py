from django.urls import path

from orders.apis import OrderCreateApi, OrderQuoteApi

# The order's detail, status poll and cancel carry its payment's state: payments.urls.
urlpatterns = [
    path("orders", OrderCreateApi.as_view(), name="order-create"),
    path("orders/quote", OrderQuoteApi.as_view(), name="order-quote"),
]
