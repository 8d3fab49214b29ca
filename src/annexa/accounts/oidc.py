"""OpenID Connect single sign-on, configured per organisation.

An organisation's admin registers Annexa as a client at their identity provider and stores
the issuer, client id and (optionally) client secret here. Signing in is the authorization
code flow with PKCE (S256), ``state`` and ``nonce``:

1. :func:`begin_sign_in` reads the provider's discovery document (cached), makes a fresh
   ``state``, ``nonce`` and PKCE verifier, and returns the authorization URL with a
   :class:`Flow` that the web layer keeps in a short-lived signed cookie.
2. :func:`finish_sign_in` exchanges the code (with the verifier and the client's
   credentials) and validates the ID token: signature against the provider's JWKS, ``iss``,
   ``aud`` (and ``azp``), ``exp``/``iat`` with a small leeway, ``nonce``, and
   ``email_verified`` when the provider sends it.
3. :func:`resolve_user` finds the Annexa user: by ``(iss, sub)``; else by e-mail (linking the
   identity); else creates one when the e-mail's domain is open for sign-up. The user must
   be, or become, a member of the organisation.

The client secret is stored (the token request needs it) but never returned, printed or
logged; the audit log records only its digest.
"""

from __future__ import annotations

import base64
import hmac
import ipaddress
import os
import re
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson
from authlib.common.security import generate_token
from authlib.oauth2.auth import ClientAuth
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri, prepare_token_request
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import JWKRegistry, Key
from sqlalchemy import select
from sqlalchemy.orm import Session

from annexa.accounts.service import (
    check_role,
    create_user,
    find_user,
    grant,
    normalise_email,
    role_in,
)
from annexa.errors import AnnexaError, InvalidInput, NotFound
from annexa.store.models import OidcProvider, Organisation, User, UserIdentity, utcnow

DEFAULT_SCOPES = "openid email profile"
DEFAULT_ROLE = "viewer"
LEEWAY_SECONDS = 60  # clock skew tolerated on exp and iat
MAX_TOKEN_AGE = 24 * 3600  # an ID token issued longer ago than this is refused
FLOW_LIFETIME = 600  # seconds a browser has to come back from the provider
HTTP_TIMEOUT = 10.0
MAX_RESPONSE_BYTES = 1_000_000  # discovery documents, key sets and token responses
METADATA_TTL = 3600  # discovery documents and key sets are re-read after this
JWKS_REFETCH_AFTER = 60  # an unknown key id re-reads the key set, at most this often
# Asymmetric signatures only: never "none", never HMAC with a shared secret.
SIGNING_ALGORITHMS = (
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA",
)  # fmt: skip
PUBLIC_URL_ENV = "ANNEXA_PUBLIC_URL"

_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_SCOPE_TOKEN = re.compile(r"^[\x21\x23-\x5b\x5d-\x7e]+$")


class SignInFailed(AnnexaError):
    """A single sign-on that cannot complete. ``http_status`` says whose problem it is:
    400 a bad or stale request, 401 the provider's answer does not check out, 403 the person
    may not sign in here, 404 no such sign-in, 502 the provider cannot be reached."""

    code = "sign_in_failed"

    def __init__(
        self, message: str, *, status: int = 400, field: str | None = None, fix: str | None = None
    ):
        super().__init__(message, field=field, fix=fix)
        self.http_status = status


