"""The web application: server-rendered pages (Jinja2 + htmx) in the API's process.

:func:`mount_web` hangs the pages under the API app at ``/`` — everything but ``/api/…``,
which stays the API's, 404s and 405s included. The pages call the same services as the API
and the CLI, through the same role rules (:mod:`annexa.api.deps`), one transaction per
request, every change audited under the signed-in user's e-mail.
"""

from __future__ import annotations

import logging
import secrets
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI
from starlette.routing import Match, Mount
from starlette.staticfiles import StaticFiles

from annexa.readiness.cache import ReadinessCache
from annexa.store.db import Database
from annexa.web import errors
from annexa.web.security import RateLimits, csrf_guard

log = logging.getLogger("annexa.web")

STATIC_DIR = Path(__file__).parent / "static"

# No inline script or style anywhere: htmx and the stylesheet come from /static, htmx's
# own indicator styles are switched off (see base.html) and it never evaluates strings.
WEB_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
WEB_HEADERS = [
    (b"content-security-policy", WEB_CSP.encode("ascii")),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=()"),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
]


class WebHeaders:
    """ASGI middleware: the pages' security headers (CSP, framing) on every response."""

    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                names = {name for name, _ in WEB_HEADERS}
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() not in names]
                headers.extend(WEB_HEADERS)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class WebMount(Mount):
    """A mount at ``/`` that never takes ``/api`` paths: the API answers those itself."""

    def matches(self, scope: dict[str, Any]) -> tuple[Match, dict[str, Any]]:
        path = scope.get("path", "")
        if path == "/api" or path.startswith("/api/"):
            return Match.NONE, {}
        return super().matches(scope)


def _oidc_router() -> Any:
    """The single sign-on routes, when ``annexa.web.oidc`` is installed."""
    try:
        from annexa.web.oidc import router
    except ImportError as exc:
        log.debug("no single sign-on routes: %s", exc)
        return None
    return router


def create_web_app(
    database: Database,
    *,
    sign_checkpoint: Any = None,
    signer: Any = None,
    form_key: bytes | None = None,
) -> FastAPI:
    """The pages over ``database``. ``sign_checkpoint`` runs after each committed write."""
    from annexa.web.routes import ROUTERS

    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    app.state.database = database
    app.state.sign_checkpoint = sign_checkpoint
    app.state.signer = signer
    # Signs the pre-session CSRF cookie of the sign-in form; per process (a restart only
    # means reloading the sign-in page).
    app.state.form_key = form_key or secrets.token_bytes(32)
    app.state.rate_limits = RateLimits()
    app.state.readiness_cache = ReadinessCache()
    errors.install(app)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for router in ROUTERS:
        app.include_router(router, dependencies=[Depends(csrf_guard)])
    oidc = _oidc_router()
    if oidc is not None:
        app.include_router(oidc)
    app.add_middleware(WebHeaders)
    return app


def mount_web(api: FastAPI) -> FastAPI:
    """Serve the pages from the API app ``api`` (built by :func:`annexa.api.app.create_app`)."""
    web = create_web_app(
        api.state.database,
        sign_checkpoint=getattr(api.state, "sign_checkpoint", None),
        signer=getattr(api.state, "signer", None),
    )
    api.state.web = web
    api.router.routes.append(WebMount("/", app=web, name="web"))
    return web
