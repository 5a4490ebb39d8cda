"""Settings shared by every environment. Everything is read from the environment (and a .env file).

Embedded defaults (SQLite, local-memory cache, eager Celery) apply only when
DATABASE_URL / REDIS_URL / CELERY_BROKER_URL are unset; production.py refuses
to start without them. Every variable is listed in .env.example and the README.
"""

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

from kiosk_project.settings.dotenv import load_dot_env

BASE_DIR = Path(__file__).resolve().parent.parent.parent
DOT_ENV_FILE = load_dot_env()  # .env beside manage.py, when present; the environment wins (dotenv.py)
env = environ.Env()

SECRET_KEY = env("SECRET_KEY", default="")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    # The admin with the back office's own site (index, search, board, reports): backoffice.site.
    "backoffice.apps.BackOfficeAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI and Redoc as our own static files
    "kiosk_project.core",
    "catalog",
    "orders",
    "payments",
    "kds_bridge",
    "backoffice",
    "kiosk_screen",  # the reference kiosk screen at /kiosk/ (static page + modules; calls only the public API)
    "axes",  # last, as its docs ask: it watches every login of the apps above
]

MIDDLEWARE = [
    "kiosk_project.core.middleware.RequestContextMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Static files straight from gunicorn (compressed, cached forever by hashed name), before any other work.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "kiosk_project.core.middleware.ApiBodyLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # turns a locked-out login into the lockout page
    # Last, so it sees view exceptions first: a database outage in a non-DRF view is a 503, not a 500.
    "kiosk_project.core.exception_handler.DatabaseUnavailableMiddleware",
]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses logins while locked out, counts failures
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "kiosk_project.urls"
WSGI_APPLICATION = "kiosk_project.wsgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
            "builtins": ["kiosk_project.core.templatetags.money"],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DB_IS_POSTGRES = DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
