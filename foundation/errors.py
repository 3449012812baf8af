"""The one base class for errors that are the domain's answer to bad input or a refused action.

Every package may raise a subclass; ``api/`` maps them to HTTP in one place, so domain code never
knows about status codes beyond the hint carried here.
"""

from __future__ import annotations


class DispatchError(Exception):
    """A domain error with a stable machine code and a suggested HTTP status."""

    code: str = "dispatch_error"
    http_status: int = 400

    def __init__(self, message: str, *, details: dict[str, object] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}


class NotFound(DispatchError):
    """A named resource does not exist."""

    code = "not_found"
    http_status = 404


class Conflict(DispatchError):
    """The request clashes with the current state (e.g. an idempotency key reused with another body)."""

    code = "conflict"
    http_status = 409


class InvalidInput(DispatchError):
    """Input that is well-formed JSON but violates a domain rule."""

    code = "invalid_input"
    http_status = 422
