"""The project's one error vocabulary.

Every API error leaves the server as ``{"error": {"code", "message", "details"}}``.
Services raise ``ApplicationError`` subclasses (anticipated failures the client
can act on); ``kiosk_project.core.exception_handler`` turns them, DRF's own
exceptions and unexpected crashes into that envelope. This module imports
nothing from Django so that pure code (the pricing engine) can raise these too.
"""

from __future__ import annotations

from typing import Any

from kiosk_project.core.error_codes import CATALOGUE, error_code


class ApplicationError(Exception):
    """An anticipated failure with a stable machine code and an HTTP status.

    A subclass names its `code`; its status and default message come from the catalogue
    (core.error_codes). It may narrow the message (a more specific text for the same code),
    never the status: a code means one HTTP status everywhere.
    """

    status_code: int = 400
    code: str = "BAD_REQUEST"
    message: str = "The request could not be processed."
    retry_after: int | None = None  # seconds; the handler sends it as Retry-After

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        entry = error_code(cls.code)  # fails at import for a code missing from the catalogue
        if cls.__dict__.get("status_code", entry.status) != entry.status:
            raise TypeError(f"{cls.__name__}: {cls.code} is HTTP {entry.status} in the catalogue")
        cls.status_code = entry.status
        if "message" not in cls.__dict__ and "code" in cls.__dict__:
            cls.message = entry.message

    def __init__(self, message: str | None = None, *, details: Any = None, code: str | None = None,
                 status_code: int | None = None, retry_after: int | None = None) -> None:
        self.message = message or self.message
        self.details = details if details is not None else {}
        if retry_after is not None:
            self.retry_after = retry_after
        if code:
            self.code = code
            entry = CATALOGUE.get(code)  # a raise naming another code takes its status (a test checks all are known)
            if entry is not None:
                self.status_code = entry.status
        if status_code:
            self.status_code = status_code
        super().__init__(self.message)

    def as_envelope(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


class NotFound(ApplicationError):
    code = "NOT_FOUND"


class Conflict(ApplicationError):
    code = "CONFLICT"


class ServiceUnavailable(ApplicationError):
    code = "SERVICE_UNAVAILABLE"


class UpstreamError(ApplicationError):
    """A third party (Rista, PhonePe) answered badly or not at all."""

    code = "UPSTREAM_ERROR"