DB_STATEMENT_TIMEOUT_MS = env.int("DB_STATEMENT_TIMEOUT_MS", default=5000)
# The client-side deadline on every wait for the server (kiosk_project.core.db): a query the server would
# still answer (statement_timeout) is never abandoned; a frozen server or a vanished host fails the request.
DB_QUERY_TIMEOUT = env.float("DB_QUERY_TIMEOUT", default=DB_STATEMENT_TIMEOUT_MS / 1000 + 1)
# After PostgreSQL could not be reached, a process fails database work at once (503) for this long
# before trying again, instead of every request paying the connect timeout.
DB_OUTAGE_BACKOFF = env.float("DB_OUTAGE_BACKOFF", default=2.0)
# The deadline of a health probe of an idle connection (an empty query): a healthy server answers in ms.
DB_PROBE_TIMEOUT = env.float("DB_PROBE_TIMEOUT", default=1.0)
if DB_IS_POSTGRES:
    DATABASES["default"]["ENGINE"] = "kiosk_project.core.db"  # Django's backend, with the deadline above
    # DB_POOL=true uses psycopg's pool (one per process); otherwise persistent connections.
    if env.bool("DB_POOL", default=False):
        DATABASES["default"]["CONN_MAX_AGE"] = 0
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": env.int("DB_POOL_MIN", default=2),
            "max_size": env.int("DB_POOL_MAX", default=20),
            # How long a request waits for a connection. The pool is larger than a process's threads, so
            # this is only ever spent when PostgreSQL cannot be reached: fail (503) fast.
            "timeout": env.float("DB_POOL_TIMEOUT", default=1.0),
        }
    else:
        DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True  # with the pool: checked when lent (kiosk_project.core.db)
    # A stuck query must not hang a kiosk: cap every statement and connection attempt (psycopg's minimum
    # connect timeout is 2 s; a stopped server refuses at once). Keepalives and tcp_user_timeout notice a
    # host that disappeared without a reset, between requests and under one.
    DATABASES["default"].setdefault("OPTIONS", {}).update({
        "connect_timeout": env.int("DB_CONNECT_TIMEOUT", default=2),
        "options": f"-c statement_timeout={DB_STATEMENT_TIMEOUT_MS}",
        "keepalives": 1, "keepalives_idle": 10, "keepalives_interval": 3, "keepalives_count": 3,
        "tcp_user_timeout": int(DB_QUERY_TIMEOUT * 1000),
    })
    # DB_PGBOUNCER=true: DATABASE_URL is PgBouncer in transaction pooling mode (docs/deploy.md). Each
    # transaction may run on another server connection, so nothing may outlive one: no server-side cursors
    # (Django's .iterator() opens one), and no `options` startup parameter, which PgBouncer refuses
    # ("unsupported startup parameter: options"): statement_timeout is then the role's own setting,
    # `ALTER ROLE kiosk SET statement_timeout = '5s'` (DB_STATEMENT_TIMEOUT_MS still sets the client-side
    # deadline). Django binds parameters client-side and psycopg prepares nothing (prepare_threshold None).
    DB_PGBOUNCER = env.bool("DB_PGBOUNCER", default=False)
    if DB_PGBOUNCER:
        DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True
        del DATABASES["default"]["OPTIONS"]["options"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache (Redis when REDIS_URL is set) ----------------------------------------------------
REDIS_URL = env("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "kiosk",
            "OPTIONS": {
                # Short socket timeouts: a slow or dead Redis must degrade to the
                # PostgreSQL snapshot, never hang the menu screen.
                "SOCKET_CONNECT_TIMEOUT": env.float("REDIS_CONNECT_TIMEOUT", default=0.5),
                "SOCKET_TIMEOUT": env.float("REDIS_SOCKET_TIMEOUT", default=0.5),
                "CONNECTION_POOL_KWARGS": {"max_connections": env.int("REDIS_MAX_CONNECTIONS", default=100)},
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "kiosk"}}

# --- Celery -----------------------------------------------------------------------------------
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL or "memory://")
# With no broker configured at all, tasks run eagerly (make run's embedded mode).
# They are still fired from transaction.on_commit, so "after commit" holds everywhere.
CELERY_TASK_ALWAYS_EAGER = not (env("CELERY_BROKER_URL", default="") or REDIS_URL)
# Production and docker compose run RabbitMQ (amqp://); Redis stays the broker of the simple modes (`make run`
# with REDIS_URL, a one-box install). On Redis, kombu's transport with the fix for the worker dying on a broker
# restart (kiosk_project/broker.py).
BROKER_IS_REDIS = CELERY_BROKER_URL.startswith(("redis://", "rediss://"))
BROKER_IS_AMQP = CELERY_BROKER_URL.startswith(("amqp://", "amqps://", "pyamqp://"))
if BROKER_IS_REDIS:
    CELERY_BROKER_TRANSPORT = "kiosk_project.broker:Transport"
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True  # a task is acknowledged only when it finished...
CELERY_TASK_REJECT_ON_WORKER_LOST = True  # ...and redelivered if its worker died mid-task
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=60)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=90)
CELERY_TASK_IGNORE_RESULT = True  # no result backend: nothing reads task results
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_TIMEOUT = 2
# Publishing from a request must not hang when the broker is down: the outbox
# sweeper re-enqueues anything whose publish failed.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2}
# No countdown/ETA may exceed this, or Redis redelivers the message while it waits.
CELERY_BROKER_VISIBILITY_TIMEOUT = env.int("CELERY_BROKER_VISIBILITY_TIMEOUT", default=3600)
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {"visibility_timeout": CELERY_BROKER_VISIBILITY_TIMEOUT}
if BROKER_IS_AMQP:
    # RabbitMQ confirms each publish once it has the message (durable queue, persistent message), so a publish
    # that returned is on disk at the broker; one that failed is counted and the outbox sweeper sends it again.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"confirm_publish": True}
    # AMQP heartbeats: a broker that vanished without closing the socket is noticed within about a minute.
    CELERY_BROKER_HEARTBEAT = env.int("CELERY_BROKER_HEARTBEAT", default=30)
