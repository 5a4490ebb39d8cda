"""The project's one error vocabulary.

Every API error leaves the server as ``{"error": {"code", "message", "details"}}``.
Services raise ``ApplicationError`` subclasses (anticipated failures the client
can act on); ``kiosk_project.core.exception_handler`` turns them, DRF's own
exceptions and unexpected crashes into that envelope. This module imports
nothing from Django so that pure code (the pricing engine) can raise these too.
"""

from __future__ import annotations

from typing import Any


class ApplicationError(Exception):
    """An anticipated failure with a stable machine code and an HTTP status."""

    status_code: int = 400
    code: str = "BAD_REQUEST"
    message: str = "The request could not be processed."

    def __init__(self, message: str | None = None, *, details: Any = None, code: str | None = None,
                 status_code: int | None = None) -> None:
        self.message = message or self.message
        self.details = details if details is not None else {}
        if code:
            self.code = code
        if status_code:
            self.status_code = status_code
        super().__init__(self.message)

    def as_envelope(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


class NotFound(ApplicationError):
    status_code = 404
    code = "NOT_FOUND"
    message = "Not found."


class Conflict(ApplicationError):
    status_code = 409
    code = "CONFLICT"
    message = "The request conflicts with the current state."


class ServiceUnavailable(ApplicationError):
    status_code = 503
    code = "SERVICE_UNAVAILABLE"
    message = "A service this request needs is unavailable; try again shortly."


class UpstreamError(ApplicationError):
    """A third party (Rista, PhonePe) answered badly or not at all."""

    status_code = 502
    code = "UPSTREAM_ERROR"
    message = "An upstream service failed; try again shortly."
