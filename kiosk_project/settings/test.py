"""The test suite: real PostgreSQL and Redis, always.

`make test` exports DATABASE_URL/REDIS_URL (starting throwaway servers when
they are unset); running pytest without them is a mistake we refuse early.
"""

from django.core.exceptions import ImproperlyConfigured

from .base import *
from .base import DB_IS_POSTGRES, REDIS_URL, env

if not DB_IS_POSTGRES or not REDIS_URL:
    raise ImproperlyConfigured(
        "Tests run on real PostgreSQL and Redis: set DATABASE_URL and REDIS_URL, or use `make test`."
    )

SECRET_KEY = "test-only-secret-key"
ALLOWED_HOSTS = ["*"]
DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOG_FORMAT = env("LOG_FORMAT", default="text")
LOGGING["handlers"]["console"]["formatter"] = LOG_FORMAT
LOGGING["root"]["level"] = env("LOG_LEVEL", default="WARNING")
# Tests talk to sandboxes on loopback: fail fast instead of waiting seconds.
RISTA_CONNECT_TIMEOUT = 1.0
RISTA_READ_TIMEOUT = 2.0
CATALOG_FILL_WAIT = 3.0
# Short kitchen time limits and lease, so the real-worker tests that wait out a dead sender's lease
# take seconds, not half a minute (production: hard limit 24 s, lease 29 s; here 8 s and 9 s).
KDS_SEND_TIME_LIMIT_MARGIN = 2.0
KDS_LEASE_MARGIN = 1.0
# A post that may have reached Rista can be stored up to this long after it was sent (production: 30 s).
KDS_POST_SETTLE_SECONDS = 4.0
LOGGING["loggers"]["django.request"] = {"level": "ERROR"}
# No collectstatic before tests: serve from the apps' static folders (WhiteNoise finds them itself).
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
RESTAURANT_LEGAL_NAME = "Test Dosa House Private Limited"
RESTAURANT_TRADE_NAME = "Test Dosa House"
RESTAURANT_ADDRESS = "12, 4th Block, Jayanagar | Bengaluru 560011, Karnataka"
RESTAURANT_GSTIN = "29AABCT1234E1Z5"
RESTAURANT_FSSAI = "11224999000123"
