"""Single sign-on pages: send the browser to the organisation's identity provider, and take
it back.

``GET /auth/oidc/{slug}/start[?next=/o/…]`` redirects to the provider with a fresh
``state``, ``nonce`` and PKCE challenge; the values the return needs travel in a short-lived
HttpOnly cookie signed with HMAC-SHA256 (``__Host-`` prefixed behind TLS, so a sibling
subdomain cannot plant one). ``GET /auth/oidc/{slug}/callback`` checks that cookie and the
``state``, redeems the code, validates the ID token, finds or provisions the user (see
:mod:`annexa.accounts.oidc`), starts a session and redirects to ``/o/{slug}/`` (or the safe
``next``). Every failure answers an error page (400, 401, 403, 404, 429 or 502), clears the
flow cookie, and signs nobody in. Both routes are rate limited per client IP
(:class:`annexa.web.security.RateLimits`): over the limit they answer 429 before doing
any work.

The cookie's key is derived from ``ANNEXA_SECRET_KEY`` when set (needed when several
processes serve the same site), else made per process: a restart in the middle of a
sign-in only means starting it again.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import secrets
from typing import Any
from urllib.parse import urlencode

import orjson
from fastapi import APIRouter, Request
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from annexa.accounts.oidc import (
    FLOW_LIFETIME,
    Flow,
    SignInFailed,
    begin_sign_in,
    enabled_providers,
    finish_sign_in,
    redirect_uri,
    resolve_user,
    safe_next,
    start_path,
    usable_provider,
)
from annexa.accounts.sessions import end_session, find_session, start_session
from annexa.api.errors import request_id_of
from annexa.errors import AnnexaError
from annexa.web.cookies import is_secure, session_secret, set_session_cookie
from annexa.web.errors import error_page
from annexa.web.security import client_ip

log = logging.getLogger("annexa.web.oidc")

router = APIRouter()

FLOW_COOKIE = "annexa_oidc"
SECURE_FLOW_COOKIE = "__Host-annexa_oidc"  # behind TLS: Secure, Path=/, no Domain
SECRET_ENV = "ANNEXA_SECRET_KEY"  # noqa: S105 (the name of a variable, not a secret)
_PROCESS_KEY = secrets.token_bytes(32)
_NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
TITLES = {
    400: "Sign-in failed",
    401: "Sign-in not accepted",
    403: "Sign-in not allowed",
    404: "No single sign-on here",
    429: "Too many sign-in attempts",
    502: "Identity provider unavailable",
    503: "Try again",
}


# --- the flow cookie ---------------------------------------------------------------------


def _key() -> bytes:
    configured = os.environ.get(SECRET_ENV, "")
    if configured:
        return hashlib.sha256(b"annexa-oidc-flow-v1\x00" + configured.encode("utf-8")).digest()
    return _PROCESS_KEY


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def seal_flow(flow: Flow) -> str:
    payload = _b64(orjson.dumps(flow.to_dict()))
    mac = hmac.new(_key(), payload.encode("ascii"), hashlib.sha256).digest()
    return payload + "." + _b64(mac)


def open_flow(value: str | None) -> Flow | None:
    """The flow a cookie holds, or None when it is missing, forged or malformed."""
    if not value or len(value) > 4000 or value.count(".") != 1:
        return None
    payload, mac = value.split(".")
    expected = hmac.new(_key(), payload.encode("ascii", "replace"), hashlib.sha256).digest()
    try:
        if not hmac.compare_digest(_unb64(mac), expected):
            return None
        return Flow.from_dict(orjson.loads(_unb64(payload)))
    except (ValueError, orjson.JSONDecodeError):
        return None


def _cookie_name(request: Request) -> str:
    return SECURE_FLOW_COOKIE if is_secure(request) else FLOW_COOKIE


def _set_flow_cookie(response: Response, request: Request, flow: Flow) -> None:
    # Lax: the provider sends the browser back with a top-level GET from its own site.
    response.set_cookie(
        _cookie_name(request),
        seal_flow(flow),
        max_age=FLOW_LIFETIME,
        path="/",
        httponly=True,
        samesite="lax",
        secure=is_secure(request),
    )


def _clear_flow_cookie(response: Response, request: Request) -> None:
    response.delete_cookie(
        _cookie_name(request), path="/", httponly=True, samesite="lax", secure=is_secure(request)
    )


# --- pages -------------------------------------------------------------------------------


def failure_page(request: Request, exc: AnnexaError) -> Response:
    """The error page for a sign-in that did not complete; it clears the flow cookie."""
    status = exc.http_status if exc.http_status in TITLES else 400
    message = exc.message[:1].upper() + exc.message[1:] + "."
    if exc.fix:
        message += " " + exc.fix[:1].upper() + exc.fix[1:] + "."
    response = error_page(request, status, TITLES[status], message)
    for name, value in _NO_STORE.items():
        response.headers[name] = value
    _clear_flow_cookie(response, request)
    return response


def _over_the_limit(request: Request) -> Response | None:
    """The 429 page when this client IP sent too many single sign-on requests, else None."""
    limits = request.app.state.rate_limits
    if limits.sso_request(client_ip(request)):
        return None
    log.warning("single sign-on requests from %s over the rate limit", client_ip(request))
    response = failure_page(
        request,
        SignInFailed(
            "too many sign-in attempts from this address",
            status=429,
            fix="wait a few minutes, then start the sign-in again",
        ),
    )
    response.headers["Retry-After"] = str(int(limits.sso.window))
    return response


def _redirect_uri(request: Request, slug: str) -> str:
    return str(redirect_uri(slug, str(request.base_url)))


@router.get("/auth/oidc/{slug}/start", name="oidc_start", include_in_schema=False)
def oidc_start(request: Request, slug: str, next: str | None = None) -> Response:
    """Send the browser to the organisation's identity provider."""
    limited = _over_the_limit(request)
    if limited is not None:
        return limited
    database = request.app.state.database
    try:
        with database.reading() as session:
            org, provider = usable_provider(session, slug[:64])
            url, flow = begin_sign_in(
                provider, org.slug, _redirect_uri(request, org.slug), next_path=next
            )
    except SignInFailed as exc:
        log.info("single sign-on to %r not started: %s", slug[:64], exc.message)
        return failure_page(request, exc)
    response = RedirectResponse(url, status_code=303, headers=_NO_STORE)
    _set_flow_cookie(response, request, flow)
    return response


