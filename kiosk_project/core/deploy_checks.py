"""What production settings refuse to start with, as a pure function of the environment.

* a missing secret or service URL (the broker's too: RabbitMQ in production);
* a public test credential: PhonePe's UAT merchant and salt (printed in PhonePe's
  own docs, so anyone can sign a v1 callback with them), and every sandbox default
  in this repository (base.py's, docker-compose.yml's). `ALLOW_SANDBOX_CREDENTIALS=true`
  lets docker compose (and the benchmarks, bench/common.py) run production settings
  against the bundled sandboxes; nothing else should set it;
* a PhonePe URL that is not production: UAT/preprod, the sandbox, plain http, or
  (v1) a production host with the UAT path prefix still appended, which builds
  `https://api.phonepe.com/apis/hermes/apis/pg-sandbox/pg/v1/pay` (the exact
  production URLs are in docs/payments.md). ALLOW_SANDBOX_CREDENTIALS relaxes this too;
* the secrets of the PhonePe family we do not use (PHONEPE_API=v2 with a salt key,
  v1 with OAuth client or webhook credentials): a secret nobody needs is one more to
  leak, and with it a forged callback of the other family. No flag relaxes this.

Nothing here imports Django, so settings/production.py can call it before setup.
"""

from __future__ import annotations

from collections.abc import Mapping

# Public values: PhonePe's documented UAT credentials, and every sandbox default this project ships.
PUBLIC_TEST_VALUES: dict[str, frozenset[str]] = {
    "PHONEPE_SALT_KEY": frozenset({"099eb0cd-02cf-4e2a-8aca-3e6c6aff0399",
                                   "96434309-7796-489d-8924-ab56988a6076"}),
    "PHONEPE_CLIENT_ID": frozenset({"SANDBOXCLIENT"}),
    "PHONEPE_CLIENT_SECRET": frozenset({"sandbox-client-secret"}),
    "PHONEPE_WEBHOOK_USERNAME": frozenset({"sandbox-webhook-user"}),
    "PHONEPE_WEBHOOK_PASSWORD": frozenset({"sandbox-webhook-pass"}),
    "RISTA_API_KEY": frozenset({"sandbox-api-key"}),
    "RISTA_SECRET_KEY": frozenset({"sandbox-rista-secret-key-not-for-production"}),
    "RISTA_WEBHOOK_SECRET": frozenset({"sandbox-webhook-secret"}),
    "KDS_WEBHOOK_SECRET": frozenset({"sandbox-kds-callback-secret"}),
    "SECRET_KEY": frozenset({"change-me-in-production-please-0123456789", "local-dev-only-not-a-secret"}),
}
# PhonePe's UAT merchants are all PGTESTPAYUAT<n>.
PUBLIC_TEST_PREFIXES: dict[str, str] = {"PHONEPE_MERCHANT_ID": "PGTESTPAYUAT"}

# CELERY_BROKER_URL is named, not derived from REDIS_URL as in the simple modes: production's broker is
# RabbitMQ (amqp://..., docs/deploy.md).
ALWAYS_REQUIRED = ("SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL",
                   "RISTA_BASE_URL", "RISTA_API_KEY",
                   "RISTA_SECRET_KEY", "RISTA_WEBHOOK_SECRET", "PUBLIC_BASE_URL", "KDS_WEBHOOK_SECRET")
FAMILY_REQUIRED: dict[str, tuple[str, ...]] = {
    "v2": ("PHONEPE_BASE_URL", "PHONEPE_OAUTH_URL", "PHONEPE_CLIENT_ID", "PHONEPE_CLIENT_SECRET",
           "PHONEPE_CLIENT_VERSION", "PHONEPE_WEBHOOK_USERNAME", "PHONEPE_WEBHOOK_PASSWORD"),
    "v1": ("PHONEPE_BASE_URL", "PHONEPE_MERCHANT_ID", "PHONEPE_SALT_KEY", "PHONEPE_SALT_INDEX"),
}
# The secrets only the other family uses; production blanks them in settings too.
FAMILY_FORBIDDEN: dict[str, tuple[str, ...]] = {
    "v2": ("PHONEPE_SALT_KEY",),
    "v1": ("PHONEPE_CLIENT_ID", "PHONEPE_CLIENT_SECRET", "PHONEPE_WEBHOOK_USERNAME", "PHONEPE_WEBHOOK_PASSWORD"),
}


