"""What the pages answer when something goes wrong: an HTML page, never a traceback."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import RedirectResponse, Response

from annexa.api.errors import log_unhandled
from annexa.errors import AnnexaError

log = logging.getLogger("annexa.web")


class PageError(Exception):
    """Stop and show an error page with this status."""

    def __init__(self, status: int, title: str, message: str):
        super().__init__(message)
        self.status = status
        self.title = title
        self.message = message


class CsrfRejected(PageError):
    def __init__(self) -> None:
        super().__init__(
            403,
            "Request refused",
            "This form was not sent from an Annexa page of your current session "
            "(its security token is missing or stale). Reload the page and try again.",
        )


class LoginRequired(Exception):
    """The page needs a signed-in user: send the browser to the sign-in page."""

    def __init__(self, next_url: str):
        super().__init__(next_url)
        self.next_url = next_url


TITLES = {
    400: "Bad request",
    401: "Sign-in needed",
    403: "Not allowed",
    404: "Not found",
    405: "Not allowed",
    409: "Conflict",
    413: "Too much data",
    415: "Unsupported form",
    422: "Check your input",
    429: "Too many requests",
    503: "Unavailable",
}


def error_page(request: Request, status: int, title: str, message: str) -> Response:
    from annexa.web.render import render

    return render(
        request,
        "error.html",
        {"status": status, "title": title, "message": message},
        status_code=status,
    )


async def page_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PageError)
    return error_page(request, exc.status, exc.title, exc.message)


async def login_required(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginRequired)
    from annexa.web.render import is_htmx, query

    target = query("/login", next=exc.next_url if exc.next_url != "/" else None)
    if is_htmx(request):
        # htmx follows this header with a full page load instead of swapping a fragment.
        return Response(status_code=200, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


async def annexa_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AnnexaError)
    status = exc.http_status if exc.http_status != 401 else 403
    message = exc.message + (f" — {exc.fix}" if exc.fix else "")
    return error_page(request, status, TITLES.get(status, "Error"), message)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    title = TITLES.get(exc.status_code, "Error")
    message = exc.detail if isinstance(exc.detail, str) else title
    if exc.status_code == 404:
        message = "There is no such page, or you may not see it."
    response = error_page(request, exc.status_code, title, message)
    for name, value in (exc.headers or {}).items():
        response.headers[name] = value
    return response


async def validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    return error_page(request, 422, TITLES[422], "The address holds a value the page cannot use.")


async def internal_error(request: Request, exc: Exception) -> Response:
    request_id = log_unhandled(log, request, exc)
    return error_page(
        request,
        500,
        "Something went wrong",
        f"The error was logged. Quote request id {request_id} when reporting it.",
    )


def install(app: FastAPI) -> None:
    handlers: dict[Any, Any] = {
        PageError: page_error,
        LoginRequired: login_required,
        AnnexaError: annexa_error,
        StarletteHTTPException: http_error,
        RequestValidationError: validation_error,
        Exception: internal_error,
    }
    for kind, handler in handlers.items():
        app.add_exception_handler(kind, handler)