# --- configuration -----------------------------------------------------------------------


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _secure_url(url: str, *, loopback: bool = True) -> bool:
    """https, or (with ``loopback``) http to this machine only (tests, local experiments)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    if not parts.hostname:
        return False
    if parts.scheme == "https":
        return True
    return loopback and parts.scheme == "http" and is_loopback(parts.hostname)


def check_issuer(issuer: str | None, *, allow_loopback: bool = True) -> str:
    """An https issuer URL (http only for this machine, and only when ``allow_loopback``:
    the API passes False, so an organisation's admin cannot make the server call its own
    loopback services)."""
    value = (issuer or "").strip()
    usable = _secure_url(value, loopback=allow_loopback)
    parts = urlsplit(value) if usable else None  # _secure_url parsed it safely
    if (
        parts is None
        or parts.query
        or parts.fragment
        or parts.username
        or parts.password
        or len(value) > 500
    ):
        raise InvalidInput(
            f"{issuer!r} is not a usable issuer URL",
            field="issuer",
            fix="the provider's https URL without query or fragment, exactly as its tokens "
            "name it, e.g. https://login.example.com/realms/acme (http only for localhost)",
        )
    return value


def check_domains(domains: str | Iterable[str] | None) -> list[str]:
    """Lower-cased, de-duplicated e-mail domains; a string may separate them with commas."""
    if domains is None:
        return []
    items = domains.split(",") if isinstance(domains, str) else list(domains)
    result: list[str] = []
    for item in items:
        value = str(item).strip().lower().lstrip("@")
        if not value:
            continue
        if not _DOMAIN.match(value):
            raise InvalidInput(
                f"{item!r} is not an e-mail domain",
                field="domains",
                fix="e.g. example.com (comma-separated; subdomains are listed one by one)",
            )
        if value not in result:
            result.append(value)
    if len(",".join(result)) > 1000:
        raise InvalidInput("too many domains", field="domains", fix="at most 1000 characters")
    return result


def check_scopes(scopes: str | None) -> str:
    words = (scopes or DEFAULT_SCOPES).split()
    if "openid" not in words:
        words.insert(0, "openid")
    for word in words:
        if not _SCOPE_TOKEN.match(word):
            raise InvalidInput(f"{word!r} is not a scope", field="scopes", fix="e.g. openid email")
    value = " ".join(dict.fromkeys(words))
    if len(value) > 300:
        raise InvalidInput("too many scopes", field="scopes", fix="at most 300 characters")
    return value


def _check_client_id(client_id: str | None) -> str:
    value = (client_id or "").strip()
    if not value or len(value) > 300 or any(ord(c) < 0x20 for c in value):
        raise InvalidInput(
            "the client id is empty, too long or not printable",
            field="client-id",
            fix="copy the client (application) id from the provider's registration",
        )
    return value


def _check_client_secret(secret: str | None) -> str | None:
    if secret is None:
        return None
    value = secret.strip()
    if not value:
        return None
    if len(value) > 500 or any(ord(c) < 0x20 for c in value):
        raise InvalidInput(
            "the client secret is too long or not printable",
            field="client-secret",
            fix="copy the secret value (at most 500 characters) from the provider",
        )
    return value


def find_provider(session: Session, org: Organisation) -> OidcProvider | None:
    return session.scalar(select(OidcProvider).where(OidcProvider.org_id == org.id))


def get_provider(session: Session, org: Organisation) -> OidcProvider:
    provider = find_provider(session, org)
    if provider is None:
        raise NotFound(
            f"{org.slug} has no single sign-on configured",
            field="oidc",
            fix=f"configure it: `annexa org oidc set {org.slug} --issuer … --client-id …`",
        )
    return provider


_KEEP: Any = object()  # "leave this setting as it is"


def configure_provider(
    session: Session,
    org: Organisation,
    *,
    issuer: str | None = None,
    client_id: str | None = None,
    client_secret: str | None = _KEEP,
    allowed_domains: str | Iterable[str] | None = None,
    default_role: str | None = None,
    scopes: str | None = None,
    enabled: bool | None = None,
    allow_loopback: bool = True,
) -> OidcProvider:
    """Create or change the organisation's provider. Arguments left out keep their value;
    ``client_secret=None`` removes the secret (a public client, PKCE only)."""
    provider = find_provider(session, org)
    if provider is not None:
        forget_metadata(provider.issuer)
    if provider is None:
        if issuer is None or client_id is None:
            missing = "issuer" if issuer is None else "client-id"
            raise InvalidInput(
                "a new single sign-on needs an issuer and a client id",
                field=missing,
                fix="pass --issuer and --client-id",
            )
        provider = OidcProvider(
            organisation=org,
            scopes=DEFAULT_SCOPES,
            allowed_domains="",
            default_role=DEFAULT_ROLE,
            enabled=True,
        )
    if issuer is not None:
        provider.issuer = check_issuer(issuer, allow_loopback=allow_loopback)
    if client_id is not None:
        provider.client_id = _check_client_id(client_id)
    if client_secret is not _KEEP:
        provider.client_secret = _check_client_secret(client_secret)
    if allowed_domains is not None:
        provider.allowed_domains = ",".join(check_domains(allowed_domains))
    if default_role is not None:
        provider.default_role = check_role(default_role)
    if scopes is not None:
        provider.scopes = check_scopes(scopes)
    if enabled is not None:
        provider.enabled = bool(enabled)
    if provider.id is None:
        session.add(provider)
    session.flush()
    forget_metadata(provider.issuer)
    return provider


def remove_provider(session: Session, org: Organisation) -> None:
    provider = get_provider(session, org)
    forget_metadata(provider.issuer)
    session.delete(provider)
    session.flush()


def callback_path(slug: str) -> str:
    return f"/auth/oidc/{slug}/callback"


def start_path(slug: str) -> str:
    return f"/auth/oidc/{slug}/start"


def public_base_url(request_base: str | None = None) -> str | None:
    """Where browsers reach Annexa: ``ANNEXA_PUBLIC_URL`` when set (behind a proxy), else
    the base URL of the request (None without one)."""
    configured = os.environ.get(PUBLIC_URL_ENV, "").strip()
    if configured:
        return configured.rstrip("/")
    return request_base.rstrip("/") if request_base else None


def redirect_uri(slug: str, request_base: str | None = None) -> str | None:
    base = public_base_url(request_base)
    return base + callback_path(slug) if base else None


def provider_to_dict(provider: OidcProvider, *, request_base: str | None = None) -> dict[str, Any]:
    """The settings, never the client secret (only whether there is one)."""
    slug = provider.organisation.slug
    return {
        "org": slug,
        "issuer": provider.issuer,
        "client_id": provider.client_id,
        "client_secret_set": bool(provider.client_secret),
        "scopes": provider.scopes,
        "allowed_domains": domains_of(provider),
        "default_role": provider.default_role,
        "enabled": provider.enabled,
        "callback_path": callback_path(slug),
        "redirect_uri": redirect_uri(slug, request_base),
        "updated_at": provider.updated_at.isoformat() if provider.updated_at else None,
    }


def domains_of(provider: OidcProvider) -> list[str]:
    return [d for d in (provider.allowed_domains or "").split(",") if d]


def enabled_providers(session: Session) -> list[tuple[Organisation, OidcProvider]]:
    rows = session.execute(
        select(Organisation, OidcProvider)
        .join(OidcProvider, OidcProvider.org_id == Organisation.id)
        .where(OidcProvider.enabled.is_(True))
        .order_by(Organisation.name)
    ).all()
    return [(org, provider) for org, provider in rows]


# --- talking to the provider ---------------------------------------------------------------


@dataclass(frozen=True)
class Metadata:
    """The parts of a provider's discovery document that Annexa uses."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    algorithms: tuple[str, ...]
    token_auth_methods: tuple[str, ...]


