"""CSRF checks, sign-in rate limits and safe redirects for the pages.

CSRF: every POST from a page carries a token, as the form field ``csrf_token`` or (htmx)
the ``X-CSRF-Token`` header. Signed in, it is the session's token
(:func:`annexa.accounts.csrf_token`); on the sign-in form, before any session exists, it
is an HMAC under a per-process key of a random value the browser holds in a cookie
(a signed double-submit cookie: a site that can plant a cookie still cannot forge the
matching token).

Rate limits: in-memory sliding windows, on top of the account lock-out: password and code
attempts per client IP and failures per e-mail address, and single sign-on requests
(``/auth/oidc/…``) per client IP. In memory means per process and reset by a restart;
``annexa serve`` runs one process. The lock-out lives in the database, so it holds across
processes and restarts; behind several processes, put a shared limiter in front of them.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from urllib.parse import urlsplit

from fastapi import Request
from starlette.responses import Response

from annexa.accounts import check_csrf
from annexa.web.cookies import is_secure, session_secret
from annexa.web.errors import CsrfRejected
from annexa.web.forms import read_form

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
LOGIN_COOKIE = "annexa_login"
LOGIN_COOKIE_AGE = 3600
# Paths whose POSTs come before a session exists: checked against the login cookie.
PRE_SESSION_PATHS = frozenset({"/login"})


# --- CSRF ----------------------------------------------------------------------------------


def login_token(key: bytes, cookie: str) -> str:
    return hmac.new(key, b"annexa-login-v1:" + cookie.encode("utf-8"), hashlib.sha256).hexdigest()


def login_cookie(request: Request) -> tuple[str, str | None]:
    """The sign-in form's CSRF token, and a new cookie value to set when the browser has none."""
    cookie = request.cookies.get(LOGIN_COOKIE) or ""
    fresh = None
    if not (16 <= len(cookie) <= 100):
        cookie = fresh = secrets.token_urlsafe(24)
    return login_token(request.app.state.form_key, cookie), fresh


def set_login_cookie(response: Response, request: Request, value: str) -> None:
    response.set_cookie(
        LOGIN_COOKIE,
        value,
        max_age=LOGIN_COOKIE_AGE,
        path="/",
        httponly=True,
        samesite="lax",
        secure=is_secure(request),
    )


def check_login_token(request: Request, given: str | None) -> bool:
    cookie = request.cookies.get(LOGIN_COOKIE)
    if not cookie or not given or len(cookie) > 100:
        return False
    return hmac.compare_digest(login_token(request.app.state.form_key, cookie), given)


async def csrf_guard(request: Request) -> None:
    """Refuse (403) any unsafe request without the right CSRF token. On every page router."""
    if request.method in SAFE_METHODS:
        return
    given = request.headers.get(CSRF_HEADER)
    if not given:
        form = await read_form(request)
        given = form.get(CSRF_FIELD)
    if request.url.path in PRE_SESSION_PATHS:
        ok = check_login_token(request, given)
    else:
        ok = check_csrf(session_secret(request), given)
    if not ok:
        raise CsrfRejected()


# --- redirects -----------------------------------------------------------------------------


def safe_next(value: str | None, default: str = "/") -> str:
    """``value`` when it is a path on this site (``/o/acme/risks?page=2``), else ``default``.

    Refuses absolute and scheme-relative URLs (``//evil.example``), backslashes (which
    browsers read as slashes) and control characters, so a link cannot bounce a user who
    signs in to another site.
    """
    if not value or len(value) > 2000:
        return default
    if not value.startswith("/") or value.startswith("//") or "\\" in value:
        return default
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return default
    if value.startswith("/api/") or value.startswith("/login") or value.startswith("/logout"):
        return default
    return value


# --- rate limits ---------------------------------------------------------------------------


class SlidingWindow:
    """At most ``limit`` hits per key in any ``window`` seconds; bounded memory."""

    def __init__(
        self,
        limit: int,
        window: float,
        *,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.limit = limit
        self.window = window
        self.max_keys = max_keys
        self.clock = clock
        self._hits: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        hits = self._hits.get(key)
        if hits is None:
            hits = deque()
            self._hits[key] = hits
            while len(self._hits) > self.max_keys:
                self._hits.popitem(last=False)  # forget the longest-idle key
        else:
            self._hits.move_to_end(key)
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        return hits

    def allowed(self, key: str) -> bool:
        with self._lock:
            return len(self._recent(key, self.clock())) < self.limit

    def hit(self, key: str) -> None:
        with self._lock:
            now = self.clock()
            self._recent(key, now).append(now)

    def take(self, key: str) -> bool:
        """Count one hit when allowed, in one step; False (and nothing counted) when not."""
        with self._lock:
            now = self.clock()
            hits = self._recent(key, now)
            if len(hits) >= self.limit:
                return False
            hits.append(now)
            return True

    def clear(self) -> None:
        with self._lock:
            self._hits.clear()


class RateLimits:
    """Sign-in attempts per client IP, failures per e-mail address (known or not), and
    single sign-on requests per client IP.

    Single sign-on has its own, larger window: each sign-in is two requests (start and
    callback), and a whole office behind one address signs in at nine.
    """

    def __init__(
        self,
        *,
        per_ip: int = 30,
        ip_window: float = 300.0,
        per_account: int = 10,
        account_window: float = 900.0,
        sso_per_ip: int = 120,
        sso_window: float = 300.0,
    ):
        self.ip = SlidingWindow(per_ip, ip_window)
        self.account = SlidingWindow(per_account, account_window)
        self.sso = SlidingWindow(sso_per_ip, sso_window)

    @staticmethod
    def account_key(email: str) -> str:
        return (email or "").strip().lower()[:320]

    def allowed(self, ip: str, email: str | None) -> bool:
        if not self.ip.allowed(ip):
            return False
        return email is None or self.account.allowed(self.account_key(email))

    def attempt(self, ip: str) -> None:
        self.ip.hit(ip)

    def failure(self, email: str) -> None:
        self.account.hit(self.account_key(email))

    def sso_request(self, ip: str) -> bool:
        """Count one single sign-on request (start or callback); False when over the limit."""
        return self.sso.take(ip)


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"