# Three queues, so that one kind of work piling up never delays another: `payments` (the reconciler that
# confirms payments whose callback was lost, expiry, refunds, the back office's alerts), `kitchen` (sends to
# Rista, its retries, the sweeper: a Rista outage piles up here) and `menu` (catalogue refreshes). Production
# runs a worker per queue (`-Q payments`, ...); a worker started without -Q consumes all three, so one box and
# `make run` need a single worker. Every task has a route (kiosk_project/core/tests/test_queues.py checks it).
CELERY_TASK_QUEUES = [Queue(name, routing_key=name) for name in ("payments", "kitchen", "menu")]
CELERY_TASK_DEFAULT_QUEUE = "payments"
CELERY_TASK_CREATE_MISSING_QUEUES = False  # a route to a queue nobody consumes is an error, not a silent queue
CELERY_TASK_ROUTES = {
    "payments.tasks.*": {"queue": "payments"},
    "backoffice.tasks.*": {"queue": "payments"},
    "kds_bridge.tasks.*": {"queue": "kitchen"},
    "catalog.tasks.*": {"queue": "menu"},
}
CELERY_TIMEZONE = env("TIME_ZONE", default="Asia/Kolkata")
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Worker liveness (kiosk_project/worker_liveness.py): the worker touches this file while it is connected
# to the broker; `manage.py worker_alive` (docker's healthcheck, `make run`) fails once it is older than
# the max age, and the worker then also ends itself so that its supervisor replaces it.
WORKER_HEARTBEAT_FILE = env("WORKER_HEARTBEAT_FILE", default=str(BASE_DIR / ".run" / "worker.heartbeat"))
WORKER_HEARTBEAT_EVERY_SECONDS = env.float("WORKER_HEARTBEAT_EVERY_SECONDS", default=5.0)
WORKER_HEARTBEAT_MAX_AGE_SECONDS = env.float("WORKER_HEARTBEAT_MAX_AGE_SECONDS", default=60.0)
CELERY_BEAT_SCHEDULE: dict = {}  # filled by kiosk_project.celery_schedule (defined in code)
# beat's own bookkeeping (last run times) stays out of the checkout: `celery beat` started in the
# project directory would otherwise leave celerybeat-schedule.* files beside manage.py.
CELERY_BEAT_SCHEDULER = "kiosk_project.celery:Scheduler"
CELERY_BEAT_SCHEDULE_FILENAME = env("CELERY_BEAT_SCHEDULE_FILENAME",
                                    default=str(BASE_DIR / ".run" / "celerybeat-schedule"))

# --- Internationalisation ------------------------------------------------------------------
LANGUAGE_CODE = "en-in"
TIME_ZONE = env("TIME_ZONE", default="Asia/Kolkata")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env("STATIC_ROOT", default=str(BASE_DIR / "staticfiles"))
# WhiteNoise serves STATIC_ROOT (filled by collectstatic: make run and the Docker image run it) with
# hashed names, gzip/brotli variants and far-future cache headers. Nothing is loaded from a CDN.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": env("STATICFILES_BACKEND",
                                   default="whitenoise.storage.CompressedManifestStaticFilesStorage")},
}

# --- API --------------------------------------------------------------------------------------
API_MAX_BODY_BYTES = env.int("API_MAX_BODY_BYTES", default=64 * 1024)
# Deeper JSON is refused before decoding (kiosk_project.core.parsers); our bodies nest 4-6 levels.
API_MAX_JSON_DEPTH = env.int("API_MAX_JSON_DEPTH", default=20)
DATA_UPLOAD_MAX_MEMORY_SIZE = max(API_MAX_BODY_BYTES, 2_621_440)
REST_FRAMEWORK = {
    "EXCEPTION_HANDLER": "kiosk_project.core.exception_handler.api_exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["kiosk_project.core.parsers.DecimalJSONParser"],
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "UNAUTHENTICATED_USER": None,
    "COERCE_DECIMAL_TO_STRING": False,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
# /metrics, /api/schema/ and /api/docs/ answer only this bearer token, or callers in these networks.
OPS_ACCESS_TOKEN = env("OPS_ACCESS_TOKEN", default="")
OPS_ALLOWED_NETWORKS = env.list("OPS_ALLOWED_NETWORKS", default=["127.0.0.0/8", "::1/128"])
SPECTACULAR_SETTINGS = {
    "TITLE": "Kiosk ordering API",
    "DESCRIPTION": "Menu, checkout, payment and kitchen status for self-ordering kiosks.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI and Redoc from drf-spectacular-sidecar's static files: no CDN, a pinned version, works offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "OrderStatusEnum": "orders.models.OrderStatus",
        "KitchenStatusEnum": "orders.models.KitchenStatus",
        "PaymentStatusEnum": "payments.models.PaymentStatus",
        "OrderModeEnum": "orders.models.OrderMode",
    },
}