class _Cache:
    """Discovery documents and key sets per URL, shared by the threads of one process."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.metadata: dict[str, tuple[float, Metadata]] = {}
        self.keys: dict[str, tuple[float, dict[str, Any]]] = {}

    def clear(self) -> None:
        with self.lock:
            self.metadata.clear()
            self.keys.clear()


_cache = _Cache()


def http_client() -> httpx.Client:
    """A client for the provider: short timeouts, no redirects (a discovery or token
    endpoint that redirects is refused rather than followed somewhere else)."""
    return httpx.Client(
        timeout=HTTP_TIMEOUT, follow_redirects=False, headers={"Accept": "application/json"}
    )


def forget_metadata(issuer: str | None = None) -> None:
    """Drop cached discovery documents and keys (all, or one issuer's)."""
    if issuer is None:
        _cache.clear()
        return
    with _cache.lock:
        cached = _cache.metadata.pop(issuer, None)
        if cached is not None:
            _cache.keys.pop(cached[1].jwks_uri, None)


def _unreachable(what: str, exc: Exception | None = None) -> SignInFailed:
    detail = f" ({type(exc).__name__})" if exc is not None else ""
    return SignInFailed(
        f"the identity provider could not be reached for its {what}{detail}",
        status=502,
        field="issuer",
        fix="try again in a minute; if it persists, an admin should check the issuer URL",
    )


def _read_json(response: httpx.Response, what: str) -> Any:
    """The JSON body, read up to :data:`MAX_RESPONSE_BYTES` (a provider cannot flood us)."""
    body = bytearray()
    for chunk in response.iter_bytes():
        body.extend(chunk)
        if len(body) > MAX_RESPONSE_BYTES:
            raise _unreachable(f"{what} (the answer is too large)")
    try:
        return orjson.loads(bytes(body))
    except orjson.JSONDecodeError:
        return None


def _get_json(url: str, what: str) -> dict[str, Any]:
    try:
        with http_client() as client, client.stream("GET", url) as response:
            if response.status_code != 200:
                raise _unreachable(f"{what} (HTTP {response.status_code})")
            data = _read_json(response, what)
    except httpx.HTTPError as exc:
        raise _unreachable(what, exc) from None
    if not isinstance(data, dict):
        raise _unreachable(f"{what} (not a JSON object)")
    return data


def _bad_metadata(message: str) -> SignInFailed:
    return SignInFailed(
        f"the identity provider's discovery document is not usable: {message}",
        status=502,
        field="issuer",
        fix="an admin should check the issuer URL (`annexa org oidc show SLUG`)",
    )


def discover(issuer: str, *, now: float | None = None) -> Metadata:
    """The provider's metadata from ``{issuer}/.well-known/openid-configuration`` (cached)."""
    now = time.time() if now is None else now
    with _cache.lock:
        cached = _cache.metadata.get(issuer)
    if cached is not None and cached[0] > now:
        return cached[1]
    doc = _get_json(issuer.rstrip("/") + "/.well-known/openid-configuration", "discovery document")
    announced = doc.get("issuer")
    # OpenID Connect Discovery 4.3: the document must name the issuer it was fetched for.
    if not isinstance(announced, str) or announced.rstrip("/") != issuer.rstrip("/"):
        raise _bad_metadata(f"it names issuer {announced!r}, not {issuer!r}")
    endpoints = {}
    # An https issuer's endpoints are https too: its document cannot send us to loopback.
    loopback = urlsplit(issuer).scheme == "http"
    for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        value = doc.get(key)
        if not isinstance(value, str) or not _secure_url(value, loopback=loopback):
            raise _bad_metadata(f"{key} is missing or not https")
        endpoints[key] = value
    offered = doc.get("id_token_signing_alg_values_supported") or ["RS256"]
    algorithms = tuple(a for a in offered if a in SIGNING_ALGORITHMS)
    if not algorithms:
        raise _bad_metadata("it offers no asymmetric ID-token signature algorithm")
    methods = doc.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
    metadata = Metadata(
        issuer=announced,
        algorithms=algorithms,
        token_auth_methods=tuple(m for m in methods if isinstance(m, str)),
        **endpoints,
    )
    with _cache.lock:
        _cache.metadata[issuer] = (now + METADATA_TTL, metadata)
    return metadata


def _key_set(jwks_uri: str, *, refresh: bool, now: float) -> dict[str, Any]:
    with _cache.lock:
        cached = _cache.keys.get(jwks_uri)
    if cached is not None:
        expires, entry = cached
        fresh = expires > now
        may_refetch = entry["fetched"] + JWKS_REFETCH_AFTER <= now
        if fresh and not (refresh and may_refetch):
            return entry
    data = _get_json(jwks_uri, "signing keys")
    keys: list[Key] = []
    for item in data.get("keys") or []:
        if not isinstance(item, dict) or item.get("use", "sig") != "sig":
            continue
        if item.get("kty") not in ("RSA", "EC", "OKP"):
            continue  # never a symmetric ("oct") key: anyone with it could sign
        try:
            keys.append(JWKRegistry.import_key(item))
        except (JoseError, ValueError, TypeError, KeyError):
            continue  # a key type we cannot use does not spoil the others
    entry = {"keys": keys, "fetched": now}
    with _cache.lock:
        _cache.keys[jwks_uri] = (now + METADATA_TTL, entry)
    return entry


_KTY_OF = {"RS": "RSA", "PS": "RSA", "ES": "EC", "Ed": "OKP"}


def _candidate_keys(jwks_uri: str, kid: str | None, alg: str, now: float) -> list[Key]:
    kty = _KTY_OF[alg[:2]]
    for refresh in (False, True):  # a key id we do not know: the provider may have rotated
        published = _key_set(jwks_uri, refresh=refresh, now=now)["keys"]
        keys = [k for k in published if k.key_type == kty]
        if kid is not None:
            keys = [k for k in keys if k.kid == kid]
        if keys:
            return keys
    return []


# --- the flow --------------------------------------------------------------------------


@dataclass(frozen=True)
class Flow:
    """What the browser carries between the redirect to the provider and its return."""

    org: str
    state: str
    nonce: str
    verifier: str
    next: str | None
    expires: int  # epoch seconds

    def to_dict(self) -> dict[str, Any]:
        return {
            "o": self.org,
            "s": self.state,
            "n": self.nonce,
            "v": self.verifier,
            "r": self.next,
            "e": self.expires,
        }

    @classmethod
    def from_dict(cls, data: Any) -> Flow | None:
        if not isinstance(data, dict):
            return None
        try:
            flow = cls(
                org=data["o"],
                state=data["s"],
                nonce=data["n"],
                verifier=data["v"],
                next=data.get("r"),
                expires=int(data["e"]),
            )
        except (KeyError, TypeError, ValueError):
            return None
        texts = (flow.org, flow.state, flow.nonce, flow.verifier)
        if not all(isinstance(v, str) and v for v in texts):
            return None
        if flow.next is not None and not isinstance(flow.next, str):
            return None
        return flow


def safe_next(value: str | None) -> str | None:
    """A same-site path to go to after signing in, or None (never another site)."""
    if not value or len(value) > 1000:
        return None
    if not value.startswith("/") or value.startswith(("//", "/\\")):
        return None
    if any(ord(c) < 0x21 or c == "\\" for c in value):
        return None
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return None
    return value


def usable_provider(session: Session, slug: str) -> tuple[Organisation, OidcProvider]:
    """The organisation and its enabled provider; 404 for anything else (no existence leak)."""
    row = session.execute(
        select(Organisation, OidcProvider)
        .join(OidcProvider, OidcProvider.org_id == Organisation.id)
        .where(Organisation.slug == slug, OidcProvider.enabled.is_(True))
    ).first()
    if row is None:
        raise SignInFailed(
            "there is no single sign-on for this organisation",
            status=404,
            field="org",
            fix="check the address, or sign in with your e-mail and password",
        )
    return row[0], row[1]


def begin_sign_in(
    provider: OidcProvider,
    slug: str,
    redirect_to: str,
    *,
    next_path: str | None = None,
    now: float | None = None,
) -> tuple[str, Flow]:
    """The provider's authorization URL to send the browser to, and the flow to keep."""
    now = time.time() if now is None else now
    metadata = discover(provider.issuer, now=now)
    flow = Flow(
        org=slug,
        state=generate_token(43),
        nonce=generate_token(43),
        verifier=generate_token(64),  # RFC 7636: 43-128 characters of [A-Za-z0-9-._~]
        next=safe_next(next_path),
        expires=int(now) + FLOW_LIFETIME,
    )
    url = prepare_grant_uri(
        metadata.authorization_endpoint,
        provider.client_id,
        "code",
        redirect_uri=redirect_to,
        scope=provider.scopes or DEFAULT_SCOPES,
        state=flow.state,
        nonce=flow.nonce,
        code_challenge=create_s256_code_challenge(flow.verifier),
        code_challenge_method="S256",
    )
    return url, flow


def _refused_token(reason: str) -> SignInFailed:
    return SignInFailed(
        f"the identity provider's answer was not accepted: {reason}",
        status=401,
        field="id_token",
        fix="start the sign-in again; if it keeps failing, an admin should check the "
        "provider settings",
    )


def _token_auth_method(provider: OidcProvider, metadata: Metadata) -> str:
    if not provider.client_secret:
        return "none"
    if "client_secret_basic" in metadata.token_auth_methods:
        return "client_secret_basic"
    if "client_secret_post" in metadata.token_auth_methods:
        return "client_secret_post"
    return "client_secret_basic"


def exchange_code(
    provider: OidcProvider, metadata: Metadata, code: str, verifier: str, redirect_to: str
) -> dict[str, Any]:
    """The token response for an authorization code (with the PKCE verifier)."""
    body = prepare_token_request(
        "authorization_code", code=code, redirect_uri=redirect_to, code_verifier=verifier
    )
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "Accept": "application/json",
    }
    auth = ClientAuth(
        provider.client_id, provider.client_secret, _token_auth_method(provider, metadata)
    )
    uri, headers, body = auth.prepare("POST", metadata.token_endpoint, headers, body)
    try:
        with (
            http_client() as client,
            client.stream("POST", uri, content=body, headers=headers) as response,
        ):
            data = _read_json(response, "token endpoint")
    except httpx.HTTPError as exc:
        raise _unreachable("token endpoint", exc) from None
    if response.status_code != 200 or not isinstance(data, dict):
        error = data.get("error") if isinstance(data, dict) else None
        reason = f"the code was refused ({error or f'HTTP {response.status_code}'})"
        raise _refused_token(reason)
    return data


