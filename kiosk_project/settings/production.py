"""Production: refuses to start without its secrets; JSON logs; secure cookies."""

from django.core.exceptions import ImproperlyConfigured

from .base import *
from .base import env

_REQUIRED = ["SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL", "RISTA_BASE_URL", "RISTA_API_KEY",
             "RISTA_SECRET_KEY", "RISTA_WEBHOOK_SECRET", "PUBLIC_BASE_URL"]
if env("PHONEPE_API", default="v2") == "v1":
    _REQUIRED += ["PHONEPE_BASE_URL", "PHONEPE_MERCHANT_ID", "PHONEPE_SALT_KEY", "PHONEPE_SALT_INDEX"]
else:
    _REQUIRED += ["PHONEPE_BASE_URL", "PHONEPE_OAUTH_URL", "PHONEPE_CLIENT_ID", "PHONEPE_CLIENT_SECRET",
                  "PHONEPE_CLIENT_VERSION"]
_REQUIRED += ["PHONEPE_WEBHOOK_USERNAME", "PHONEPE_WEBHOOK_PASSWORD", "KDS_WEBHOOK_SECRET"]
_missing = [name for name in _REQUIRED if not env(name, default="")]
if _missing:
    raise ImproperlyConfigured(f"Production settings need these environment variables: {', '.join(_missing)}")

DEBUG = False
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_CONTENT_TYPE_NOSNIFF = True
LOG_FORMAT = "json"
LOGGING["handlers"]["console"]["formatter"] = "json"