# --- Product configuration (names from the product brief) ---------------------------------
PUBLIC_BASE_URL = env("PUBLIC_BASE_URL", default="http://127.0.0.1:8000").rstrip("/")
KIOSK_BRANCH_CODE = env("KIOSK_BRANCH_CODE", default="BLR01")
KIOSK_BRANCH_NAME = env("KIOSK_BRANCH_NAME", default="") or KIOSK_BRANCH_CODE  # shown by GET /api/v1/kiosk
KIOSK_DEFAULT_CHANNEL = env("KIOSK_DEFAULT_CHANNEL", default="Takeaway")
KIOSK_CHANNELS = env.list("KIOSK_CHANNELS", default=[KIOSK_DEFAULT_CHANNEL])
CATALOG_REQUIRE_KIOSK_KEY = env.bool("CATALOG_REQUIRE_KIOSK_KEY", default=False)
# Branches (kiosk_project.core.branches): each process remembers a branch this long; the copy in Redis is
# trusted this long after it was read from PostgreSQL (an admin change reaches every process within the
# first; a raw SQL UPDATE within the second).
BRANCH_MEMORY_SECONDS = env.float("BRANCH_MEMORY_SECONDS", default=1.0)
BRANCH_CACHE_SECONDS = env.float("BRANCH_CACHE_SECONDS", default=10.0)
# Kiosk keys (kiosk_project.core.kiosk_auth): per-process LRU of lookups, trusted this long and only while
# the shared key generation is unchanged; failed authentications allowed per client address per minute.
KIOSK_KEY_CACHE_SIZE = env.int("KIOSK_KEY_CACHE_SIZE", default=1024)
KIOSK_KEY_CACHE_SECONDS = env.float("KIOSK_KEY_CACHE_SECONDS", default=10.0)
KIOSK_AUTH_FAILURES_PER_MINUTE = env.int("KIOSK_AUTH_FAILURES_PER_MINUTE", default=20)
# Proxies in front of us that append to X-Forwarded-For (0: none, the socket address is the caller).
TRUSTED_PROXY_HOPS = env.int("TRUSTED_PROXY_HOPS", default=0)

RISTA_BASE_URL = env("RISTA_BASE_URL", default="http://127.0.0.1:8081/v1").rstrip("/")
RISTA_API_KEY = env("RISTA_API_KEY", default="sandbox-api-key")
RISTA_SECRET_KEY = env("RISTA_SECRET_KEY", default="sandbox-rista-secret-key-not-for-production")
RISTA_WEBHOOK_SECRET = env("RISTA_WEBHOOK_SECRET", default="sandbox-webhook-secret")
RISTA_CONNECT_TIMEOUT = env.float("RISTA_CONNECT_TIMEOUT", default=2.0)
RISTA_READ_TIMEOUT = env.float("RISTA_READ_TIMEOUT", default=5.0)

# The menu cache (see docs/architecture.md): hard TTL in Redis, refresh-ahead age,
# how long concurrent misses wait for the single in-flight fetch.
CATALOG_CACHE_TTL = env.int("CATALOG_CACHE_TTL", default=24 * 3600)
CATALOG_REFRESH_AFTER = env.int("CATALOG_REFRESH_AFTER", default=300)
CATALOG_FILL_WAIT = env.float("CATALOG_FILL_WAIT", default=3.0)
CATALOG_FILL_LOCK_TTL = env.int("CATALOG_FILL_LOCK_TTL", default=15)
# Parsed price lists (checkout) kept per process, by catalog ETag: at least branches x channels.
CATALOG_INDEX_CACHE_SIZE = env.int("CATALOG_INDEX_CACHE_SIZE", default=256)
# Menu webhooks within this many seconds share one refresh per channel (catalog/webhook_refresh.py).
CATALOG_WEBHOOK_COALESCE_SECONDS = env.float("CATALOG_WEBHOOK_COALESCE_SECONDS", default=1.0)
# The WSGI fast path keeps each process's copy of a fresh menu this long (0 turns it off).
CATALOG_FAST_PATH_TTL = env.float("CATALOG_FAST_PATH_TTL", default=1.0)
# Status polls answered from Redis before Django (payments/status_cache.py, status_fastpath.py); each order's copy
# lives this long after its last write, the bound on staleness should a process die between commit and rebuild.
STATUS_FAST_PATH = env.bool("STATUS_FAST_PATH", default=True)
STATUS_CACHE_TTL = env.int("STATUS_CACHE_TTL", default=300)
# Copies each process keeps in memory while it hears every change over Redis pub/sub (payments/status_local.py).
STATUS_LOCAL_COPIES = env.int("STATUS_LOCAL_COPIES", default=20000)

