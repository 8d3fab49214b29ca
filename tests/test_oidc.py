"""Single sign-on with OpenID Connect, against a real provider on loopback HTTP.

The Annexa side runs in Starlette's TestClient; it calls the provider (tests/oidc_provider.py,
served by uvicorn in a thread) over real HTTP for discovery, keys and the token exchange.
The test plays the browser: it follows the redirects between the two servers by hand.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import orjson
import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient
from joserfc.jwk import RSAKey
from sqlalchemy import func, select

from annexa.accounts import create_user, find_session, grant
from annexa.accounts import oidc as oidc_service
from annexa.accounts import service as accounts_service
from annexa.accounts.oidc import (
    SignInFailed,
    check_domains,
    check_issuer,
    configure_provider,
    get_provider,
    provider_to_dict,
    remove_provider,
    safe_next,
)
from annexa.api.app import create_app
from annexa.errors import InvalidInput, NotFound
from annexa.orgs import create_organisation
from annexa.store.db import Database
from annexa.store.models import (
    AuditEvent,
    OidcProvider,
    Organisation,
    User,
    UserIdentity,
    WebSession,
)
from annexa.web import oidc as oidc_web
from annexa.web.cookies import SESSION_COOKIE
from annexa.web.security import RateLimits
from tests.conftest import CliCall
from tests.oidc_provider import CLIENT_ID, CLIENT_SECRET, LocalOidcProvider

ORG = "test-org"
CALLBACK = f"http://testserver/auth/oidc/{ORG}/callback"


@pytest.fixture(scope="module")
def provider() -> Iterator[LocalOidcProvider]:
    running = LocalOidcProvider().start()
    yield running
    running.stop()


@pytest.fixture(autouse=True)
def _fresh(provider: LocalOidcProvider, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(accounts_service, "_hasher", cheap)
    monkeypatch.setattr(accounts_service, "_DUMMY_HASH", cheap.hash("dummy password"))
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("ANNEXA_PUBLIC_URL", raising=False)
    provider.reset()
    oidc_service.forget_metadata()
    yield
    oidc_service.forget_metadata()


@pytest.fixture
def sso(db: Database, provider: LocalOidcProvider) -> Database:
    """test-org signs in with the local provider; corp.example may join as viewers."""
    with db.transaction(actor="cli:tester") as session:
        org = session.scalar(select(Organisation).where(Organisation.slug == ORG))
        configure_provider(
            session,
            org,
            issuer=provider.issuer,
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            allowed_domains="corp.example",
        )
    return db


def make_app(db: Database) -> FastAPI:
    app = FastAPI()
    app.state.database = db
    app.state.rate_limits = RateLimits()
    app.include_router(oidc_web.router)
    return app


@pytest.fixture
def browser(sso: Database) -> TestClient:
    return TestClient(make_app(sso))


def authorize(client: TestClient, slug: str = ORG, **params: str) -> str:
    """Start a sign-in and let the provider answer: the callback URL it sends back to."""
    started = client.get(f"/auth/oidc/{slug}/start", params=params, follow_redirects=False)
    assert started.status_code == 303, started.text
    location = started.headers["location"]
    with httpx.Client(trust_env=False) as plain:
        answer = plain.get(location, follow_redirects=False)
    assert answer.status_code == 302, answer.text
    back = answer.headers["location"]
    assert back.startswith(CALLBACK.replace(ORG, slug) + "?")
    return back


def sign_in(
    client: TestClient, slug: str = ORG, tamper: Callable[[str], str] | None = None, **params: str
) -> httpx.Response:
    back = authorize(client, slug, **params)
    if tamper is not None:
        back = tamper(back)
    return client.get(back, follow_redirects=False)


def _count(db: Database, model: type) -> int:
    with db.reading() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def _replace_flow_cookie(client: TestClient, value: str) -> None:
    """Put ``value`` in the flow cookie's place. ``cookies.set`` alone adds a second cookie
    next to the one the app set (that one has the test server's domain), and which of the
    two a client sends first is up to the HTTP library (httpx and httpx2 differ)."""
    domains = {c.domain for c in client.cookies.jar if c.name == "annexa_oidc"} or {""}
    client.cookies.delete("annexa_oidc")
    for domain in domains:
        client.cookies.set("annexa_oidc", value, domain=domain, path="/")


def assert_refused(
    response: httpx.Response, status: int, db: Database, *words: str, sessions: int = 0
) -> None:
    """An error page, no session cookie, no new session (``sessions`` existed before)."""
    assert response.status_code == status, response.text
    assert "text/html" in response.headers["content-type"]
    assert SESSION_COOKIE not in response.headers.get("set-cookie", "")
    assert _count(db, WebSession) == sessions
    text = response.text.lower()
    for word in words:
        assert word.lower() in text, (word, response.text)


def _events(db: Database) -> list[dict]:
    with db.reading() as session:
        return [orjson.loads(bytes(b)) for b in session.scalars(select(AuditEvent.body))]


# --- the whole flow -------------------------------------------------------------------


def test_sign_in_provisions_a_new_user_and_starts_an_oidc_session(
    browser: TestClient, sso: Database, provider: LocalOidcProvider
) -> None:
    started = browser.get(f"/auth/oidc/{ORG}/start", follow_redirects=False)
    assert started.status_code == 303
    query = parse_qs(urlsplit(started.headers["location"]).query)
    assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) == 43
    assert query["redirect_uri"] == [CALLBACK] and query["client_id"] == [CLIENT_ID]
    assert query["scope"] == ["openid email profile"]
    assert query["state"][0] and query["nonce"][0] and query["state"] != query["nonce"]
    flow_cookie = started.headers["set-cookie"]
    assert flow_cookie.startswith("annexa_oidc=") and "httponly" in flow_cookie.lower()
    assert "samesite=lax" in flow_cookie.lower()
    # the flow's secrets are in the signed cookie, never in the page or the URL
    verifier = oidc_web.open_flow(browser.cookies["annexa_oidc"]).verifier
    assert verifier not in started.headers["location"]

    response = sign_in(browser)
    assert response.status_code == 303, response.text
    assert response.headers["location"] == f"/o/{ORG}/"
    secret = browser.cookies[SESSION_COOKIE]
    assert "annexa_oidc" not in browser.cookies  # the flow cookie is spent

    with sso.reading() as session:
        user = session.scalar(select(User).where(User.email == "alice@corp.example"))
        assert user.display_name == "Alice Example" and user.password_hash is None
        assert [(m.organisation.slug, m.role) for m in user.memberships] == [(ORG, "viewer")]
        identity = session.scalar(select(UserIdentity))
        assert (identity.issuer, identity.subject, identity.user_id) == (
            provider.issuer,
            "user-0001",
            user.id,
        )
        web = find_session(session, secret)
        assert web is not None and web.user_id == user.id
        assert (web.method, web.stage) == ("oidc", "full")
        assert user.last_login_at is not None

    # the code was redeemed with the PKCE verifier and HTTP Basic client authentication
    [token_request] = provider.token_requests
    assert token_request["auth"] == "basic" and len(token_request["code_verifier"]) == 64
    assert token_request["redirect_uri"] == CALLBACK
    assert "client_secret" not in token_request

    events = _events(sso)
    created = {(e["type"], e["action"]): e for e in events if e["actor"] == "alice@corp.example"}
    assert {("app_user", "create"), ("membership", "create"), ("user_identity", "create")} <= set(
        created
    )
    assert CLIENT_SECRET not in json.dumps(events) and secret not in json.dumps(events)

    # signing in again finds the account by (issuer, subject), even under a new address
    provider.user["email"] = "alice.renamed@corp.example"
    again = TestClient(make_app(sso))
    assert sign_in(again).status_code == 303
    assert _count(sso, User) == 1 and _count(sso, UserIdentity) == 1
    with sso.reading() as session:
        assert session.scalar(select(func.count()).select_from(WebSession)) == 2


def test_a_safe_next_is_kept_and_an_unsafe_one_dropped(browser: TestClient) -> None:
    response = sign_in(browser, next="/o/test-org/risks?sort=-level")
    assert response.headers["location"] == "/o/test-org/risks?sort=-level"
    for bad in ("//evil.example/x", "https://evil.example/", "/\\evil.example", "risks"):
        fresh = TestClient(browser.app)
        assert sign_in(fresh, next=bad).headers["location"] == f"/o/{ORG}/", bad
    assert safe_next("/o/x/\x00") is None and safe_next("/o/x/") == "/o/x/"


def test_a_new_sign_in_ends_the_session_the_browser_had(browser: TestClient, sso: Database) -> None:
    sign_in(browser)
    first = browser.cookies[SESSION_COOKIE]
    sign_in(browser)
    with sso.reading() as session:
        assert find_session(session, first) is None
        assert find_session(session, browser.cookies[SESSION_COOKIE]) is not None


# --- who may sign in --------------------------------------------------------------------


def test_just_in_time_provisioning_only_for_allowed_domains(
    browser: TestClient, sso: Database, provider: LocalOidcProvider
) -> None:
    provider.user.update(sub="mallory", email="mallory@elsewhere.example")
    response = sign_in(browser)
    assert_refused(response, 403, sso, "no Annexa account", "mallory@elsewhere.example")
    assert _count(sso, User) == 0 and _count(sso, UserIdentity) == 0
    assert "annexa_oidc" not in browser.cookies

    # a subdomain is not the domain
    provider.user.update(sub="sub", email="eve@sales.corp.example")
    assert_refused(sign_in(TestClient(browser.app)), 403, sso)

    # the default role is the organisation's choice
    with sso.transaction() as session:
        org = session.scalar(select(Organisation))
        configure_provider(session, org, default_role="contributor", allowed_domains="")
        configure_provider(session, org, allowed_domains=["elsewhere.example", "corp.example"])
    provider.user.update(sub="mallory", email="Mallory@Elsewhere.example")
    assert sign_in(TestClient(browser.app)).status_code == 303
    with sso.reading() as session:
        user = session.scalar(select(User))
        assert user.email == "mallory@elsewhere.example"
        assert user.memberships[0].role == "contributor"


def test_an_existing_user_is_linked_by_email_and_keeps_their_role(
    browser: TestClient, sso: Database, provider: LocalOidcProvider
) -> None:
    with sso.transaction() as session:
        org = session.scalar(select(Organisation))
        carol = create_user(session, "carol@partner.example", "Carol", "correct horse battery")
        grant(session, carol, org, "editor")
    provider.user.update(sub="carol-at-idp", email="CAROL@partner.example", name="C. Idp")
    assert sign_in(browser).status_code == 303
    with sso.reading() as session:
        carol = session.scalar(select(User))
        assert carol.display_name == "Carol" and carol.memberships[0].role == "editor"
        assert session.scalar(select(UserIdentity.subject)) == "carol-at-idp"

    # the provider later gives the address to another subject: no silent takeover
    provider.user.update(sub="someone-new")
    refused = sign_in(TestClient(browser.app))
    assert_refused(refused, 403, sso, "different account", sessions=1)
    assert _count(sso, UserIdentity) == 1


def test_existing_users_who_are_not_members_are_refused_unless_their_domain_may_join(
    browser: TestClient, sso: Database, provider: LocalOidcProvider
) -> None:
    with sso.transaction() as session:
        other = create_organisation(session, "Other", slug="other")
        dave = create_user(session, "dave@partner.example", "Dave")
        grant(session, dave, other, "admin")
        create_user(session, "erin@corp.example", "Erin")
    provider.user.update(sub="dave", email="dave@partner.example")
    assert_refused(sign_in(browser), 403, sso, "not a member")
    assert _count(sso, UserIdentity) == 0

    provider.user.update(sub="erin", email="erin@corp.example")
    assert sign_in(TestClient(browser.app)).status_code == 303
    with sso.reading() as session:
        erin = session.scalar(select(User).where(User.email == "erin@corp.example"))
        assert [(m.organisation.slug, m.role) for m in erin.memberships] == [(ORG, "viewer")]


def test_deactivated_users_and_unverified_addresses_are_refused(
    browser: TestClient, sso: Database, provider: LocalOidcProvider
) -> None:
    provider.user.update(email_verified=False)
    assert_refused(sign_in(browser), 403, sso, "not verified")
    assert _count(sso, User) == 0

    provider.user.update(email_verified=True)
    assert sign_in(TestClient(browser.app)).status_code == 303
    with sso.transaction() as session:
        session.scalar(select(User)).active = False
        session.execute(WebSession.__table__.delete())
    assert_refused(sign_in(TestClient(browser.app)), 403, sso, "deactivated")

    # a provider that does not send email_verified at all is taken at its word
    provider.user.pop("email_verified")
    provider.user.update(sub="frank", email="frank@corp.example")
    assert sign_in(TestClient(browser.app)).status_code == 303


# --- the provider's answer must check out -------------------------------------------------


@pytest.mark.parametrize(
    ("case", "changes", "sign_with", "reason"),
    [
        ("wrong nonce", {"nonce": "not-the-nonce"}, "published", "nonce"),
        ("no nonce", {"nonce": None}, "published", "nonce"),
        ("wrong audience", {"aud": "another-client"}, "published", "aud"),
        ("other azp", {"aud": [CLIENT_ID, "x"], "azp": "x"}, "published", "azp"),
        ("wrong issuer", {"iss": "https://evil.example"}, "published", "iss"),
        ("expired", {"exp": -3600, "iat": -7200}, "published", "expired"),
        ("from the future", {"iat": 3600, "exp": 7200}, "published", "future"),
        ("no subject", {"sub": None}, "published", "subject"),
        ("bad signature", {}, "other", "signature"),
    ],
)
def test_id_tokens_that_do_not_check_out_sign_nobody_in(
    browser: TestClient,
    sso: Database,
    provider: LocalOidcProvider,
    case: str,
    changes: dict,
    sign_with: str,
    reason: str,
) -> None:
    now = int(time.time())
    for name in ("exp", "iat"):
        if name in changes:
            changes = {**changes, name: now + changes[name]}
    provider.claim_changes = changes
    provider.sign_with = sign_with
    response = sign_in(browser)
    assert_refused(response, 401, sso, "not accepted", reason)
    assert _count(sso, User) == 0 and _count(sso, UserIdentity) == 0


def test_a_tampered_state_is_refused_before_the_code_is_redeemed(
    browser: TestClient, sso: Database, provider: LocalOidcProvider
) -> None:
    def tamper(url: str) -> str:
        parts = urlsplit(url)
        query = parse_qs(parts.query)
        state = query["state"][0]
        query["state"] = [state[:-2] + ("xx" if state[-2:] != "xx" else "yy")]  # always differs
        return parts._replace(query=urlencode(query, doseq=True)).geturl()

    assert_refused(sign_in(browser, tamper=tamper), 400, sso, "state")
    assert provider.token_requests == []


def test_a_code_from_another_browser_fails_pkce(
    browser: TestClient, sso: Database, provider: LocalOidcProvider
) -> None:
    """Code injection: the victim's code, replayed with the attacker's own flow."""
    victim = TestClient(browser.app)
    stolen_code = parse_qs(urlsplit(authorize(victim)).query)["code"][0]
    own = parse_qs(urlsplit(authorize(browser)).query)
    injected = f"{CALLBACK}?{urlencode({'code': stolen_code, 'state': own['state'][0]})}"
    response = browser.get(injected, follow_redirects=False)
    assert_refused(response, 401, sso, "code was refused", "invalid_grant")
    assert provider.refusals == ["PKCE verifier does not match the challenge"]


def test_provider_errors_and_broken_flows_sign_nobody_in(
    browser: TestClient, sso: Database, provider: LocalOidcProvider
) -> None:
    provider.error = "access_denied"
    assert_refused(sign_in(browser), 400, sso, "access was denied", "The user declined")
    provider.error = "temporarily_unavailable"
    assert_refused(sign_in(browser), 400, sso, "temporarily_unavailable")
    provider.error = None

    # no flow cookie (another browser), a forged one, an expired one, another org's
    fresh = TestClient(browser.app)
    assert_refused(fresh.get(f"{CALLBACK}?code=x&state=y"), 400, sso, "expired")
    back = authorize(browser)
    sealed = browser.cookies["annexa_oidc"]
    payload, mac = sealed.split(".")
    _replace_flow_cookie(browser, payload[:-3] + "AAA." + mac)
    assert_refused(browser.get(back, follow_redirects=False), 400, sso, "expired")
    flow = oidc_web.open_flow(sealed)
    stale = oidc_web.seal_flow(type(flow)(**{**flow.__dict__, "expires": int(time.time()) - 1}))
    _replace_flow_cookie(browser, stale)
    assert_refused(browser.get(back, follow_redirects=False), 400, sso, "expired")
    _replace_flow_cookie(browser, sealed)
    other = back.replace(f"/oidc/{ORG}/", "/oidc/other-org/")
    assert_refused(browser.get(other, follow_redirects=False), 400, sso)
    # a code without a state
    _replace_flow_cookie(browser, sealed)
    no_state = back.split("&state=")[0]
    assert_refused(browser.get(no_state, follow_redirects=False), 400, sso, "state")
    # none of these reached the provider's token endpoint
    assert provider.token_requests == []


def test_unknown_disabled_and_unreachable_providers(
    browser: TestClient, sso: Database, provider: LocalOidcProvider
) -> None:
    assert_refused(browser.get("/auth/oidc/no-such-org/start"), 404, sso, "no single sign-on")
    with sso.transaction() as session:
        configure_provider(session, session.scalar(select(Organisation)), enabled=False)
    assert_refused(browser.get(f"/auth/oidc/{ORG}/start"), 404, sso)
    with sso.transaction() as session:
        org = session.scalar(select(Organisation))
        # a port nothing listens on
        configure_provider(session, org, enabled=True, issuer="http://127.0.0.1:9/idp")
    assert_refused(browser.get(f"/auth/oidc/{ORG}/start"), 502, sso, "could not be reached")


def test_single_sign_on_is_rate_limited_per_client_address(
    browser: TestClient, sso: Database, provider: LocalOidcProvider
) -> None:
    browser.app.state.rate_limits = RateLimits(sso_per_ip=3)
    assert sign_in(browser).status_code == 303  # start and callback: two requests
    back = authorize(browser)  # the third
    limited = browser.get(back, follow_redirects=False)
    assert_refused(limited, 429, sso, "Too many sign-in attempts", "wait a few minutes", sessions=1)
    assert limited.headers["retry-after"] == "300"
    assert limited.headers["cache-control"] == "no-store"
    assert len(provider.token_requests) == 1  # the refused callback redeemed no code
    assert_refused(browser.get(f"/auth/oidc/{ORG}/start"), 429, sso, sessions=1)
    # another address still gets through
    elsewhere = TestClient(browser.app, client=("192.0.2.7", 50000))
    assert elsewhere.get(f"/auth/oidc/{ORG}/start", follow_redirects=False).status_code == 303


def test_the_served_app_rate_limits_single_sign_on(db_url: str) -> None:
    app = create_app(db_url)
    try:
        app.state.web.state.rate_limits = RateLimits(sso_per_ip=1)
        client = TestClient(app)
        assert client.get("/auth/oidc/no-such-org/start").status_code == 404
        limited = client.get("/auth/oidc/no-such-org/callback?code=x&state=y")
        assert limited.status_code == 429
        assert ">Too many sign-in attempts</h1>" in limited.text
        assert "Wait a few minutes, then start the sign-in again." in limited.text
    finally:
        app.state.database.dispose()


def test_the_token_request_follows_the_providers_auth_method(
    browser: TestClient, sso: Database, provider: LocalOidcProvider
) -> None:
    provider.auth_methods = ("client_secret_post",)
    try:
        assert sign_in(browser).status_code == 303
    finally:
        provider.auth_methods = ("client_secret_basic", "client_secret_post")
    assert provider.token_requests[0]["auth"] == "post"
    assert provider.token_requests[0]["client_secret"] == CLIENT_SECRET


def test_rotated_signing_keys_are_fetched_again(
    browser: TestClient, provider: LocalOidcProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert sign_in(browser).status_code == 303  # caches the key set
    original = provider.key
    params = {"kid": "test-key-2", "use": "sig", "alg": "RS256"}
    provider.key = RSAKey.generate_key(2048, parameters=params, private=True)
    try:
        # an unknown key id re-reads the key set, but not more than once a minute
        assert sign_in(TestClient(browser.app)).status_code == 401
        monkeypatch.setattr(oidc_service, "JWKS_REFETCH_AFTER", 0)
        assert sign_in(TestClient(browser.app)).status_code == 303
    finally:
        provider.key = original


def test_unusable_discovery_documents_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    issuer = "https://idp.example"
    answers: dict[str, httpx.Response] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        return answers.get(str(request.url), httpx.Response(404))

    def client() -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(handler))

    monkeypatch.setattr(oidc_service, "http_client", client)
    good = {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/authorize",
        "token_endpoint": f"{issuer}/token",
        "jwks_uri": f"{issuer}/jwks",
    }
    where = f"{issuer}/.well-known/openid-configuration"
    for document, words in [
        (None, "HTTP 404"),
        (b"x" * 1_000_001, "too large"),
        (b"<html>", "not a JSON object"),
        ({**good, "issuer": "https://other.example"}, "names issuer"),
        ({**good, "token_endpoint": "http://127.0.0.1:9/token"}, "token_endpoint"),
        ({**good, "jwks_uri": None}, "jwks_uri"),
        ({**good, "id_token_signing_alg_values_supported": ["HS256", "none"]}, "asymmetric"),
    ]:
        answers.clear()
        if document is not None:
            content = document if isinstance(document, bytes) else orjson.dumps(document)
            answers[where] = httpx.Response(200, content=content)
        oidc_service.forget_metadata()
        with pytest.raises(SignInFailed) as caught:
            oidc_service.discover(issuer)
        assert caught.value.http_status == 502 and words in caught.value.message, words
    answers[where] = httpx.Response(200, content=orjson.dumps(good))
    assert oidc_service.discover(issuer).algorithms == ("RS256",)


# --- configuration ------------------------------------------------------------------------


def test_provider_settings_are_validated_and_the_secret_never_shown(
    db: Database, provider: LocalOidcProvider
) -> None:
    for good in (
        "https://login.example.com/realms/acme",
        "http://127.0.0.1:8080",
        "http://[::1]/x",
    ):
        assert check_issuer(good) == good
    for bad in (
        "http://login.example.com",
        "ftp://x.example",
        "https://x.example/?a=1",
        "https://x.example/#f",
        "https://user:pw@x.example",
        "login.example.com",
        "",
    ):
        with pytest.raises(InvalidInput) as caught:
            check_issuer(bad)
        assert caught.value.field == "issuer"
    assert check_domains(" Corp.example, @b.example ,corp.example,") == [
        "corp.example",
        "b.example",
    ]
    for bad in ("not a domain", "x", "a..b"):
        with pytest.raises(InvalidInput):
            check_domains(bad)

    with db.transaction(actor="cli:tester") as session:
        org = session.scalar(select(Organisation))
        with pytest.raises(NotFound):
            get_provider(session, org)
        with pytest.raises(InvalidInput) as missing:
            configure_provider(session, org, issuer=provider.issuer)
        assert missing.value.field == "client-id"
        with pytest.raises(InvalidInput) as role:
            configure_provider(
                session, org, issuer=provider.issuer, client_id="c", default_role="owner"
            )
        assert role.value.field == "role"
    with db.transaction(actor="cli:tester") as session:
        org = session.scalar(select(Organisation))
        configured = configure_provider(
            session,
            org,
            issuer=provider.issuer,
            client_id="c",
            client_secret="s3cr3t-value-never-shown",
            scopes="email profile",
        )
        shown = provider_to_dict(configured, request_base="https://annexa.example/")
    assert shown["client_secret_set"] is True and "s3cr3t" not in json.dumps(shown)
    assert shown["scopes"] == "openid email profile"
    assert shown["redirect_uri"] == f"https://annexa.example/auth/oidc/{ORG}/callback"
    with db.transaction(actor="cli:tester") as session:
        org = session.scalar(select(Organisation))
        kept = configure_provider(session, org, client_id="c2")
        assert kept.client_secret == "s3cr3t-value-never-shown"
        assert configure_provider(session, org, client_secret=None).client_secret is None
        remove_provider(session, org)
        assert session.scalar(select(OidcProvider)) is None
    events = [e for e in _events(db) if e["type"] == "oidc_provider"]
    assert [e["action"] for e in events] == ["create", "update", "update", "delete"]
    assert "s3cr3t" not in json.dumps(_events(db))


def test_sign_in_buttons_list_enabled_providers(sso: Database) -> None:
    with sso.reading() as session:
        assert oidc_web.oidc_buttons(session) == [
            {"label": "Test Org (single sign-on)", "url": f"/auth/oidc/{ORG}/start", "org": ORG}
        ]
        [button] = oidc_web.oidc_buttons(session, "/o/test-org/risks")
        assert button["url"] == f"/auth/oidc/{ORG}/start?next=%2Fo%2Ftest-org%2Frisks"
        assert oidc_web.oidc_buttons(session, "https://evil.example")[0]["url"].endswith("start")
    with sso.transaction() as session:
        configure_provider(session, session.scalar(select(Organisation)), enabled=False)
    with sso.reading() as session:
        assert oidc_web.oidc_buttons(session) == []


def test_sign_in_failure_is_an_annexa_error_with_a_status() -> None:
    failure = SignInFailed("x", status=401)
    assert failure.http_status == 401 and failure.code == "sign_in_failed"


# --- CLI ------------------------------------------------------------------------------------


def test_org_oidc_commands(cli: CliCall, tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    secret_file = tmp_path / "client-secret"
    secret_file.write_text("file-secret-abc123\n")
    result = cli(
        "org", "oidc", "set", ORG, "--issuer", "https://login.example.com/realms/acme",
        "--client-id", "annexa", "--client-secret-file", str(secret_file),
        "--domains", "corp.example, example.org", "--default-role", "auditor", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert shown["allowed_domains"] == ["corp.example", "example.org"]
    assert shown["default_role"] == "auditor" and shown["client_secret_set"] is True
    assert "file-secret" not in result.output

    monkeypatch.setenv("IDP_SECRET", "env-secret-xyz789")
    result = cli("org", "oidc", "set", ORG, "--client-secret-env", "IDP_SECRET", "--disable")
    assert result.exit_code == 0, result.output
    assert "env-secret" not in result.output
    shown = json.loads(cli("org", "oidc", "show", ORG, "--json").stdout)
    assert shown["enabled"] is False and shown["client_id"] == "annexa"
    assert "env-secret" not in json.dumps(shown)
    plain = cli("org", "oidc", "show", ORG)
    assert plain.exit_code == 0 and "/auth/oidc/test-org/callback" in plain.stdout

    for args, field in [
        (["--issuer", "http://login.example.com"], "issuer"),
        (["--default-role", "owner"], "role"),
        (["--domains", "not a domain"], "domains"),
        (["--client-secret-env", "NO_SUCH_VARIABLE_SET"], "client-secret-env"),
        (["--client-secret-file", str(tmp_path / "missing")], "client-secret-file"),
    ]:
        bad = cli("org", "oidc", "set", ORG, *args)
        assert bad.exit_code == 2, (args, bad.output)
        assert field in bad.output, (args, bad.output)
    assert cli("org", "oidc", "show", "no-such-org").exit_code == 2

    audit = cli("audit", "log", "--json").stdout
    assert "file-secret" not in audit and "env-secret" not in audit
    removed = cli("org", "oidc", "remove", ORG, "--json")
    assert removed.exit_code == 0, removed.output
    assert cli("org", "oidc", "show", ORG).exit_code == 2
    assert cli("org", "oidc", "remove", ORG).exit_code == 2


def test_org_and_user_commands_from_the_issue_contract(cli: CliCall) -> None:
    added = cli("org", "add", "Second Org", "--slug", "second", "--json")
    assert added.exit_code == 0 and json.loads(added.stdout)["slug"] == "second"
    orgs = json.loads(cli("org", "list", "--json").stdout)["organisations"]
    assert {o["slug"] for o in orgs} == {ORG, "second"}

    sso_only = cli(
        "user", "add", "sso@corp.example", "--name", "Sso Only", "--org", ORG,
        "--role", "viewer", "--no-password", "--json",
    )  # fmt: skip
    assert sso_only.exit_code == 0, sso_only.output
    listed = json.loads(cli("user", "list", "--json").stdout)["users"]
    assert [u["email"] for u in listed] == ["sso@corp.example"]
    conflicting = cli("user", "add", "x@corp.example", "--name", "X", "--no-password",
                      "--password-stdin", input="correct horse battery\n")  # fmt: skip
    assert conflicting.exit_code == 2 and "--no-password" in conflicting.output