def _b64json(segment: str) -> Any:
    padded = segment + "=" * (-len(segment) % 4)
    return orjson.loads(base64.urlsafe_b64decode(padded.encode("ascii")))


def validate_id_token(
    id_token: str,
    metadata: Metadata,
    client_id: str,
    nonce: str,
    *,
    now: float | None = None,
) -> dict[str, Any]:
    """The ID token's claims once its signature and claims check out (OIDC Core 3.1.3.7)."""
    now = time.time() if now is None else now
    if not isinstance(id_token, str) or id_token.count(".") != 2 or len(id_token) > 16_000:
        raise _refused_token("no ID token, or not a signed JWT")
    try:
        header = _b64json(id_token.split(".", 1)[0])
    except ValueError:
        raise _refused_token("the ID token header is not readable") from None
    alg = header.get("alg") if isinstance(header, dict) else None
    if alg not in metadata.algorithms:
        raise _refused_token(f"signature algorithm {alg!r} is not allowed")
    kid = header.get("kid")
    if kid is not None and not isinstance(kid, str):
        raise _refused_token("the key id is not a string")
    keys = _candidate_keys(metadata.jwks_uri, kid, alg, now)
    if not keys:
        raise _refused_token("it was signed with a key the provider does not publish")
    claims: dict[str, Any] | None = None
    for key in keys:
        try:
            claims = jwt.decode(id_token, key, algorithms=[alg]).claims
            break
        except (JoseError, ValueError):
            continue
    if claims is None:
        raise _refused_token("the signature does not verify")
    _check_claims(claims, metadata.issuer, client_id, nonce, now)
    return {**claims, "iss": metadata.issuer}  # one spelling, for finding the identity