# --- Logging --------------------------------------------------------------------------------
LOG_FORMAT = env("LOG_FORMAT", default="json")
LOG_LEVEL = env("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "kiosk_project.core.logging.ContextFilter"}},
    "formatters": {
        "json": {"()": "kiosk_project.core.logging.JsonFormatter"},
        "text": {"()": "kiosk_project.core.logging.TextFormatter"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["context"]},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # Configured here so Django's own console handler (DEBUG only, plain text) is dropped: every line
        # goes through our handler once, in our format.
        "django": {"level": "INFO"},
        "django.server": {"level": "WARNING"},
        "celery": {"level": "INFO"},
    },
}

# --- Checkout (issue: checkout) ---------------------------------------------------------------
ORDER_DEFAULT_MODE = env("ORDER_DEFAULT_MODE", default="takeaway")
# Kiosk order mode -> Rista, read only through kiosk_project.core.order_modes.order_mode_pricing:
# - the price channel the order is priced from and sent to the kitchen on. A channel the branch does not
#   serve (not in KIOSK_CHANNELS) falls back to KIOSK_DEFAULT_CHANNEL, so dine-in uses "Dine In" only
#   where the branch has one;
# - the charge mode: a catalog charge applies when it is in the charge's applicableModes, which Rista
#   limits to Pickup | Delivery | Others. Empty: no mode's charges apply. Rista has no dine-in mode, and
#   its charges list Others alongside Pickup and Delivery (the sample's packing charge does), so dine-in
#   takes none by default; a restaurant that charges dine-in maps it to Others.
ORDER_CHANNELS = {
    "takeaway": env("ORDER_CHANNEL_TAKEAWAY", default=KIOSK_DEFAULT_CHANNEL),
    "dine_in": env("ORDER_CHANNEL_DINE_IN", default="Dine In"),
}
ORDER_CHARGE_MODES = {
    "takeaway": env("ORDER_CHARGE_MODE_TAKEAWAY", default="Pickup"),
    "dine_in": env("ORDER_CHARGE_MODE_DINE_IN", default=""),
}
_bad_charge_modes = {mode: value for mode, value in ORDER_CHARGE_MODES.items()
                     if value not in ("", "Pickup", "Delivery", "Others")}
if _bad_charge_modes:
    # A typo ("pickup") would silently drop every charge: refuse to start instead.
    raise ImproperlyConfigured(f"ORDER_CHARGE_MODE_* must be Pickup, Delivery, Others or empty: {_bad_charge_modes}")
ORDER_EXPIRY_SECONDS = env.int("ORDER_EXPIRY_SECONDS", default=15 * 60)
ORDER_ROUND_OFF = env.bool("ORDER_ROUND_OFF", default=False)
ORDER_BUSINESS_DAY_START_HOUR = env.int("ORDER_BUSINESS_DAY_START_HOUR", default=4)
ORDER_MAX_LINES = env.int("ORDER_MAX_LINES", default=50)
ORDER_MAX_QUANTITY = env.int("ORDER_MAX_QUANTITY", default=99)
ORDER_MAX_NOTE_LENGTH = env.int("ORDER_MAX_NOTE_LENGTH", default=250)
ORDER_RATE_LIMIT_PER_MINUTE = env.int("ORDER_RATE_LIMIT_PER_MINUTE", default=30)
QUOTE_RATE_LIMIT_PER_MINUTE = env.int("QUOTE_RATE_LIMIT_PER_MINUTE", default=120)