def _provider_error(error: str, description: str | None) -> SignInFailed:
    error = "".join(c for c in error[:64] if c.isprintable())
    detail = f" ({description[:200]})" if description else ""
    if error == "access_denied":
        message = "the identity provider did not sign you in: access was denied" + detail
    else:
        message = f"the identity provider reported an error: {error}{detail}"
    return SignInFailed(message, status=400, field="error", fix="start the sign-in again")


@router.get("/auth/oidc/{slug}/callback", name="oidc_callback", include_in_schema=False)
def oidc_callback(
    request: Request,
    slug: str,
    code: str | None = None,
    state: str | None = None,
    error: str | None = None,
    error_description: str | None = None,
) -> Response:
    """The browser's return from the provider: sign in, or say why not."""
    limited = _over_the_limit(request)
    if limited is not None:
        return limited
    slug = slug[:64]
    try:
        if error:
            raise _provider_error(error, error_description)
        flow = open_flow(request.cookies.get(_cookie_name(request)))
        if flow is None or flow.org != slug:
            raise SignInFailed(
                "this sign-in has expired, or was started in another browser or tab",
                field="state",
                fix="start the sign-in again",
            )
        return _complete(request, slug, flow, code=code, state=state)
    except SignInFailed as exc:
        log.info("single sign-on to %r refused: %s", slug, exc.message)
        return failure_page(request, exc)
    except AnnexaError as exc:  # e.g. an e-mail address Annexa cannot accept
        log.info("single sign-on to %r refused: %s", slug, exc.message)
        return failure_page(request, SignInFailed(exc.message, field=exc.field, fix=exc.fix))
    except SQLAlchemyError:
        log.exception("single sign-on to %r could not be recorded", slug)
        return failure_page(
            request,
            SignInFailed(
                "the sign-in could not be recorded", status=503, fix="start the sign-in again"
            ),
        )


def _complete(
    request: Request, slug: str, flow: Flow, *, code: str | None, state: str | None
) -> Response:
    database = request.app.state.database
    redirect_to = _redirect_uri(request, slug)
    with database.reading() as session:
        _org, provider = usable_provider(session, slug)
        claims = finish_sign_in(provider, flow, state=state, code=code, redirect_to=redirect_to)
    with database.transaction(actor="oidc", request_id=request_id_of(request)) as session:
        org, provider = usable_provider(session, slug)
        signed_in = resolve_user(session, org, provider, claims)
        session.info["actor"] = signed_in.user.email
        previous = find_session(session, session_secret(request))
        if previous is not None:
            end_session(session, previous)  # a new sign-in never reuses the old session
        issued = start_session(session, signed_in.user, method="oidc")
        secret = issued.secret
        email = signed_in.user.email
    log.info(
        "single sign-on to %r: %s signed in%s%s",
        slug,
        email,
        " (account created)" if signed_in.created else "",
        " (identity linked)" if signed_in.linked and not signed_in.created else "",
    )
    sign = getattr(request.app.state, "sign_checkpoint", None)
    if sign is not None:
        sign()
    target = flow.next or f"/o/{slug}/"
    response = RedirectResponse(target, status_code=303, headers=_NO_STORE)
    _clear_flow_cookie(response, request)
    set_session_cookie(response, request, secret)
    return response


def oidc_buttons(session: Session, next_url: str | None = None) -> list[dict[str, Any]]:
    """``{label, url, org}`` for each organisation with single sign-on turned on."""
    target = safe_next(next_url)
    buttons = []
    for org, _provider in enabled_providers(session):
        url = start_path(org.slug)
        if target:
            url += "?" + urlencode({"next": target})
        buttons.append({"label": f"{org.name} (single sign-on)", "url": url, "org": org.slug})
    return buttons
