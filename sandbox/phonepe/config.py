"""Sandbox credentials and knobs, with the defaults PhonePe's public UAT examples use."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

DEFAULT_SALT_KEY = "099eb0cd-02cf-4e2a-8aca-3e6c6aff0399"  # PhonePe's public UAT salt (index 1)
DEFAULT_WEBHOOK_URL = "http://127.0.0.1:8000/api/v1/payment/webhook"

# The documented forms of a UPI_QR answer's two fields (protocols.md §1.1, §1.2). PhonePe tells
# merchants to render the QR from `qrData`; `intentUrl` may be missing or not a UPI link at all.
QR_DATA_FORMS = ("png", "data-uri", "upi", "absent")  # base64 PNG | data:image/png;base64,... | upi://
INTENT_URL_FORMS = ("upi", "ppe", "empty", "absent")  # upi://pay?... | "ppe://url" (docs' sample) | ""
# Which ids identify the order in a v2 order webhook: both, or only PhonePe's `orderId` (the
# shape of the docs' order-status samples, which carry no merchantOrderId).
CALLBACK_IDS = ("both", "orderId")


@dataclass
class SandboxConfig:
    client_id: str = "SANDBOXCLIENT"
    client_secret: str = "sandbox-client-secret"
    client_version: str = "1"
    merchant_id: str = "PGTESTPAYUAT"
    salt_keys: dict[int, str] = field(default_factory=lambda: {1: DEFAULT_SALT_KEY})
    # v2 webhooks go to one dashboard-configured URL; None means "not configured" (none sent).
    webhook_url: str | None = None
    webhook_username: str = "sandbox-webhook-user"
    webhook_password: str = "sandbox-webhook-pass"
    token_ttl: int = 3600
    # Refunds resolve this many seconds after creation; None holds them for a control action.
    refund_delay: float | None = 2.0
    refund_outcome: str = "complete"  # complete | fail: what automatic resolution does
    default_expire_after: int = 480  # v2 default for UPI_QR; v1 QRs get the same lifetime
    min_expire_after: int = 300  # PhonePe's documented UPI_QR minimum; shorter values are raised to it
    max_expire_after: int = 5_184_000
    callback_timeout: float = 5.0
    qr_data_form: str = "png"
    intent_url_form: str = "upi"
    callback_ids: str = "both"
    payee_vpa: str = "pgtestpayuat@ybl"
    payee_name: str = "Kiosk Sandbox Merchant"


# The switches above by their /_control/config name: (SandboxConfig attribute, allowed values).
FORM_SWITCHES = {
    "qrDataForm": ("qr_data_form", QR_DATA_FORMS),
    "intentUrlForm": ("intent_url_form", INTENT_URL_FORMS),
    "callbackIds": ("callback_ids", CALLBACK_IDS),
}


def check_forms(config: SandboxConfig) -> None:
    """Raise ValueError naming the allowed values when a response-form switch is unknown."""
    for attr, allowed in FORM_SWITCHES.values():
        value = getattr(config, attr)
        if value not in allowed:
            raise ValueError(f"{attr} must be one of {', '.join(allowed)}, not {value!r}")


def default_webhook_url(env: Mapping[str, str]) -> str | None:
    """PHONEPE_SANDBOX_WEBHOOK_URL, else our backend's webhook under PUBLIC_BASE_URL, else :8000.
    An empty PHONEPE_SANDBOX_WEBHOOK_URL turns v2 webhooks off."""
    if "PHONEPE_SANDBOX_WEBHOOK_URL" in env:
        return env["PHONEPE_SANDBOX_WEBHOOK_URL"] or None
    public = env.get("PUBLIC_BASE_URL")
    return f"{public.rstrip('/')}/api/v1/payment/webhook" if public else DEFAULT_WEBHOOK_URL


def config_from_env(env: Mapping[str, str] | None = None) -> SandboxConfig:
    """Read the PHONEPE_* variables the Django settings use, so both sides agree by default."""
    env = os.environ if env is None else env
    base = SandboxConfig()
    salt_index = int(env.get("PHONEPE_SALT_INDEX", "1"))
    return SandboxConfig(
        client_id=env.get("PHONEPE_CLIENT_ID", base.client_id),
        client_secret=env.get("PHONEPE_CLIENT_SECRET", base.client_secret),
        client_version=env.get("PHONEPE_CLIENT_VERSION", base.client_version),
        merchant_id=env.get("PHONEPE_MERCHANT_ID", base.merchant_id),
        salt_keys={salt_index: env.get("PHONEPE_SALT_KEY", DEFAULT_SALT_KEY)},
        webhook_url=default_webhook_url(env),
        webhook_username=env.get("PHONEPE_WEBHOOK_USERNAME", base.webhook_username),
        webhook_password=env.get("PHONEPE_WEBHOOK_PASSWORD", base.webhook_password),
    )