# --- Payments: PhonePe (issue: payments) --------------------------------------------------------
PHONEPE_API = env("PHONEPE_API", default="v2")  # v2 (OAuth, default) or v1 (salt key / X-VERIFY)
# The defaults below are the sandboxes' (and PhonePe's public UAT values): production refuses all of them,
# and the secrets of the family not in use, unless ALLOW_SANDBOX_CREDENTIALS (compose + sandboxes only).
ALLOW_SANDBOX_CREDENTIALS = env.bool("ALLOW_SANDBOX_CREDENTIALS", default=False)
PHONEPE_BASE_URL = env("PHONEPE_BASE_URL", default="http://127.0.0.1:8082").rstrip("/")
PHONEPE_OAUTH_URL = env("PHONEPE_OAUTH_URL", default=PHONEPE_BASE_URL).rstrip("/")
# v1 paths live under a prefix on PhonePe's hosts (/apis/pg-sandbox in UAT, /apis/hermes in production).
PHONEPE_V1_PATH_PREFIX = env("PHONEPE_V1_PATH_PREFIX", default="/apis/pg-sandbox")
PHONEPE_CLIENT_ID = env("PHONEPE_CLIENT_ID", default="SANDBOXCLIENT")
PHONEPE_CLIENT_SECRET = env("PHONEPE_CLIENT_SECRET", default="sandbox-client-secret")
PHONEPE_CLIENT_VERSION = env("PHONEPE_CLIENT_VERSION", default="1")
PHONEPE_WEBHOOK_USERNAME = env("PHONEPE_WEBHOOK_USERNAME", default="sandbox-webhook-user")
PHONEPE_WEBHOOK_PASSWORD = env("PHONEPE_WEBHOOK_PASSWORD", default="sandbox-webhook-pass")
PHONEPE_MERCHANT_ID = env("PHONEPE_MERCHANT_ID", default="PGTESTPAYUAT")
PHONEPE_SALT_KEY = env("PHONEPE_SALT_KEY", default="099eb0cd-02cf-4e2a-8aca-3e6c6aff0399")
PHONEPE_SALT_INDEX = env.int("PHONEPE_SALT_INDEX", default=1)
PHONEPE_CONNECT_TIMEOUT = env.float("PHONEPE_CONNECT_TIMEOUT", default=3.0)
PHONEPE_READ_TIMEOUT = env.float("PHONEPE_READ_TIMEOUT", default=8.0)
PAYMENT_QR_EXPIRY_SECONDS = env.int("PAYMENT_QR_EXPIRY_SECONDS", default=480)  # PhonePe UPI_QR: 300..
PAYMENT_RECONCILE_GRACE_SECONDS = env.int("PAYMENT_RECONCILE_GRACE_SECONDS", default=120)
# PhonePe's documented status-check schedule after initiation: (first check, then (every, for) steps),
# then every PAYMENT_RECONCILE_TAIL_EVERY seconds until the QR's expiry plus the grace period.
PAYMENT_RECONCILE_FIRST_CHECK = env.int("PAYMENT_RECONCILE_FIRST_CHECK", default=25)
PAYMENT_RECONCILE_STEPS = [(3, 30), (6, 60), (10, 60), (30, 60)]
PAYMENT_RECONCILE_TAIL_EVERY = env.int("PAYMENT_RECONCILE_TAIL_EVERY", default=60)
PAYMENT_LATE_SUCCESS_POLICY = env("PAYMENT_LATE_SUCCESS_POLICY", default="refund")  # refund | confirm
# Tuning with safe defaults (docs/payments.md); none is part of the product's named interface.
PAYMENT_QR_REUSE_MARGIN_SECONDS = env.int("PAYMENT_QR_REUSE_MARGIN_SECONDS", default=10)  # a live QR is reused
PAYMENT_INITIATE_STALE_SECONDS = env.int("PAYMENT_INITIATE_STALE_SECONDS", default=60)  # a CREATED attempt abandoned
PAYMENT_INITIATE_RATE_LIMIT_PER_MINUTE = env.int("PAYMENT_INITIATE_RATE_LIMIT_PER_MINUTE", default=30)
PAYMENT_RECONCILE_BATCH = env.int("PAYMENT_RECONCILE_BATCH", default=50)  # payments/refunds per reconciler pass
PAYMENT_RECONCILE_TIME_BUDGET = env.float("PAYMENT_RECONCILE_TIME_BUDGET", default=20.0)  # seconds per pass
PAYMENT_REFUND_FIRST_CHECK = env.int("PAYMENT_REFUND_FIRST_CHECK", default=10)  # then doubling up to the cap
PAYMENT_REFUND_MAX_CHECK_EVERY = env.int("PAYMENT_REFUND_MAX_CHECK_EVERY", default=600)
PAYMENT_REFUND_SUBMIT_AFTER = env.int("PAYMENT_REFUND_SUBMIT_AFTER", default=10)  # the reconciler (re)submits
PAYMENT_EXPIRE_BATCH = env.int("PAYMENT_EXPIRE_BATCH", default=200)  # orders per expiry run
# Callbacks for one payment within this window after a status check are coalesced into it (no new call).
PAYMENT_CALLBACK_COALESCE_SECONDS = env.float("PAYMENT_CALLBACK_COALESCE_SECONDS", default=5.0)
PAYMENT_LEDGER_MAX_PAYLOAD_BYTES = env.int("PAYMENT_LEDGER_MAX_PAYLOAD_BYTES", default=16 * 1024)

