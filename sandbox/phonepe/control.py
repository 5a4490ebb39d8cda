"""/_control: no-auth JSON endpoints that play the customer, break things on purpose,
and report what the sandbox saw. Payments are keyed by the merchant reference
(merchantOrderId for v2, merchantTransactionId for v1).

Every POST also accepts an HTML form post with `?redirect=1`, answering 303 back to
the page (or to a local `next` path) so the demo page works without JavaScript.
"""

from __future__ import annotations

import copy
import dataclasses
from collections import Counter
from typing import TYPE_CHECKING, Any

from sandbox.httpkit import Handler, HttpError, Request, Response, redirect_back
from sandbox.phonepe.config import FORM_SWITCHES
from sandbox.phonepe.observe import FaultError
from sandbox.phonepe.state import BEHAVIOURS, CallbackPlan, LedgerError, Payment, Refund

if TYPE_CHECKING:
    from sandbox.phonepe.server import PhonePeSandbox

ACTIONS = ("pay", "fail", "decline", "expire")
TRUE_WORDS = ("1", "true", "yes", "on")


# -- views -------------------------------------------------------------------------------------------


def payment_view(p: Payment, now: float) -> dict[str, Any]:
    return {
        "ref": p.ref,
        "api": p.api,
        "product": p.product,
        "instrument": p.instrument,
        "providerId": p.provider_id,
        "merchantId": p.merchant_id,
        "state": p.state,
        "code": p.code,
        "responseCode": p.response_code,
        "errorCode": p.error_code,
        "detailedErrorCode": p.detailed_error_code,
        "amount": p.amount,
        "paidAmount": p.paid_amount,
        "utr": p.utr,
        "createdAt": p.created_at,
        "expireAt": p.expire_at,
        "secondsToExpiry": round(p.expire_at - now, 1),
        "expired": p.expired,
        "late": p.late,
        "intentUrl": p.intent_url,
        "callbackUrl": p.callback_url,
        "callbackPlan": p.callback.as_dict(),
        "callbacks": p.callbacks,
    }


def refund_view(r: Refund) -> dict[str, Any]:
    return {
        "ref": r.ref,
        "api": r.api,
        "providerId": r.provider_id,
        "originalRef": r.original_ref,
        "amount": r.amount,
        "state": r.state,
        "code": r.code,
        "createdAt": r.created_at,
        "resolveAt": r.resolve_at,
        "resolvedAt": r.resolved_at,
        "callbackUrl": r.callback_url,
        "callbacks": r.callbacks,
    }


def all_callbacks(sb: PhonePeSandbox) -> list[dict[str, Any]]:
    ledger = sb.gateway.ledger
    owners: list[Payment | Refund] = [*ledger.all_payments(), *ledger.all_refunds()]
    return sorted((c for owner in owners for c in owner.callbacks), key=lambda c: c["id"])


def build_report(sb: PhonePeSandbox) -> dict[str, Any]:
    sb.gateway.tick()
    payments = sb.gateway.ledger.all_payments()
    refunds = sb.gateway.ledger.all_refunds()
    callbacks = all_callbacks(sb)
    fault = sb.faults.active()
    return {
        **sb.stats.snapshot(),
        "faults": {"active": fault.as_dict() if fault else None, "injected": dict(sb.faults.injected)},
        "payments": {"total": len(payments), "by_state": dict(Counter(p.state for p in payments))},
        "refunds": {"total": len(refunds), "by_state": dict(Counter(r.state for r in refunds))},
        "callbacks": {
            "total": len(callbacks),
            "by_delivery": dict(Counter(c["delivery"] for c in callbacks)),
            "by_status": {str(k): v for k, v in Counter(c["status"] for c in callbacks).items()},
            "records": callbacks,
        },
    }


# -- input -------------------------------------------------------------------------------------------


def control_error(status: int, message: str) -> HttpError:
    return HttpError(status, {"error": message, "message": message})


def from_ledger(exc: LedgerError) -> HttpError:
    return control_error({"not_found": 404, "conflict": 409}.get(exc.kind, 400), exc.message)


def body_of(req: Request) -> dict[str, Any]:
    """JSON body, or an HTML form post (string values), or {} when empty."""
    body = req.json_or_form()
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise control_error(400, "body must be a JSON object")
    return body


