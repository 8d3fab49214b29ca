"""One error shape for every failure: ``{"error": {"code", "message", "field"}}``."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from annexa.errors import AnnexaError

log = logging.getLogger("annexa.api")

HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid_input",
    429: "too_many_requests",
}


class ErrorDetail(BaseModel):
    code: str = Field(description="A stable machine-readable code, e.g. `not_found`.")
    message: str = Field(description="What went wrong and how to fix it, for people.")
    field: str | None = Field(description="The field at fault, when one is.")


class ErrorResponse(BaseModel):
    error: ErrorDetail


_ERROR_MEANINGS = {
    400: "The request cannot be understood.",
    401: "No valid token was sent.",
    403: "The caller's role or token scope does not allow this.",
    404: "No such record, or an organisation the caller is not a member of.",
    409: "The change conflicts with the records (a duplicate, a rule of the ISMS).",
    422: "A field is missing or invalid; `field` names it.",
}
# Documented on every operation: each can answer any of them, in the one error shape.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": meaning}
    for status, meaning in _ERROR_MEANINGS.items()
}
# Parts of a validation error's location that name where, not what.
_LOCATION_WORDS = {"body", "query", "path", "header", "cookie"}


def api_field(field: str | None) -> str | None:
    """The CLI's ``--residual-likelihood`` is the API's ``residual_likelihood``."""
    if not field:
        return None
    if field.startswith("--"):
        return field[2:].replace("-", "_")
    return field


def error_body(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "field": field}}


def request_id_of(request: Request) -> str | None:
    """The id :class:`annexa.api.app.ApiHeaders` gave this request (None when not served
    through it). Also used by the pages, which share the API's process and middleware."""
    value = getattr(request.state, "request_id", None)
    return value if isinstance(value, str) else None


def log_unhandled(logger: logging.Logger, request: Request, exc: Exception) -> str | None:
    """Log an unexpected error with its traceback (never sent to the client); the request
    id to quote back, which the log line names too. For the API's and the pages' handlers."""
    request_id = request_id_of(request)
    logger.error(
        "unhandled error on %s %s (request %s)",
        request.method,
        request.url.path,
        request_id,
        exc_info=exc,
    )
    return request_id


def _headers(request: Request) -> dict[str, str]:
    request_id = request_id_of(request)
    return {"X-Request-ID": request_id} if request_id else {}


async def annexa_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AnnexaError)
    message = exc.message + (f" — fix: {exc.fix}" if exc.fix else "")
    headers = _headers(request)
    if exc.http_status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return JSONResponse(
        error_body(exc.code, message, api_field(exc.field)),
        status_code=exc.http_status,
        headers=headers,
    )


async def validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    first = errors[0] if errors else {}
    location = [str(part) for part in first.get("loc", ()) if part not in _LOCATION_WORDS]
    field = ".".join(location) or None
    message = str(first.get("msg", "invalid request"))
    if len(errors) > 1:
        message += f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
    return JSONResponse(
        error_body("invalid_input", message, field), status_code=422, headers=_headers(request)
    )


async def http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = HTTP_CODES.get(exc.status_code, "error")
    message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    headers = {**(exc.headers or {}), **_headers(request)}
    return JSONResponse(error_body(code, message), status_code=exc.status_code, headers=headers)


async def data_error(request: Request, exc: Exception) -> JSONResponse:
    """A value the database cannot hold (a number beyond its integers, say): the caller's
    input, not a server fault. Parameters bound here are validated first; this is the net."""
    log.warning(
        "database refused a value on %s %s: %s",
        request.method,
        request.url.path,
        type(getattr(exc, "orig", exc)).__name__,
    )
    return JSONResponse(
        error_body(
            "invalid_input",
            "a value is out of range for the database — fix: use a smaller number or shorter text",
        ),
        status_code=422,
        headers=_headers(request),
    )


async def internal_error(request: Request, exc: Exception) -> JSONResponse:
    """Anything unexpected: logged here with its traceback, never sent to the client."""
    request_id = log_unhandled(log, request, exc)
    return JSONResponse(
        error_body("internal", f"internal error; quote request id {request_id} when reporting"),
        status_code=500,
        headers=_headers(request),
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(AnnexaError, annexa_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(DataError, data_error)
    app.add_exception_handler(Exception, internal_error)
