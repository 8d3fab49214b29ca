"""Errors that carry enough context to tell a user which field is wrong and how to fix it.

The CLI turns every :class:`AnnexaError` into one line on stderr and exit code 2; the API
turns it into a 4xx response with the same ``field`` and ``message``.
"""

from __future__ import annotations


class AnnexaError(Exception):
    """A problem caused by the caller's input or the state it asked for."""

    code = "invalid"
    http_status = 400

    def __init__(self, message: str, *, field: str | None = None, fix: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        self.fix = fix

    def one_line(self) -> str:
        parts = []
        if self.field:
            parts.append(f"{self.field}: {self.message}")
        else:
            parts.append(self.message)
        if self.fix:
            parts.append(f"fix: {self.fix}")
        return " — ".join(parts)

    def to_dict(self) -> dict[str, str | None]:
        return {"code": self.code, "message": self.one_line(), "field": self.field}


class InvalidInput(AnnexaError):
    code = "invalid_input"
    http_status = 422


class NotFound(AnnexaError):
    code = "not_found"
    http_status = 404


class Conflict(AnnexaError):
    code = "conflict"
    http_status = 409


class StoreUnavailable(AnnexaError):
    code = "store_unavailable"
    http_status = 503


class Unauthenticated(AnnexaError):
    code = "unauthenticated"
    http_status = 401


class Forbidden(AnnexaError):
    code = "forbidden"
    http_status = 403


class AccountLocked(AnnexaError):
    code = "locked"
    http_status = 429
