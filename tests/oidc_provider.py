"""A small, real OpenID Connect provider for the tests, served over loopback HTTP.

It speaks just enough of the protocol for Annexa's relying party: discovery, a JWKS, an
authorization endpoint that approves :attr:`LocalOidcProvider.user` at once (no login page) and
a token endpoint that checks the code, the redirect URI, the PKCE verifier (S256 only) and
the client's credentials before handing out an RS256-signed ID token.

Knobs for the failure tests: :attr:`error` (the authorization endpoint answers with it),
:attr:`claim_changes` (claims to override in the next ID tokens; ``None`` deletes one) and
:attr:`sign_with` (``"other"``: a key that is not in the JWKS, same key id).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

import uvicorn
from joserfc import jwt
from joserfc.jwk import RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

CLIENT_ID = "annexa-test-client"
CLIENT_SECRET = "provider-issued-client-secret-3f9a"


@dataclass
class Grant:
    client_id: str
    redirect_uri: str
    challenge: str
    nonce: str | None
    user: dict[str, Any]
    issued: float


@dataclass
class LocalOidcProvider:
    """Start with :meth:`start`; :attr:`issuer` is then ``http://127.0.0.1:<port>``."""

    client_id: str = CLIENT_ID
    client_secret: str | None = CLIENT_SECRET
    user: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    claim_changes: dict[str, Any] = field(default_factory=dict)
    sign_with: str = "published"
    auth_methods: tuple[str, ...] = ("client_secret_basic", "client_secret_post")
    refusals: list[str] = field(default_factory=list)  # why each token request was refused
    token_requests: list[dict[str, str]] = field(default_factory=list)
    port: int = 0

    def __post_init__(self) -> None:
        params = {"kid": "test-key-1", "use": "sig", "alg": "RS256"}
        self.key = RSAKey.generate_key(2048, parameters=params, private=True)
        # Same key id, never published: a token signed with it must not verify.
        self.other_key = RSAKey.generate_key(2048, parameters=params, private=True)
        self.grants: dict[str, Grant] = {}
        self.app = Starlette(
            routes=[
                Route("/.well-known/openid-configuration", self.discovery),
                Route("/jwks", self.jwks),
                Route("/authorize", self.authorize),
                Route("/token", self.token, methods=["POST"]),
            ]
        )
        self.reset()

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> LocalOidcProvider:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(self.app, log_level="warning", lifespan="off", access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [sock]}, daemon=True
        )
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test OIDC provider did not start")
            time.sleep(0.01)
        self._socket = sock
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self._socket.close()

    def reset(self) -> None:
        self.user = {
            "sub": "user-0001",
            "email": "alice@corp.example",
            "email_verified": True,
            "name": "Alice Example",
        }
        self.error = None
        self.claim_changes = {}
        self.sign_with = "published"
        self.refusals = []
        self.token_requests = []
        self.grants.clear()

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- endpoints ---------------------------------------------------------------------

    async def discovery(self, request: Request) -> Response:
        base = self.issuer
        return JSONResponse(
            {
                "issuer": base,
                "authorization_endpoint": f"{base}/authorize",
                "token_endpoint": f"{base}/token",
                "jwks_uri": f"{base}/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": list(self.auth_methods),
                "scopes_supported": ["openid", "email", "profile"],
            }
        )

    async def jwks(self, request: Request) -> Response:
        return JSONResponse({"keys": [self.key.as_dict(private=False)]})

    async def authorize(self, request: Request) -> Response:
        q = request.query_params
        redirect_uri = q.get("redirect_uri", "")
        problems = []
        if q.get("client_id") != self.client_id:
            problems.append("unknown client_id")
        if q.get("response_type") != "code":
            problems.append("response_type must be code")
        if "openid" not in q.get("scope", "").split():
            problems.append("scope lacks openid")
        if q.get("code_challenge_method") != "S256" or not q.get("code_challenge"):
            problems.append("PKCE S256 is required")
        if not redirect_uri.startswith(("http://", "https://")):
            problems.append("bad redirect_uri")
        if problems:  # never redirect to an unchecked place: show the problem instead
            return JSONResponse({"error": "invalid_request", "problems": problems}, 400)
        answer: dict[str, str] = {}
        if self.error:
            answer["error"] = self.error
            answer["error_description"] = "The user declined"
        else:
            code = secrets.token_urlsafe(24)
            self.grants[code] = Grant(
                client_id=self.client_id,
                redirect_uri=redirect_uri,
                challenge=q["code_challenge"],
                nonce=q.get("nonce"),
                user=dict(self.user),
                issued=time.time(),
            )
            answer["code"] = code
        if "state" in q:
            answer["state"] = q["state"]
        return RedirectResponse(f"{redirect_uri}?{urlencode(answer)}", status_code=302)

    def _refuse(self, reason: str, error: str = "invalid_grant", status: int = 400) -> Response:
        self.refusals.append(reason)
        return JSONResponse({"error": error, "error_description": reason}, status)

    def _client(self, request: Request, form: dict[str, str]) -> tuple[str | None, str | None]:
        header = request.headers.get("authorization", "")
        if header.lower().startswith("basic "):
            decoded = base64.b64decode(header[6:]).decode("utf-8")
            client_id, _, secret = decoded.partition(":")
            return client_id, secret
        return form.get("client_id"), form.get("client_secret")

    async def token(self, request: Request) -> Response:
        form = dict(parse_qsl((await request.body()).decode("utf-8")))
        self.token_requests.append(
            {**form, "auth": "basic" if "authorization" in request.headers else "post"}
        )
        client_id, secret = self._client(request, form)
        if client_id != self.client_id or (
            self.client_secret is not None
            and not secrets.compare_digest(secret or "", self.client_secret)
        ):
            return self._refuse("client authentication failed", "invalid_client", 401)
        if form.get("grant_type") != "authorization_code":
            return self._refuse("unsupported grant type", "unsupported_grant_type")
        grant = self.grants.pop(form.get("code", ""), None)  # a code works once
        if grant is None:
            return self._refuse("unknown or used code")
        if form.get("redirect_uri") != grant.redirect_uri:
            return self._refuse("redirect_uri differs from the authorization request")
        verifier = form.get("code_verifier", "")
        digest = hashlib.sha256(verifier.encode("ascii")).digest()
        computed = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
        if not verifier or not secrets.compare_digest(computed, grant.challenge):
            return self._refuse("PKCE verifier does not match the challenge")
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.client_id,
            "iat": now,
            "exp": now + 300,
            "auth_time": now,
            **grant.user,
        }
        if grant.nonce is not None:
            claims["nonce"] = grant.nonce
        for name, value in self.claim_changes.items():
            if value is None:
                claims.pop(name, None)
            else:
                claims[name] = value
        key = self.other_key if self.sign_with == "other" else self.key
        id_token = jwt.encode({"alg": "RS256", "kid": key.kid, "typ": "JWT"}, claims, key)
        return JSONResponse(
            {
                "access_token": secrets.token_urlsafe(24),
                "token_type": "Bearer",
                "expires_in": 300,
                "id_token": id_token,
            }
        )
