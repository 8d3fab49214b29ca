"""The session cookie: one name and one set of attributes for every way of signing in."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from annexa.accounts.sessions import SESSION_LIFETIME

SESSION_COOKIE = "annexa_session"


def is_secure(request: Request) -> bool:
    """True behind TLS, where cookies must carry ``Secure``."""
    return request.url.scheme == "https"


def set_session_cookie(response: Response, request: Request, secret: str) -> None:
    # Lax, not Strict: a sign-in that arrives by redirect from an identity provider is a
    # top-level navigation from another site, and must still find its cookie.
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        max_age=int(SESSION_LIFETIME.total_seconds()),
        path="/",
        httponly=True,
        samesite="lax",
        secure=is_secure(request),
    )


def clear_session_cookie(response: Response, request: Request) -> None:
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=is_secure(request)
    )


def session_secret(request: Request) -> str | None:
    return request.cookies.get(SESSION_COOKIE)
