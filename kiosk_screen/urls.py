from django.urls import path

from kiosk_screen.views import kiosk_screen

urlpatterns = [
    path("", kiosk_screen, name="kiosk-screen"),
]
