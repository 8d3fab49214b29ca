"""Signing in (password, then a TOTP code when the account has one), out, and choosing an
organisation.

Every failure says the same thing — wrong e-mail, wrong password, locked account, too many
attempts from this address — so the page never tells whether an e-mail has an account.
"""

from __future__ import annotations

import inspect
import logging
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from annexa.accounts import (
    complete_second_factor,
    dummy_password_check,
    end_session,
    login,
    start_session,
)
from annexa.accounts.sessions import STAGE_FULL, STAGE_PASSWORD
from annexa.errors import AccountLocked, Unauthenticated
from annexa.web.cookies import clear_session_cookie, set_session_cookie
from annexa.web.deps import DbSession, SignedIn, current_visitor, sign_checkpoint
from annexa.web.forms import FormData
from annexa.web.render import query, render
from annexa.web.security import client_ip, login_cookie, safe_next, set_login_cookie

log = logging.getLogger("annexa.web")
router = APIRouter()

SIGN_IN_FAILED = (
    "Sign-in failed. Check the e-mail address and password. After several failed attempts "
    "sign-in is paused for a while."
)
CODE_FAILED = (
    "That code was not accepted. Type the 6 digits your authenticator app shows now. "
    "After several failed attempts sign-in is paused for a while."
)
TOO_MANY = "Too many sign-in attempts. Wait a few minutes, then try again."


def oidc_buttons(session: Session, next_url: str = "/") -> list[dict[str, str]]:
    """Single sign-on buttons from ``annexa.web.oidc`` when it is installed."""
    try:
        from annexa.web import oidc
    except ImportError:
        return []
    make = getattr(oidc, "oidc_buttons", None)
    if make is None:
        return []
    try:
        takes_next = "next_url" in inspect.signature(make).parameters
        buttons = list(make(session, next_url=next_url) if takes_next else make(session))
    except Exception:  # a broken provider must not take the password form down with it
        log.exception("could not list single sign-on providers")
        return []
    return [
        {"label": str(b["label"]), "url": str(b["url"])}
        for b in buttons
        if str(b.get("url", "")).startswith(("/", "https://"))
    ]


def _login_page(
    request: Request,
    session: Session,
    *,
    next_url: str,
    email: str = "",
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    token, fresh = login_cookie(request)
    response = render(
        request,
        "login.html",
        {
            "login_token": token,
            "next_url": next_url,
            "email": email,
            "error": error,
            "buttons": oidc_buttons(session, next_url),
            "notice": "You are signed out." if request.query_params.get("out") else None,
        },
        status_code=status_code,
    )
    if fresh is not None:
        set_login_cookie(response, request, fresh)
    return response


@router.get("/login")
def login_form(request: Request, session: DbSession) -> Response:
    next_url = safe_next(request.query_params.get("next"))
    visitor = current_visitor(request, session)
    if visitor is not None and visitor.web_session.stage == STAGE_FULL:
        return RedirectResponse(next_url, status_code=303)
    if visitor is not None and visitor.web_session.stage == STAGE_PASSWORD:
        # Half signed in: the code is what is missing, not the password.
        target = query("/login/code", next=next_url if next_url != "/" else None)
        return RedirectResponse(target, status_code=303)
    return _login_page(request, session, next_url=next_url)


@router.post("/login")
def login_submit(request: Request, session: DbSession, form: FormData) -> Response:
    email = (form.get("email") or "").strip()[:320]
    password = form.get("password") or ""
    next_url = safe_next(form.get("next"))
    limits = request.app.state.rate_limits
    ip = client_ip(request)
    if not limits.allowed(ip, email):
        return _login_page(
            request, session, next_url=next_url, email=email, error=TOO_MANY, status_code=429
        )
    limits.attempt(ip)
    user = None
    try:
        user = login(session, email, password[:1024])
    except AccountLocked:
        # Refused without checking the password: do the same work anyway, so the timing
        # does not tell a locked (existing) account from an unknown one.
        dummy_password_check(password[:1024])
    if user is None:
        limits.failure(email)
        session.commit()  # keep the failure count (and any lock-out) it recorded
        return _login_page(
            request,
            session,
            next_url=next_url,
            email=email,
            error=SIGN_IN_FAILED,
            status_code=401,
        )
    previous = current_visitor(request, session)
    if previous is not None:
        end_session(session, previous.web_session)
    session.info["actor"] = user.email
    issued = start_session(session, user, method="password")
    session.commit()
    sign_checkpoint(request)
    if issued.session.stage == STAGE_PASSWORD:
        target = query("/login/code", next=next_url if next_url != "/" else None)
    else:
        target = next_url
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(response, request, issued.secret)
    return response


def _half_signed_in(request: Request, session: Session) -> Any:
    visitor = current_visitor(request, session)
    if visitor is None or visitor.web_session.stage != STAGE_PASSWORD:
        return None
    return visitor


@router.get("/login/code")
def code_form(request: Request, session: DbSession) -> Response:
    next_url = safe_next(request.query_params.get("next"))
    visitor = current_visitor(request, session)
    if visitor is not None and visitor.web_session.stage == STAGE_FULL:
        return RedirectResponse(next_url, status_code=303)
    if visitor is None:
        return RedirectResponse(query("/login", next=next_url), status_code=303)
    return render(
        request, "login_code.html", {"csrf": visitor.csrf, "next_url": next_url, "error": None}
    )


@router.post("/login/code")
def code_submit(request: Request, session: DbSession, form: FormData) -> Response:
    next_url = safe_next(form.get("next"))
    visitor = _half_signed_in(request, session)
    if visitor is None:
        return RedirectResponse(query("/login", next=next_url), status_code=303)
    limits = request.app.state.rate_limits
    ip = client_ip(request)
    email = visitor.user.email

    def refused(message: str, status_code: int) -> Response:
        return render(
            request,
            "login_code.html",
            {"csrf": visitor.csrf, "next_url": next_url, "error": message},
            status_code=status_code,
        )

    if not limits.allowed(ip, email):
        return refused(TOO_MANY, 429)
    limits.attempt(ip)
    try:
        complete_second_factor(session, visitor.web_session, form.get("code") or "")
    except (Unauthenticated, AccountLocked):
        limits.failure(email)
        session.commit()  # the failure counts towards the lock-out
        return refused(CODE_FAILED, 401)
    session.commit()
    sign_checkpoint(request)
    return RedirectResponse(next_url, status_code=303)


@router.post("/logout")
def logout(request: Request, session: DbSession) -> Response:
    visitor = current_visitor(request, session)
    if visitor is not None:
        end_session(session, visitor.web_session)
        session.commit()
        sign_checkpoint(request)
    response = RedirectResponse("/login?out=1", status_code=303)
    clear_session_cookie(response, request)
    return response


@router.get("/")
def home(visitor: SignedIn) -> Response:
    memberships = visitor.memberships()
    if len(memberships) == 1:
        return RedirectResponse(f"/o/{memberships[0]['slug']}/", status_code=303)
    return organisations_page(visitor, memberships)


@router.get("/orgs")
def organisations(visitor: SignedIn) -> Response:
    return organisations_page(visitor, visitor.memberships())


def organisations_page(visitor: Any, memberships: list[dict[str, str]]) -> Response:
    return render(
        visitor.request,
        "orgs.html",
        {"page": visitor, "memberships": memberships},
    )