# Google documents that its ID tokens name their issuer either way.
_ISSUER_SPELLINGS = {
    "https://accounts.google.com": ("https://accounts.google.com", "accounts.google.com"),
}


def _number(claims: dict[str, Any], name: str) -> float:
    value = claims.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _refused_token(f"the {name} claim is missing")
    return float(value)


def _check_claims(
    claims: dict[str, Any], issuer: str, client_id: str, nonce: str, now: float
) -> None:
    if claims.get("iss") not in _ISSUER_SPELLINGS.get(issuer, (issuer,)):
        raise _refused_token("it was issued by someone else (iss)")
    audience = claims.get("aud")
    audiences = [audience] if isinstance(audience, str) else audience
    if not isinstance(audiences, list) or client_id not in audiences:
        raise _refused_token("it was issued for another client (aud)")
    azp = claims.get("azp")
    if (len(audiences) > 1 or azp is not None) and azp != client_id:
        raise _refused_token("it was issued for another client (azp)")
    if _number(claims, "exp") + LEEWAY_SECONDS <= now:
        raise _refused_token("it has expired (exp)")
    issued = _number(claims, "iat")
    if issued - LEEWAY_SECONDS > now:
        raise _refused_token("it was issued in the future (iat)")
    if issued + MAX_TOKEN_AGE < now:
        raise _refused_token("it was issued too long ago (iat)")
    given = claims.get("nonce")
    if not isinstance(given, str) or not hmac.compare_digest(given.encode(), nonce.encode()):
        raise _refused_token("it does not belong to this sign-in (nonce)")
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject or len(subject) > 255:
        raise _refused_token("it names no subject (sub)")
    verified = claims.get("email_verified")
    if verified is not None and verified is not True and verified != "true":
        raise SignInFailed(
            "the identity provider has not verified this e-mail address",
            status=403,
            field="email",
            fix="verify the address at the identity provider, then sign in again",
        )


