"""The application factory: ``create_app(database_url)`` builds the API over one database."""

from __future__ import annotations

import logging
import re
import uuid
from typing import Any

from fastapi import FastAPI

from annexa import __version__
from annexa.api import errors
from annexa.readiness.cache import ReadinessCache
from annexa.store.db import Database

log = logging.getLogger("annexa.api")

API_PREFIX = "/api/v1"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
_REPLACED = {b"x-request-id", b"cache-control", *(name for name, _ in SECURITY_HEADERS)}
# The interactive docs load Swagger UI's script and styles; everything else loads nothing.
API_CSP = b"default-src 'none'; frame-ancestors 'none'"


class ApiHeaders:
    """ASGI middleware: a request id for every request, security headers on every response.

    The request id is the client's ``X-Request-ID`` when it is a plain token of at most 64
    characters, else a fresh one; the audit log records it with every change.
    """

    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = ""
        for name, value in scope.get("headers", []):
            if name == b"x-request-id":
                given = value.decode("latin-1")
                break
        request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        path = scope.get("path", "")
        is_docs = path in ("/api/docs", "/api/docs/oauth2-redirect", "/api/redoc")

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                given = message.get("headers", [])
                # The web pages (mounted below) send their own policy; keep it.
                own_csp = any(k.lower() == b"content-security-policy" for k, _ in given)
                headers = [(k, v) for k, v in given if k.lower() not in _REPLACED]
                headers.extend(SECURITY_HEADERS)
                headers.append((b"x-request-id", request_id.encode("latin-1")))
                headers.append((b"cache-control", b"no-store"))
                if not is_docs and not own_csp:
                    headers.append((b"content-security-policy", API_CSP))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _checkpoint_signer(database: Database):  # type: ignore[no-untyped-def]
    """Sign a checkpoint after each write, like the CLI, when a signing key exists."""
    from sqlalchemy.exc import SQLAlchemyError

    from annexa.audit.keys import load_signer
    from annexa.audit.log import issue_checkpoint
    from annexa.errors import AnnexaError

    try:
        signer = load_signer(database.sqlite_file)
    except (AnnexaError, OSError, ValueError) as exc:
        log.warning("no audit signing key usable: %s", exc)
        signer = None

    def sign() -> None:
        if signer is None:
            return
        try:
            with database.engine.begin() as connection:
                issue_checkpoint(connection, signer)
        except (AnnexaError, SQLAlchemyError, OSError) as exc:  # the change stands; log it
            log.warning("no audit checkpoint signed: %s", exc)

    return signer, sign


def create_app(database_url: str) -> FastAPI:
    """The API over the database at ``database_url`` (which must be initialised)."""
    from annexa.api.routers import ROUTERS

    database = Database(database_url)
    database.ensure_ready()
    app = FastAPI(
        title="Annexa API",
        version=__version__,
        description=(
            "The ISMS over HTTP: the same services as the `annexa` CLI. Authenticate with "
            "`Authorization: Bearer anx_…` (a personal token from `annexa token create`). "
            "Every change is recorded in the tamper-evident audit log under your e-mail."
        ),
        openapi_url="/api/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
    )
    app.state.database = database
    app.state.signer, app.state.sign_checkpoint = _checkpoint_signer(database)
    app.state.readiness_cache = ReadinessCache()
    errors.install(app)
    for router in ROUTERS:
        app.include_router(router, prefix=API_PREFIX, responses=errors.ERROR_RESPONSES)
    from annexa.web.app import mount_web

    mount_web(app)  # the web pages: every path outside /api
    app.add_middleware(ApiHeaders)
    return app
