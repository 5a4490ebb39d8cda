"""Production: refuses to start without its secrets, with public test credentials, or with the secrets of
the PhonePe family it does not use (kiosk_project.core.deploy_checks); JSON logs; secure cookies."""

import os
import sys

from django.core.exceptions import ImproperlyConfigured

from kiosk_project.core.deploy_checks import FAMILY_FORBIDDEN, production_problems

from .base import *
from .base import ALLOW_SANDBOX_CREDENTIALS, PHONEPE_API

_problems = production_problems(os.environ)
if _problems:
    raise ImproperlyConfigured("Refusing to start with production settings:\n  " + "\n  ".join(_problems))
if ALLOW_SANDBOX_CREDENTIALS:
    sys.stderr.write("WARNING: ALLOW_SANDBOX_CREDENTIALS=true: production settings with sandbox credentials "
                     "(docker compose with the sandboxes only)\n")
# base.py's defaults would fill in the unused family's secrets (PhonePe's public UAT salt among them):
# blank them, so no code path can verify or sign anything with them.
for _name in FAMILY_FORBIDDEN[PHONEPE_API.strip().lower()]:
    globals()[_name] = ""

DEBUG = False
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_CONTENT_TYPE_NOSNIFF = True
LOG_FORMAT = "json"
LOGGING["handlers"]["console"]["formatter"] = "json"