# The v1 API path prefix when PHONEPE_V1_PATH_PREFIX is unset (settings/base.py): PhonePe's UAT one.
V1_DEFAULT_PATH_PREFIX = "/apis/pg-sandbox"
PRODUCTION_PHONEPE_URLS = {
    "v2": {"PHONEPE_BASE_URL": "https://api.phonepe.com/apis/pg",
           "PHONEPE_OAUTH_URL": "https://api.phonepe.com/apis/identity-manager"},
    "v1": {"PHONEPE_BASE_URL + PHONEPE_V1_PATH_PREFIX": "https://api.phonepe.com/apis/hermes"},
}
_NOT_PRODUCTION = ("preprod", "sandbox", "simulator", "mercury-uat", "-uat.", "uat.", "localhost", "127.0.0.1")


def phonepe_urls(env: Mapping[str, str], family: str) -> dict[str, str]:
    """The PhonePe URLs the client will call, as the gateway builds them."""
    base = env.get("PHONEPE_BASE_URL", "").strip().rstrip("/")
    if family == "v1":
        prefix = env.get("PHONEPE_V1_PATH_PREFIX", V1_DEFAULT_PATH_PREFIX).strip().strip("/")
        return {"PHONEPE_BASE_URL + PHONEPE_V1_PATH_PREFIX": base + ("/" + prefix if prefix else "")}
    return {"PHONEPE_BASE_URL": base, "PHONEPE_OAUTH_URL": env.get("PHONEPE_OAUTH_URL", "").strip().rstrip("/")}


def _url_problems(env: Mapping[str, str], family: str) -> list[str]:
    wrong = [f"{name} = {url}" for name, url in phonepe_urls(env, family).items()
             if url and (not url.lower().startswith("https://") or any(m in url.lower() for m in _NOT_PRODUCTION)
                         or url.lower().count("/apis/") > 1)]
    if not wrong:
        return []
    expected = ", ".join(f"{n} = {u}" for n, u in PRODUCTION_PHONEPE_URLS[family].items())
    return [f"PhonePe URLs are not production: {'; '.join(wrong)} (production {family}: {expected})"]


def _is_public(name: str, value: str) -> bool:
    prefix = PUBLIC_TEST_PREFIXES.get(name)
    return value in PUBLIC_TEST_VALUES.get(name, ()) or bool(prefix and value.upper().startswith(prefix))


def production_problems(env: Mapping[str, str]) -> list[str]:
    """Every reason the environment is not fit for production (empty: it is)."""
    family = (env.get("PHONEPE_API") or "v2").strip().lower()
    if family not in FAMILY_REQUIRED:
        return [f"PHONEPE_API must be v2 or v1, not {family!r}"]
    problems = []
    missing = [n for n in (*ALWAYS_REQUIRED, *FAMILY_REQUIRED[family]) if not env.get(n, "").strip()]
    if missing:
        problems.append(f"Production settings need these environment variables: {', '.join(missing)}")
    other = [n for n in FAMILY_FORBIDDEN[family] if env.get(n, "").strip()]
    if other:
        problems.append(f"PHONEPE_API={family} does not use {', '.join(other)}: unset them "
                        "(a secret nobody needs is one more to leak)")
    if not _truthy(env.get("ALLOW_SANDBOX_CREDENTIALS", "")):
        public = sorted(n for n, v in env.items() if v.strip() and _is_public(n, v.strip()))
        if public:
            problems.append(f"These are public test or sandbox credentials: {', '.join(public)} "
                            "(ALLOW_SANDBOX_CREDENTIALS=true is for docker compose with the sandboxes only)")
        problems.extend(_url_problems(env, family))
    return problems


def _truthy(value: str) -> bool:
    return value.strip().lower() in ("1", "true", "yes", "on")