def flag(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() in TRUE_WORDS)


def optional_int(body: dict[str, Any], key: str) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise control_error(400, f"{key} must be an integer") from exc


def optional_float(body: dict[str, Any], key: str, default: float | None) -> float | None:
    value = body.get(key, default)
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise control_error(400, f"{key} must be a number of seconds") from exc
    if number < 0:
        raise control_error(400, f"{key} must be >= 0")
    return number


def callback_plan(body: dict[str, Any]) -> CallbackPlan:
    behaviour = body.get("behaviour", "normal")
    if behaviour not in BEHAVIOURS:
        raise control_error(400, f"behaviour must be one of {', '.join(BEHAVIOURS)}")
    return CallbackPlan(behaviour, optional_float(body, "delay", 0.0) or 0.0, optional_int(body, "amount"))


# -- responses ---------------------------------------------------------------------------------------


def form_aware(handler: Handler, done: str) -> Handler:
    """`?redirect=1`: answer 303 to the page with a one-line message instead of JSON."""

    def run(req: Request) -> Response:
        if not flag(req.query.get("redirect")):
            return handler(req)
        try:
            handler(req)
        except HttpError as exc:
            body = exc.body if isinstance(exc.body, dict) else {}
            return redirect_back(req, f"Error: {body.get('message', exc.status)}")
        return redirect_back(req, done.format(**req.params))

    return run


# -- routes ------------------------------------------------------------------------------------------


def register(sb: PhonePeSandbox) -> None:
    ledger = sb.gateway.ledger

    def settle(action: str) -> Handler:
        def run(req: Request) -> Response:
            body = body_of(req)
            codes = {k: str(body[k]) for k in ("errorCode", "detailedErrorCode", "responseCode") if k in body}
            try:
                payment = sb.gateway.settle(
                    req.params["ref"], action, amount=optional_int(body, "amount"),
                    late=flag(body.get("late")), codes=codes, sync=not flag(body.get("async")),
                )
            except LedgerError as exc:
                raise from_ledger(exc) from exc
            return Response(200, payment_view(payment, sb.clock()))

        return run

    def set_callback(req: Request) -> Response:
        plan = callback_plan(body_of(req))
        try:
            ledger.set_callback_plan(req.params["ref"], plan)
            return Response(200, payment_view(sb.gateway.payment(req.params["ref"]), sb.clock()))
        except LedgerError as exc:
            raise from_ledger(exc) from exc

    def set_default_callback(req: Request) -> Response:
        plan = callback_plan(body_of(req))
        ledger.set_callback_plan(None, plan)
        return Response(200, plan.as_dict())

    def resend(req: Request) -> Response:
        try:
            return Response(200, {"callbacks": sb.resend(req.params["ref"])})
        except LedgerError as exc:
            raise from_ledger(exc) from exc

    def list_payments(req: Request) -> Response:
        return Response(200, {"payments": sb.payments, "refunds": sb.refunds})

    def one_payment(req: Request) -> Response:
        try:
            return Response(200, sb.payment(req.params["ref"]))
        except LedgerError as exc:
            raise from_ledger(exc) from exc

    def set_faults(req: Request) -> Response:
        body = body_of(req)
        try:
            fault = sb.faults.set(body.get("mode", "error"), body.get("count", 1), body.get("delay"),
                                  body.get("routes"))
        except FaultError as exc:
            raise control_error(400, str(exc)) from exc
        return Response(200, {"active": fault.as_dict()})

    def clear_faults(req: Request) -> Response:
        sb.faults.clear()
        return Response(200, {"active": None})

    def get_faults(req: Request) -> Response:
        fault = sb.faults.active()
        return Response(200, {"active": fault.as_dict() if fault else None})

    def expire_tokens(req: Request) -> Response:
        return Response(200, {"expired": sb.tokens.expire_all()})

    def resolve_refund(outcome: str) -> Handler:
        def run(req: Request) -> Response:
            try:
                refund = sb.gateway.resolve_refund(req.params["ref"], outcome)
            except LedgerError as exc:
                raise from_ledger(exc) from exc
            return Response(200, refund_view(refund))

        return run

    def list_refunds(req: Request) -> Response:
        return Response(200, {"refunds": sb.refunds})

    def report(req: Request) -> Response:
        return Response(200, sb.report())

    def reset(req: Request) -> Response:
        sb.reset()
        return Response(200, {"reset": True})

    def get_config(req: Request) -> Response:
        return Response(200, public_config(sb))

    def set_config(req: Request) -> Response:
        update_config(sb, body_of(req))
        return Response(200, public_config(sb))

    post = {
        "/_control/payments/{ref}/callback": (set_callback, "Callback behaviour set for {ref}"),
        "/_control/payments/{ref}/resend": (resend, "Callback re-sent for {ref}"),
        "/_control/callbacks/default": (set_default_callback, "Default callback behaviour set"),
        "/_control/faults": (set_faults, "Fault armed"),
        "/_control/tokens/expire": (expire_tokens, "All tokens expired"),
        "/_control/refunds/{ref}/complete": (resolve_refund("complete"), "Refund {ref} completed"),
        "/_control/refunds/{ref}/fail": (resolve_refund("fail"), "Refund {ref} failed"),
        "/_control/reset": (reset, "Sandbox reset"),
        "/_control/config": (set_config, "Configuration updated"),
    }
    for action in ACTIONS:
        post[f"/_control/payments/{{ref}}/{action}"] = (settle(action), f"{action}: {{ref}}")
    for pattern, (handler, done) in post.items():
        sb.router.add("POST", pattern, form_aware(handler, done))
    sb.router.add("GET", "/_control/payments", list_payments)
    sb.router.add("GET", "/_control/payments/{ref}", one_payment)
    sb.router.add("GET", "/_control/refunds", list_refunds)
    sb.router.add("GET", "/_control/faults", get_faults)
    sb.router.add("DELETE", "/_control/faults", clear_faults)
    sb.router.add("GET", "/_control/report", report)
    sb.router.add("GET", "/_control/config", get_config)


