"""Local development and `make run`: embedded defaults, readable logs."""

from .base import *
from .base import env

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env("SECRET_KEY", default="local-dev-only-not-a-secret")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
LOG_FORMAT = env("LOG_FORMAT", default="text")
LOGGING["handlers"]["console"]["formatter"] = LOG_FORMAT  # type: ignore[index]
# make run prints alert emails on the console instead of needing a mail server.
EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
# Demo seller details, so a bill printed in the demo looks like a real tax invoice.
RESTAURANT_LEGAL_NAME = env("RESTAURANT_LEGAL_NAME", default="Demo Dosa House Private Limited")
RESTAURANT_TRADE_NAME = env("RESTAURANT_TRADE_NAME", default="Demo Dosa House")
RESTAURANT_ADDRESS = env("RESTAURANT_ADDRESS", default="12, 4th Block, Jayanagar | Bengaluru 560011, Karnataka")
RESTAURANT_GSTIN = env("RESTAURANT_GSTIN", default="29AABCD1234E1Z5")