def finish_sign_in(
    provider: OidcProvider,
    flow: Flow,
    *,
    state: str | None,
    code: str | None,
    redirect_to: str,
    now: float | None = None,
) -> dict[str, Any]:
    """Check the browser's return against its flow, redeem the code, validate the ID token:
    the claims. Writes nothing."""
    now = time.time() if now is None else now
    if flow.expires <= now:
        raise SignInFailed(
            "this sign-in took too long and has expired", fix="start the sign-in again"
        )
    if not state or not hmac.compare_digest(state.encode(), flow.state.encode()):
        raise SignInFailed(
            "this answer does not belong to the sign-in this browser started (state)",
            field="state",
            fix="start the sign-in again from the sign-in page",
        )
    if not code or len(code) > 2000:
        raise SignInFailed("the identity provider sent no code", field="code", fix="start again")
    metadata = discover(provider.issuer, now=now)
    tokens = exchange_code(provider, metadata, code, flow.verifier, redirect_to)
    return validate_id_token(
        tokens.get("id_token"), metadata, provider.client_id, flow.nonce, now=now
    )


# --- who signs in -------------------------------------------------------------------------


@dataclass(frozen=True)
class SignedIn:
    user: User
    created: bool  # a new account (just-in-time provisioning)
    linked: bool  # the provider identity was linked to the account now
    joined: bool  # the account became a member of the organisation now
    role: str