def public_config(sb: PhonePeSandbox) -> dict[str, Any]:
    """Non-secret settings (credentials are in the environment the operator set)."""
    cfg = sb.config
    return {
        "merchantId": cfg.merchant_id,
        "clientId": cfg.client_id,
        "clientVersion": cfg.client_version,
        "saltIndexes": sorted(cfg.salt_keys),
        "webhookUrl": cfg.webhook_url,
        "tokenTtl": cfg.token_ttl,
        "refundDelay": cfg.refund_delay,
        "refundOutcome": cfg.refund_outcome,
        "defaultExpireAfter": cfg.default_expire_after,
        "minExpireAfter": cfg.min_expire_after,
        "defaultCallback": sb.gateway.ledger.default_callback.as_dict(),
        "qrDataForm": cfg.qr_data_form,
        "intentUrlForm": cfg.intent_url_form,
        "callbackIds": cfg.callback_ids,
    }


def update_config(sb: PhonePeSandbox, body: dict[str, Any]) -> None:
    """Runtime knobs a test or demo may turn: where v2 webhooks go, how refunds and expiry behave,
    which documented forms the pay answer and the order webhooks take.

    All or nothing: the changes are made on a copy, which replaces the live settings only when
    every field is valid."""
    cfg = copy.copy(sb.config)
    if "webhookUrl" in body:
        cfg.webhook_url = body["webhookUrl"] or None
    if "refundDelay" in body:
        cfg.refund_delay = optional_float(body, "refundDelay", None)
    if "refundOutcome" in body:
        if body["refundOutcome"] not in ("complete", "fail"):
            raise control_error(400, "refundOutcome must be complete or fail")
        cfg.refund_outcome = body["refundOutcome"]
    for key, attr in (("defaultExpireAfter", "default_expire_after"), ("minExpireAfter", "min_expire_after")):
        if key in body:
            value = optional_int(body, key)
            if value is None or value < 1:
                raise control_error(400, f"{key} must be a positive integer")
            setattr(cfg, attr, value)
    for key, (attr, allowed) in FORM_SWITCHES.items():
        if key in body:
            if body[key] not in allowed:
                raise control_error(400, f"{key} must be one of {', '.join(allowed)}")
            setattr(cfg, attr, body[key])
    for f in dataclasses.fields(cfg):  # in place: the gateway and notifier hold this object
        setattr(sb.config, f.name, getattr(cfg, f.name))