# --- Kitchen: delivery to Rista (issue: kitchen) ------------------------------------------------
KDS_WEBHOOK_SECRET = env("KDS_WEBHOOK_SECRET", default="sandbox-kds-callback-secret")
KDS_RETRY_FOR_SECONDS = env.int("KDS_RETRY_FOR_SECONDS", default=30 * 60)
KDS_RETRY_BASE_DELAY = env.float("KDS_RETRY_BASE_DELAY", default=2.0)
KDS_RETRY_MAX_DELAY = env.float("KDS_RETRY_MAX_DELAY", default=60.0)
# The sweeper (every KDS_SWEEP_EVERY_SECONDS) is what guarantees delivery when a worker dies or the
# broker loses messages: it re-sends SENDING rows whose lease expired and PENDING rows overdue by more
# than KDS_SWEEP_AFTER_SECONDS. Redelivery bounds: docs/kitchen.md, "The sweeper".
KDS_SWEEP_AFTER_SECONDS = env.float("KDS_SWEEP_AFTER_SECONDS", default=10.0)
KDS_SWEEP_EVERY_SECONDS = env.float("KDS_SWEEP_EVERY_SECONDS", default=5.0)
KDS_ALERT_AFTER_SECONDS = env.int("KDS_ALERT_AFTER_SECONDS", default=60)
# One send may take 2 x (RISTA_CONNECT_TIMEOUT + RISTA_READ_TIMEOUT) (a look-up and a POST). Its Celery
# hard time limit adds this margin (the soft limit half of it), and a claim (lease) outlives the hard
# limit by KDS_LEASE_MARGIN, so a live sender is never taken over. Defaults: budget 14 s, soft limit
# 19 s, hard limit 24 s, lease 29 s.
KDS_SEND_TIME_LIMIT_MARGIN = env.float("KDS_SEND_TIME_LIMIT_MARGIN", default=10.0)
KDS_LEASE_MARGIN = env.float("KDS_LEASE_MARGIN", default=5.0)
# After a POST /sale that may have reached Rista (timeout, reset, 5xx), Rista may still be storing it:
# a lookup that misses the sale proves nothing until this long after the POST was sent, so we never
# post again before a lookup made after that (docs/kitchen.md, "A slow POS").
KDS_POST_SETTLE_SECONDS = env.float("KDS_POST_SETTLE_SECONDS", default=30.0)
# /health fails ("kitchen") while a paid order has waited longer than this for the kitchen: the check
# runs in the web process, so it still speaks when the worker that should deliver (and alert) is dead.
KDS_HEALTH_MAX_UNDELIVERED_SECONDS = env.float("KDS_HEALTH_MAX_UNDELIVERED_SECONDS",
                                               default=float(KDS_ALERT_AFTER_SECONDS))
HEALTH_KITCHEN_CHECK = "kds_bridge.health.kitchen_backlog"  # so core/health.py imports no app
KDS_SALE_SOURCE = env("KDS_SALE_SOURCE", default="kiosk")
KDS_PAYMENT_MODE = env("KDS_PAYMENT_MODE", default="UPI")