def _display_name(claims: dict[str, Any], email: str) -> str:
    name = claims.get("name")
    if not isinstance(name, str) or not name.strip():
        parts = [claims.get("given_name"), claims.get("family_name")]
        name = " ".join(p.strip() for p in parts if isinstance(p, str) and p.strip())
    name = (name or "").strip() or email.split("@", 1)[0]
    return name[:200]


def _forbidden(message: str, fix: str, field: str = "email") -> SignInFailed:
    return SignInFailed(message, status=403, field=field, fix=fix)


def resolve_user(
    session: Session,
    org: Organisation,
    provider: OidcProvider,
    claims: dict[str, Any],
    *,
    now: Any = None,
) -> SignedIn:
    """The Annexa user the validated ``claims`` stand for, linked and a member of ``org``.

    Refusals (:class:`SignInFailed`, 403) are decided before anything is written.
    """
    issuer, subject = claims["iss"], claims["sub"]
    raw_email = claims.get("email")
    email: str | None = None
    if isinstance(raw_email, str) and raw_email:
        try:
            email = normalise_email(raw_email)
        except InvalidInput:
            email = None
    domain = email.rsplit("@", 1)[1] if email else None
    may_join = domain is not None and domain in domains_of(provider)

    identity = session.scalar(
        select(UserIdentity).where(UserIdentity.issuer == issuer, UserIdentity.subject == subject)
    )
    user = identity.user if identity is not None else None
    if user is None:
        if email is None:
            raise _forbidden(
                "the identity provider did not send an e-mail address",
                "an admin should let the provider release the email claim (scope email)",
            )
        user = find_user(session, email)
        if user is not None:
            other = session.scalar(
                select(UserIdentity).where(
                    UserIdentity.user_id == user.id, UserIdentity.issuer == issuer
                )
            )
            if other is not None:
                raise _forbidden(
                    f"{email} is linked to a different account at this identity provider",
                    "ask an admin: the provider may have given the address to someone else",
                )
        elif not may_join:
            raise _forbidden(
                f"there is no Annexa account for {email}, and {org.name} does not create "
                "accounts for that e-mail domain",
                f"ask an admin of {org.name} to add you",
            )
    if user is not None and not user.active:
        raise _forbidden("this account is deactivated", "ask an admin to reactivate it")
    role = role_in(session, user, org.id) if user is not None else None
    if role is None and not may_join:
        raise _forbidden(
            f"this account is not a member of {org.name}",
            f"ask an admin of {org.name} to give you a role",
            field="org",
        )

    # Every check has passed: write.
    created = linked = joined = False
    if user is None:
        assert email is not None
        user = create_user(session, email, _display_name(claims, email), None)
        created = True
    if identity is None:
        session.add(UserIdentity(user_id=user.id, issuer=issuer, subject=subject))
        linked = True
    if role is None:
        role = grant(session, user, org, provider.default_role).role
        joined = True
    user.last_login_at = now or utcnow()
    session.flush()
    return SignedIn(user=user, created=created, linked=linked, joined=joined, role=role)


def identities_of(session: Session, user: User) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(UserIdentity).where(UserIdentity.user_id == user.id).order_by(UserIdentity.id)
    )
    return [
        {"issuer": r.issuer, "subject": r.subject, "linked_at": r.created_at.isoformat()}
        for r in rows
    ]