# --- Periodic jobs (celery beat; `make run` runs them in-process in embedded mode) --------------
CELERY_BEAT_SCHEDULE = {
    "catalog-refresh-ahead": {"task": "catalog.tasks.catalog_refresh_all_task",
                              "schedule": float(CATALOG_REFRESH_AFTER)},
    "payments-reconcile": {"task": "payments.tasks.payments_reconcile_task", "schedule": 3.0},
    "orders-expire": {"task": "payments.tasks.orders_expire_task", "schedule": 30.0},
    "kitchen-sweep": {"task": "kds_bridge.tasks.kitchen_sweep_task", "schedule": KDS_SWEEP_EVERY_SECONDS},
    "kitchen-alert-check": {"task": "kds_bridge.tasks.kitchen_alert_check_task", "schedule": 60.0},
}

# --- The seller on GST tax invoices (orders.seller; per branch once branches are data) -----------
RESTAURANT_LEGAL_NAME = env("RESTAURANT_LEGAL_NAME", default="")
RESTAURANT_TRADE_NAME = env("RESTAURANT_TRADE_NAME", default="")
RESTAURANT_ADDRESS = env("RESTAURANT_ADDRESS", default="")
RESTAURANT_GSTIN = env("RESTAURANT_GSTIN", default="")
RESTAURANT_FSSAI = env("RESTAURANT_FSSAI", default="")
RESTAURANT_PHONE = env("RESTAURANT_PHONE", default="")
INVOICE_PREFIX = env("INVOICE_PREFIX", default="BLR1")  # 1-4 letters/digits before each invoice number

# --- Back office ----------------------------------------------------------------------------------
# Problems that need a person (backoffice.attention) are emailed to users with the "receives problem
# alerts" permission (the Shift manager and Branch manager roles) and to these extra addresses.
BACKOFFICE_ALERT_EMAILS = env.list("BACKOFFICE_ALERT_EMAILS", default=[])
BACKOFFICE_REFUND_STUCK_AFTER_SECONDS = env.int("BACKOFFICE_REFUND_STUCK_AFTER_SECONDS", default=3600)
BACKOFFICE_BOARD_REFRESH_SECONDS = env.int("BACKOFFICE_BOARD_REFRESH_SECONDS", default=5)
BACKOFFICE_LOGIN_RATE_PER_MINUTE = env.int("BACKOFFICE_LOGIN_RATE_PER_MINUTE", default=20)  # per IP; 0 = off

# Failed logins (django-axes): AXES_FAILURE_LIMIT failures for one username from one IP address lock
# that pair out for AXES_COOLOFF_MINUTES; a successful login resets the count.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_MINUTES", default=15.0) / 60  # axes takes hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "backoffice/locked_out.html"
AXES_VERBOSE = False
# Behind reverse proxies, how many of them append to X-Forwarded-For (0: none, use REMOTE_ADDR). Set it
# to exactly the number you run, or a client could choose the address we count and lock out.
AXES_CLIENT_IP_CALLABLE = "backoffice.security.client_ip"

# --- Email (alerts to managers) ---------------------------------------------------------------------
EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_TIMEOUT = env.float("EMAIL_TIMEOUT", default=10.0)  # an SMTP server that hangs must not hang the job
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="kiosk-backoffice@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
CELERY_BEAT_SCHEDULE["backoffice-problems-notify"] = {"task": "backoffice.tasks.problems_notify_task",
                                                      "schedule": 30.0}

# --- The kiosk screen at /kiosk/ (kiosk_screen) ------------------------------------------------------
# A customer who stops touching the screen is asked "Still there?" after KIOSK_SCREEN_IDLE_SECONDS, and
# KIOSK_SCREEN_IDLE_WARNING_SECONDS later the screen returns to welcome and cancels the open order.
KIOSK_SCREEN_IDLE_SECONDS = env.int("KIOSK_SCREEN_IDLE_SECONDS", default=90)
KIOSK_SCREEN_IDLE_WARNING_SECONDS = env.int("KIOSK_SCREEN_IDLE_WARNING_SECONDS", default=20)
KIOSK_SCREEN_MENU_REFRESH_SECONDS = env.int("KIOSK_SCREEN_MENU_REFRESH_SECONDS", default=15)  # ETag revalidation
KIOSK_SCREEN_POLL_SECONDS = env.float("KIOSK_SCREEN_POLL_SECONDS", default=3.0)  # the contract's status poll
KIOSK_SCREEN_DONE_SECONDS = env.int("KIOSK_SCREEN_DONE_SECONDS", default=45)  # the order number stays this long
