"""The web pages: sign-in, CSRF, roles, tenant isolation, every page and every download.

Runs on SQLite and PostgreSQL like the rest of the suite, through Starlette's TestClient
against the same app ``annexa serve`` runs (the API with the pages mounted).
"""

from __future__ import annotations

import datetime as dt
import io
import re
import sys
import types
from dataclasses import dataclass
from typing import Any

import openpyxl
import pyotp
import pytest
from argon2 import PasswordHasher
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

import annexa.web
from annexa.accounts import begin_totp, confirm_totp, csrf_token, grant, set_password
from annexa.accounts import service as accounts_service
from annexa.api.app import create_app
from annexa.audit.keys import load_signer
from annexa.demo import load_demo
from annexa.risk import add_risk, assess, treat
from annexa.store.db import Database
from annexa.store.models import (
    AuditCheckpoint,
    AuditEvent,
    Organisation,
    Risk,
    SoaEntry,
    User,
    WebSession,
)
from annexa.web.app import WEB_CSP
from annexa.web.routes import ROUTERS
from annexa.web.routes.auth import SIGN_IN_FAILED, TOO_MANY
from annexa.web.security import RateLimits, safe_next
from tests.api_support import CONTRIBUTOR_NAME, ORG_A, ORG_B, ROLES, seed

PASSWORD = "correct horse battery staple"
A = f"/o/{ORG_A}"
B = f"/o/{ORG_B}"
DEMO = "/o/harbour-vale"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture(autouse=True)
def _cheap_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(accounts_service, "_hasher", cheap)
    monkeypatch.setattr(accounts_service, "_DUMMY_HASH", cheap.hash("dummy password"))


@dataclass
class Site:
    app: FastAPI
    database: Database
    url: str

    @property
    def web(self) -> FastAPI:
        return self.app.state.web

    def browser(self, base_url: str = "http://testserver") -> Browser:
        return Browser(TestClient(self.app, base_url=base_url, follow_redirects=False))

    def signed_in(self, email: str) -> Browser:
        browser = self.browser()
        response = browser.login(email)
        assert response.status_code == 303, response.text
        return browser


class Browser:
    def __init__(self, client: TestClient):
        self.client = client

    def login_token(self) -> str:
        page = self.client.get("/login")
        return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)

    def login(self, email: str, password: str = PASSWORD, next_url: str = "") -> Any:
        token = self.login_token()
        return self.client.post(
            "/login",
            data={"email": email, "password": password, "csrf_token": token, "next": next_url},
        )

    @property
    def csrf(self) -> str:
        return csrf_token(self.client.cookies.get("annexa_session"))

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.client.get(path, **kwargs)

    def post(self, path: str, data: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        body = {"csrf_token": self.csrf, **(data or {})}
        return self.client.post(path, data=body, **kwargs)

    def htmx(self, method: str, path: str, data: dict[str, Any] | None = None) -> Any:
        headers = {"HX-Request": "true", "X-CSRF-Token": self.csrf}
        return self.client.request(method, path, data=data, headers=headers)


def _passwords(url: str) -> None:
    db = Database(url)
    with db.transaction(actor="seed") as session:
        for user in session.scalars(select(User)):
            set_password(session, user, PASSWORD)
    db.dispose()


@pytest.fixture
def site(db_url: str) -> Site:
    seed(db_url)
    _passwords(db_url)
    load_signer(None, create=True)  # checkpoints are signed after each write
    app = create_app(db_url)
    yield Site(app, app.state.database, db_url)
    app.state.database.dispose()


def _org(session: Any, slug: str) -> Organisation:
    return session.scalar(select(Organisation).where(Organisation.slug == slug))


def _risk(session: Any, ref: str, slug: str = ORG_A) -> Risk:
    return session.scalar(
        select(Risk).join(Organisation).where(Risk.ref == ref, Organisation.slug == slug)
    )


# --- signing in and out --------------------------------------------------------------------


def test_pages_send_strangers_to_the_sign_in_page(site: Site) -> None:
    browser = site.browser()
    response = browser.get(f"{A}/risks?page=2")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fo%2Ftest-org%2Frisks%3Fpage%3D2"
    assert browser.get("/").headers["location"] == "/login"
    # htmx requests get a full-page redirect instead of a fragment
    fragment = browser.client.get(f"{A}/risks/R-0001/row", headers={"HX-Request": "true"})
    assert fragment.headers["HX-Redirect"].startswith("/login?next=")


def test_sign_in_sets_a_strict_cookie_and_sign_out_ends_the_session(site: Site) -> None:
    browser = site.browser()
    response = browser.login("admin@a.example", next_url=f"{A}/risks")
    assert response.status_code == 303
    assert response.headers["location"] == f"{A}/risks"
    cookie = next(
        c for c in response.headers.get_list("set-cookie") if c.startswith("annexa_session=")
    )
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Path=/" in cookie
    assert "Secure" not in cookie  # plain HTTP in this test
    page = browser.get(f"{A}/risks")
    assert page.status_code == 200
    assert "Risk register" in page.text

    out = browser.post("/logout")
    assert out.status_code == 303
    assert out.headers["location"] == "/login?out=1"
    assert browser.get(f"{A}/risks").status_code == 303
    with site.database.reading() as session:
        rows = session.scalars(select(WebSession)).all()
        assert len(rows) == 1 and rows[0].revoked_at is not None


def test_the_cookie_is_secure_behind_tls(site: Site) -> None:
    browser = site.browser(base_url="https://testserver")
    response = browser.login("admin@a.example")
    cookies = response.headers.get_list("set-cookie")
    assert any(c.startswith("annexa_session=") and "Secure" in c for c in cookies)


def test_wrong_password_unknown_email_and_lock_out_look_the_same(site: Site) -> None:
    browser = site.browser()
    wrong = browser.login("admin@a.example", "not the password at all")
    unknown = browser.login("nobody@a.example", "not the password at all")
    for response in (wrong, unknown):
        assert response.status_code == 401
        assert SIGN_IN_FAILED in response.text
        assert "annexa_session" not in response.headers.get("set-cookie", "")
    for _ in range(4):  # five failures in a row lock the account
        browser.login("admin@a.example", "not the password at all")
    with site.database.reading() as session:
        user = session.scalar(select(User).where(User.email == "admin@a.example"))
        assert user.locked_until is not None
    locked = browser.login("admin@a.example")  # the right password, but locked
    assert locked.status_code == 401
    assert SIGN_IN_FAILED in locked.text
    assert re.sub(r"value=\"[^\"]*\"", "", locked.text) == re.sub(
        r"value=\"[^\"]*\"", "", unknown.text.replace("nobody@a.example", "admin@a.example")
    )


def test_sign_in_is_rate_limited_per_address_and_per_account(site: Site) -> None:
    site.web.state.rate_limits = RateLimits(per_ip=100, per_account=3)
    browser = site.browser()
    for _ in range(3):
        assert browser.login("nobody@a.example", "wrong password!!").status_code == 401
    limited = browser.login("nobody@a.example", "wrong password!!")
    assert limited.status_code == 429
    assert TOO_MANY in limited.text
    assert browser.login("admin@a.example").status_code == 303  # another account is fine

    site.web.state.rate_limits = RateLimits(per_ip=2, per_account=100)
    other = site.browser()
    other.login("viewer@a.example", "wrong password!!")
    other.login("viewer@a.example", "wrong password!!")
    assert other.login("viewer@a.example").status_code == 429  # even the right password


def test_a_second_factor_is_asked_for_after_the_password(site: Site) -> None:
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    with site.database.transaction() as session:
        user = session.scalar(select(User).where(User.email == "editor@a.example"))
        begin_totp(session, user)
        secret = user.totp_secret
        earlier = (now - dt.timedelta(seconds=30)).replace(tzinfo=dt.UTC)
        confirm_totp(session, user, pyotp.TOTP(secret).at(earlier), now=now)
    browser = site.browser()
    response = browser.login("editor@a.example", next_url=f"{A}/soa")
    assert response.status_code == 303
    assert response.headers["location"] == "/login/code?next=%2Fo%2Ftest-org%2Fsoa"
    assert browser.get(f"{A}/soa").status_code == 303  # half signed in grants nothing
    code_page = browser.get("/login/code?next=%2Fo%2Ftest-org%2Fsoa")
    assert code_page.status_code == 200 and 'name="code"' in code_page.text

    wrong = browser.post("/login/code", {"code": "000000", "next": f"{A}/soa"})
    assert wrong.status_code == 401
    no_token = browser.client.post("/login/code", data={"code": "123456"})
    assert no_token.status_code == 403
    right = browser.post("/login/code", {"code": pyotp.TOTP(secret).now(), "next": f"{A}/soa"})
    assert right.status_code == 303
    assert right.headers["location"] == f"{A}/soa"
    assert browser.get(f"{A}/soa").status_code == 200


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("/o/acme/risks?page=2", "/o/acme/risks?page=2"),
        ("https://evil.example/", "/"),
        ("//evil.example/x", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("/o/acme\r\nSet-Cookie: x=1", "/"),
        ("/login?next=/", "/"),
        ("", "/"),
        (None, "/"),
    ],
)
def test_next_is_only_ever_a_path_on_this_site(given: str | None, expected: str) -> None:
    assert safe_next(given) == expected


def test_sign_in_never_redirects_off_site(site: Site) -> None:
    response = site.browser().login("admin@a.example", next_url="https://evil.example/")
    assert response.headers["location"] == "/"


# --- CSRF and headers ------------------------------------------------------------------------


def test_posts_without_the_csrf_token_are_refused(site: Site) -> None:
    browser = site.signed_in("admin@a.example")
    data = {"title": "Forged risk", "owner": "Someone"}
    assert browser.client.post(f"{A}/risks", data=data).status_code == 403
    wrong = {**data, "csrf_token": "0" * 64}
    assert browser.client.post(f"{A}/risks", data=wrong).status_code == 403
    assert browser.client.post("/logout").status_code == 403
    with site.database.reading() as session:
        assert session.scalar(select(Risk).where(Risk.title == "Forged risk")) is None
    # the header works for htmx
    ok = browser.client.post(f"{A}/risks", data=data, headers={"X-CSRF-Token": browser.csrf})
    assert ok.status_code == 303


def test_the_sign_in_form_is_csrf_protected_too(site: Site) -> None:
    browser = site.browser()
    browser.get("/login")  # sets the pre-session cookie
    data = {"email": "admin@a.example", "password": PASSWORD}
    assert browser.client.post("/login", data=data).status_code == 403
    other = site.browser()
    foreign_token = other.login_token()  # bound to another browser's cookie
    forged = browser.client.post("/login", data={**data, "csrf_token": foreign_token})
    assert forged.status_code == 403


def test_pages_carry_a_strict_policy_and_no_inline_code(site: Site) -> None:
    browser = site.signed_in("admin@a.example")
    for path in (f"{A}/", "/login", f"{A}/risks", f"{A}/soa"):
        response = browser.get(path)
        assert response.headers["content-security-policy"] == WEB_CSP
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert not re.search(r"<script(?![^>]*\bsrc=)", response.text)
        assert not re.search(r"\sstyle=", response.text)
        assert not re.search(r"\son[a-z]+=", response.text)
    htmx = browser.get("/static/htmx.min.js")
    assert htmx.status_code == 200 and "htmx" in htmx.text[:200]
    assert "Zero-Clause BSD" in htmx.text[:200]
    api = browser.get("/api/v1/health")
    assert api.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"


def test_the_api_keeps_its_own_paths_and_errors(site: Site) -> None:
    client = site.browser().client
    missing = client.get("/api/v1/no-such-thing")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    assert client.get("/api/v1/health").status_code == 200


# --- organisations and roles -----------------------------------------------------------------


def test_several_memberships_get_a_picker_one_goes_straight_in(site: Site) -> None:
    with site.database.transaction() as session:
        user = session.scalar(select(User).where(User.email == "viewer@a.example"))
        grant(session, user, _org(session, ORG_B), "viewer")
    picker = site.signed_in("viewer@a.example").get("/")
    assert picker.status_code == 200
    assert f'href="{A}/"' in picker.text and f'href="{B}/"' in picker.text
    single = site.signed_in("admin@a.example").get("/")
    assert single.status_code == 303 and single.headers["location"] == f"{A}/"


OTHER_ORG_PAGES = [
    "/",
    "/risks",
    "/risks/R-0001",
    "/risks/export.csv",
    "/soa",
    "/soa/export.xlsx",
    "/assets",
    "/ai-systems",
    "/context",
    "/catalog",
    "/audit",
]


def test_another_organisation_answers_404(site: Site) -> None:
    browser = site.signed_in("admin@a.example")
    for path in OTHER_ORG_PAGES:
        assert browser.get(B + path).status_code == 404, path
        assert browser.get("/o/no-such-org" + path).status_code == 404, path
    assert browser.post(f"{B}/risks", {"title": "Sneaky"}).status_code == 404
    with site.database.reading() as session:
        assert session.scalar(select(Risk).where(Risk.title == "Sneaky")) is None


def _fill(path: str) -> str:
    values = {
        "slug": ORG_A,
        "ref": "R-0001",
        "name": "Laptop",
        "table": "issues",
        "fmt": "csv",
        "fw": "iso27001-2022",
    }
    return re.sub(r"{(\w+)(?::path)?}", lambda m: values[m.group(1)], path)


def _org_posts() -> list[str]:
    paths = []
    for router in ROUTERS:
        for route in router.routes:
            methods = getattr(route, "methods", None) or set()
            if "POST" in methods and route.path.startswith("/o/"):
                paths.append(_fill(route.path))
    return paths


@pytest.mark.parametrize("role", ["auditor", "viewer"])
def test_readers_cannot_post_anything(site: Site, role: str) -> None:
    browser = site.signed_in(f"{role}@a.example")
    paths = _org_posts()
    assert len(paths) >= 15
    for path in paths:
        response = browser.post(path, {"title": "x", "owner": CONTRIBUTOR_NAME})
        assert response.status_code == 403, path
    with site.database.reading() as session:
        assert session.scalar(select(func.count()).select_from(Risk)) == 2 + 3


def test_readers_see_no_write_controls(site: Site) -> None:
    browser = site.signed_in("auditor@a.example")
    for path in ("/risks", "/soa", "/assets", "/ai-systems", "/context", "/risks/R-0001"):
        page = browser.get(A + path)
        assert page.status_code == 200, path
        forms = re.findall(r'<form method="post" action="([^"]+)"', page.text)
        assert forms == ["/logout"], (path, forms)
        assert "hx-post" not in page.text and "/edit" not in page.text
    writer = site.signed_in("editor@a.example")
    assert "Add a risk" in writer.get(f"{A}/risks").text
    assert "Decide several controls" in writer.get(f"{A}/soa").text


def test_the_audit_trail_is_for_admins_and_auditors(site: Site) -> None:
    for role in ROLES:
        browser = site.signed_in(f"{role}@a.example")
        allowed = role in ("admin", "auditor")
        assert browser.get(f"{A}/audit").status_code == (200 if allowed else 403), role
        assert browser.get(f"{A}/audit/verify").status_code == (200 if allowed else 403), role
        assert (f'href="{A}/audit"' in browser.get(f"{A}/").text) is allowed, role


def test_contributors_change_only_what_they_own(site: Site) -> None:
    browser = site.signed_in("contributor@a.example")
    listing = browser.get(f"{A}/risks").text
    assert f"{A}/risks/R-0001/edit" in listing
    assert f"{A}/risks/R-0002/edit" not in listing
    mine = browser.post(f"{A}/risks/R-0001", {"description": "Mine"})
    assert mine.status_code == 303
    theirs = browser.post(f"{A}/risks/R-0002", {"description": "Not mine"})
    assert theirs.status_code == 403
    give_away = browser.post(f"{A}/risks/R-0001", {"owner": "Someone Else"})
    assert give_away.status_code == 403
    add_other = browser.post(f"{A}/risks", {"title": "For someone", "owner": "Someone Else"})
    assert add_other.status_code == 403
    add_mine = browser.post(f"{A}/risks", {"title": "For me", "owner": CONTRIBUTOR_NAME})
    assert add_mine.status_code == 303
    assert browser.post(f"{A}/soa/control/A.5.1", {"decision": "applicable"}).status_code == 403


# --- the risk register ---------------------------------------------------------------------


def test_adding_a_risk_is_audited_under_the_user_and_signs_a_checkpoint(site: Site) -> None:
    with site.database.reading() as session:
        checkpoints = session.scalar(select(func.count()).select_from(AuditCheckpoint))
    browser = site.signed_in("editor@a.example")
    response = browser.post(
        f"{A}/risks",
        {
            "title": "Shadow AI use",
            "owner": "IT",
            "likelihood": "4",
            "impact": "3",
            "review_date": "2030-01-31",
            "threat_id": "",
        },
        headers={"X-Request-ID": "web-test-1"},
    )
    assert response.status_code == 303
    ref = response.headers["location"].split("/risks/")[1].split("?")[0]
    detail = browser.get(f"{A}/risks/{ref}?notice=added")
    assert "Shadow AI use" in detail.text and "Risk added." in detail.text
    with site.database.reading() as session:
        event = session.scalar(
            select(AuditEvent).where(
                AuditEvent.object_type == "risk",
                AuditEvent.object_ref == ref,
                AuditEvent.org_slug == ORG_A,
            )
        )
        assert event.actor == "editor@a.example"
        assert event.request_id == "web-test-1"
        assert session.scalar(select(func.count()).select_from(AuditCheckpoint)) > checkpoints


def test_a_refused_add_shows_the_error_next_to_its_field(site: Site) -> None:
    browser = site.signed_in("editor@a.example")
    response = browser.post(f"{A}/risks", {"title": "Half rated", "likelihood": "3"})
    assert response.status_code == 422
    assert 'id="add-impact-error"' in response.text
    assert "is needed too" in response.text
    duplicate = browser.post(f"{A}/risks", {"title": "Other risk"})
    assert duplicate.status_code == 422
    assert 'id="add-title-error"' in duplicate.text
    with site.database.reading() as session:
        assert session.scalar(select(Risk).where(Risk.title == "Half rated")) is None


def _many_risks(site: Site, count: int) -> None:
    with site.database.transaction() as session:
        org = _org(session, ORG_A)
        for n in range(count):
            add_risk(
                session,
                org,
                title=f"Bulk risk {n:03d}",
                owner="Owner A" if n % 2 else "Owner B",
                likelihood=1 + n % 5,
                impact=1 + (n // 5) % 5,
            )


def test_the_register_pages_filters_and_sorts_in_the_database(site: Site) -> None:
    _many_risks(site, 60)
    browser = site.signed_in("viewer@a.example")
    first = browser.get(f"{A}/risks?per=25")
    assert "Risks 1–25 of 62" in first.text
    assert first.text.count('<tr id="risk-') == 25
    last = browser.get(f"{A}/risks?per=25&page=3")
    assert "Risks 51–62 of 62" in last.text
    beyond = browser.get(f"{A}/risks?per=25&page=99")
    assert "Risks 51–62 of 62" in beyond.text
    owned = browser.get(f"{A}/risks?owner=owner+a&per=100")
    assert "of 30" in owned.text and "Owner B" not in owned.text.split("<tbody>")[1]
    searched = browser.get(f"{A}/risks?q=bulk+risk+01")
    assert "of 10" in searched.text
    by_title = browser.get(f"{A}/risks?sort=-title&per=25").text
    titles = re.findall(r"<td>(Bulk risk \d+|Other risk|Carol&#39;s risk)</td>", by_title)
    assert titles == sorted(titles, reverse=True)
    levels = browser.get(f"{A}/risks?level=critical")
    assert levels.status_code == 200 and "Risks 1–" in levels.text
    nonsense = browser.get(f"{A}/risks?level=nope&status=nope&sort=nope&page=x&per=7")
    assert nonsense.status_code == 200 and "of 62" in nonsense.text


def test_inline_edit_with_htmx(site: Site) -> None:
    browser = site.signed_in("editor@a.example")
    editor = browser.htmx("GET", f"{A}/risks/R-0002/edit")
    assert editor.status_code == 200
    assert 'class="editing"' in editor.text and 'name="owner"' in editor.text
    saved = browser.htmx(
        "POST",
        f"{A}/risks/R-0002/inline",
        {
            "owner": "New Owner",
            "review_date": "2031-02-03",
            "description": "Edited inline",
            "likelihood": "3",
            "impact": "4",
            "treatment": "retain",
        },
    )
    assert saved.status_code == 200, saved.text
    assert saved.text.lstrip().startswith('<tr id="risk-R-0002">')
    assert "New Owner" in saved.text and "2031-02-03" in saved.text
    with site.database.reading() as session:
        risk = _risk(session, "R-0002")
        assert (risk.owner, risk.description, risk.inherent_score) == (
            "New Owner",
            "Edited inline",
            12,
        )
        assert risk.treatment == "retain"
    refused = browser.htmx("POST", f"{A}/risks/R-0001/inline", {"likelihood": "9", "impact": "1"})
    assert refused.status_code == 422
    assert 'aria-invalid="true"' in refused.text and "scale" in refused.text
    cancel = browser.htmx("GET", f"{A}/risks/R-0002/row")
    assert "Edited inline" not in cancel.text and "New Owner" in cancel.text


def test_rate_treat_and_accept_on_the_risk_page(site: Site) -> None:
    browser = site.signed_in("admin@a.example")
    assert (
        browser.post(f"{A}/risks/R-0002/assess", {"likelihood": "5", "impact": "5"}).status_code
        == 303
    )
    refused = browser.post(f"{A}/risks/R-0002/treat", {"option": "modify"})
    assert refused.status_code == 422
    assert 'id="treat-controls-error"' in refused.text
    treated = browser.post(
        f"{A}/risks/R-0002/treat",
        {
            "option": "modify",
            "controls": "A.8.12 A.5.10",
            "residual_likelihood": "2",
            "residual_impact": "2",
            "due": "2031-01-01",
        },
    )
    assert treated.status_code == 303
    page = browser.get(f"{A}/risks/R-0002")
    assert "A.8.12" in page.text and "Treated" in page.text
    accepted = browser.post(
        f"{A}/risks/R-0002/accept",
        {
            "approver": "Managing Partner",
            "expires": (dt.date.today() + dt.timedelta(days=200)).isoformat(),
        },
    )
    assert accepted.status_code == 303
    with site.database.reading() as session:
        risk = _risk(session, "R-0002")
        assert risk.status == "accepted"
        entry = session.scalar(select(SoaEntry).where(SoaEntry.ref == "A.8.12"))
        assert entry.applicable is True and entry.decided_by == "admin@a.example"


# --- the Statement of Applicability ------------------------------------------------------------


def test_an_exclusion_needs_a_justification_shown_next_to_the_field(site: Site) -> None:
    browser = site.signed_in("editor@a.example")
    refused = browser.post(f"{A}/soa/control/A.8.4", {"decision": "not_applicable"})
    assert refused.status_code == 422
    assert 'id="decide-justification-error"' in refused.text
    assert "needs a justification" in refused.text
    inline = browser.htmx(
        "POST", f"{A}/soa/control/A.8.4", {"decision": "not_applicable", "inline": "1"}
    )
    assert inline.status_code == 422
    assert 'id="soa-edit-A.8.4-justification-error"' in inline.text
    done = browser.post(
        f"{A}/soa/control/A.8.4",
        {"decision": "not_applicable", "justification": "No source code is held"},
    )
    assert done.status_code == 303
    row = browser.htmx("GET", f"{A}/soa/control/A.8.4/row")
    assert "No source code is held" in row.text
    excluded = browser.get(f"{A}/soa?applicability=no")
    assert "A.8.4" in excluded.text and "1 control: 0 applicable, 1 excluded" in excluded.text
    with site.database.reading() as session:
        entry = session.scalar(select(SoaEntry).where(SoaEntry.ref == "A.8.4"))
        assert entry.applicable is False and entry.decided_by == "editor@a.example"


def test_bulk_decisions_publish_versions_and_diff(site: Site) -> None:
    browser = site.signed_in("admin@a.example")
    refused = browser.post(
        f"{A}/soa/bulk", {"refs": ["A.7.1", "A.7.2"], "bulk_decision": "not_applicable"}
    )
    assert refused.status_code == 422
    assert "needs a justification" in refused.text
    assert 'value="A.7.1" form="bulk-form" aria-label="Select A.7.1" checked' in refused.text
    done = browser.post(
        f"{A}/soa/bulk",
        {
            "refs": ["A.7.1", "A.7.2", "A.7.3"],
            "bulk_decision": "not_applicable",
            "bulk_justification": "Fully remote firm: no premises",
        },
    )
    assert done.status_code == 303
    assert "3 controls updated." in browser.get(done.headers["location"]).text
    publish_refused = browser.post(f"{A}/soa/publish", {"note": "Draft"})
    assert publish_refused.status_code == 422 and "undecided" in publish_refused.text
    published = browser.post(f"{A}/soa/publish", {"note": "Draft", "allow_undecided": "1"})
    assert published.status_code == 303
    browser.post(
        f"{A}/soa/control/A.5.1",
        {"decision": "applicable", "justification": "Policies are needed", "status": "planned"},
    )
    versions = browser.get(f"{A}/soa/versions")
    assert "Draft" in versions.text
    changed = browser.get(f"{A}/soa/diff?from=1&to=current")
    assert changed.status_code == 200
    assert "A.5.1" in changed.text and "Policies are needed" in changed.text
    old = browser.get(f"{A}/soa?version=1")
    assert old.status_code == 200 and "bulk-form" not in old.text
    for odd in ("²", "9" * 5000):  # digits to str.isdigit(), not to int(): the draft
        assert "bulk-form" in browser.get(f"{A}/soa?version={odd}&updated={odd}").text
    unknown = browser.get(f"{A}/soa/diff?from=%C2%B2&to=current")
    assert unknown.status_code < 500
    framework = browser.get(f"{A}/soa?framework=iso42001-2023")
    assert "ISO/IEC 42001" in framework.text


# --- downloads -----------------------------------------------------------------------------


def _xlsx(response: Any) -> Any:
    assert response.status_code == 200
    assert response.headers["content-type"] == XLSX
    assert "attachment" in response.headers["content-disposition"]
    return openpyxl.load_workbook(io.BytesIO(response.content))


def test_downloads_honour_the_filters_and_reopen(site: Site) -> None:
    _many_risks(site, 10)
    browser = site.signed_in("viewer@a.example")
    csv_text = browser.get(f"{A}/risks/export.csv?owner=owner+a").text
    lines = csv_text.strip().splitlines()
    assert lines[0].startswith("Ref,Title,Description,Owner")
    assert len(lines) == 1 + 5 and all("Owner A" in line for line in lines[1:])
    book = _xlsx(browser.get(f"{A}/risks/export.xlsx?q=bulk&sort=-title"))
    sheet = book.active
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:U11"
    assert sheet.column_dimensions["B"].width == 40
    titles = [row[1].value for row in sheet.iter_rows(min_row=2)]
    assert titles == sorted(titles, reverse=True) and len(titles) == 10
    soa = _xlsx(browser.get(f"{A}/soa/export.xlsx?group=technological"))
    refs = [row[0].value for row in soa["Statement of Applicability"].iter_rows(min_row=2)]
    assert refs and all(ref.startswith("A.8.") for ref in refs)
    assert soa["Statement of Applicability"].freeze_panes == "C2"


def test_formulas_typed_into_records_stay_text_in_downloads(site: Site) -> None:
    browser = site.signed_in("admin@a.example")
    browser.post(f"{A}/risks", {"title": '=HYPERLINK("http://x")', "owner": "-2+3"})
    csv_text = browser.get(f"{A}/risks/export.csv").text
    assert "'=HYPERLINK" in csv_text and "'-2+3" in csv_text
    sheet = _xlsx(browser.get(f"{A}/risks/export.xlsx")).active
    cell = next(row[1] for row in sheet.iter_rows(min_row=2) if "HYPERLINK" in str(row[1].value))
    assert cell.data_type == "s"


# --- the demo organisation: every page and every download ------------------------------------


@pytest.fixture
def demo(site: Site) -> Site:
    with site.database.transaction(actor="demo") as session:
        org = load_demo(session)
        admin = session.scalar(select(User).where(User.email == "admin@a.example"))
        auditor = session.scalar(select(User).where(User.email == "auditor@a.example"))
        grant(session, admin, org, "admin")
        grant(session, auditor, org, "auditor")
    return site


DEMO_PAGES = [
    "/",
    "/risks",
    "/risks?sort=-level&per=100&treatment=modify",
    "/risks?overdue=1",
    "/risks/R-0001",
    "/soa",
    "/soa?framework=iso42001-2023&group=A.6&status=implemented",
    "/soa/control/A.8.12",
    "/soa/versions",
    "/assets",
    "/assets/item/Client%20matter%20files",
    "/ai-systems",
    "/context",
    "/catalog",
    "/catalog/iso27001-2022?group=A.8&kind=control",
    "/catalog/iso27001-2022/A.8.12",
    "/catalog/iso27001-2013/A.13.2.1",
    "/catalog/nis2-art21",
    "/audit",
    "/audit?object=risk:R-0001",
    "/audit/verify",
]
DEMO_DOWNLOADS = [
    "/risks/export",
    "/soa/export",
    "/assets/export",
    "/ai-systems/export",
    "/context/scope/export",
    "/context/issues/export",
    "/context/parties/export",
    "/catalog/iso27001-2022/export",
    "/audit/export",
]


def test_every_page_renders_with_the_demo(demo: Site) -> None:
    browser = demo.signed_in("admin@a.example")
    picker = browser.get("/")
    assert picker.status_code == 200 and "Harbour &amp; Vale" in picker.text
    for path in DEMO_PAGES:
        response = browser.get(DEMO + path)
        assert response.status_code == 200, (path, response.text[-500:])
        assert "<main" in response.text
    ai_page = browser.get(f"{DEMO}/ai-systems")
    first = re.search(r'href="(/o/harbour-vale/ai-systems/item/[^"]+)"', ai_page.text).group(1)
    assert browser.get(first).status_code == 200
    verify = browser.get(f"{DEMO}/audit/verify")
    assert "Intact" in verify.text


def test_every_download_works_with_the_demo(demo: Site) -> None:
    browser = demo.signed_in("auditor@a.example")
    for path in DEMO_DOWNLOADS:
        csv_response = browser.get(DEMO + path + ".csv")
        assert csv_response.status_code == 200, path
        assert csv_response.headers["content-type"].startswith("text/csv")
        assert len(csv_response.text.splitlines()) > 1, path
        book = _xlsx(browser.get(DEMO + path + ".xlsx"))
        sheet = book.worksheets[0]
        assert sheet.max_row > 1, path
        assert sheet["A1"].value, path


def test_the_dashboard_shows_heat_maps_as_tables(demo: Site) -> None:
    page = demo.signed_in("auditor@a.example").get(DEMO + "/").text
    assert page.count('<table class="heatmap">') == 2
    assert "Inherent risk" in page and "Residual risk" in page
    assert "Overdue reviews" in page and "ISO/IEC 42001" in page
    assert 'scope="row"' in page and 'scope="col"' in page


# --- writes on the other pages -----------------------------------------------------------------


def test_assets_ai_systems_and_context_forms(site: Site) -> None:
    browser = site.signed_in("editor@a.example")
    added = browser.post(
        f"{A}/assets",
        {"name": "Payroll / HR data", "classification": "confidential", "kind": "information"},
    )
    assert added.status_code == 303
    location = added.headers["location"]
    assert location.startswith(f"{A}/assets/item/Payroll%20%2F%20HR%20data")
    assert browser.get(location).status_code == 200
    bad = browser.post(f"{A}/assets", {"name": "X", "classification": "top-secret"})
    assert bad.status_code == 422 and 'id="add-classification-error"' in bad.text
    changed = browser.post(
        f"{A}/assets/item/Payroll%20%2F%20HR%20data",
        {"name": "Payroll data", "classification": "internal", "owner": "HR"},
    )
    assert changed.status_code == 303
    ai = browser.post(
        f"{A}/ai-systems",
        {"name": "Drafting assistant", "purpose": "Drafts letters", "assets": "Laptop\nServer"},
    )
    assert ai.status_code == 303
    detail = browser.get(ai.headers["location"])
    assert "Laptop" in detail.text and "Server" in detail.text
    missing_purpose = browser.post(f"{A}/ai-systems", {"name": "No purpose"})
    assert missing_purpose.status_code == 422

    assert browser.post(f"{A}/context/statement", {"statement": "All of it."}).status_code == 303
    assert (
        browser.post(
            f"{A}/context/scope", {"kind": "location", "name": "Paris", "in_scope": "0"}
        ).status_code
        == 422
    )
    assert (
        browser.post(
            f"{A}/context/scope",
            {"kind": "location", "name": "Paris", "in_scope": "0", "reason": "Closed"},
        ).status_code
        == 303
    )
    assert (
        browser.post(
            f"{A}/context/issues", {"title": "Clients want ISO", "kind": "external"}
        ).status_code
        == 303
    )
    assert browser.post(f"{A}/context/parties", {"name": "Clients"}).status_code == 303
    page = browser.get(f"{A}/context").text
    assert all(text in page for text in ("All of it.", "Paris", "Clients want ISO", "Clients"))
    assert (
        browser.post(f"{A}/context/issues/remove", {"title": "Clients want ISO"}).status_code == 303
    )
    assert "Clients want ISO" not in browser.get(f"{A}/context").text


def test_the_audit_viewer_filters_and_shows_object_history(site: Site) -> None:
    editor = site.signed_in("editor@a.example")
    editor.post(f"{A}/risks/R-0002", {"description": "Changed for the audit"})
    auditor = site.signed_in("auditor@a.example")
    history = auditor.get(f"{A}/audit?object=risk:R-0002")
    assert history.status_code == 200
    assert "Changed for the audit" in history.text and "editor@a.example" in history.text
    by_actor = auditor.get(f"{A}/audit?actor=editor@a.example")
    assert "Changed for the audit" in by_actor.text
    bad = auditor.get(f"{A}/audit?object=nonsense")
    assert bad.status_code == 422
    other = auditor.get(f"{A}/audit?object=asset:B%20Secret")
    assert "B Secret" not in other.text.split("<tbody>")[1]  # another tenant's event


# --- single sign-on hook -----------------------------------------------------------------------


def test_single_sign_on_buttons_and_routes_when_installed(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = types.ModuleType("annexa.web.oidc")
    fake.router = APIRouter()

    @fake.router.get("/auth/oidc/ping")
    def ping() -> dict[str, str]:
        return {"ok": "yes"}

    fake.oidc_buttons = lambda session, next_url=None: [
        {"label": "Sign in with Acme ID", "url": f"/auth/oidc/x?next={next_url}"}
    ]
    monkeypatch.setitem(sys.modules, "annexa.web.oidc", fake)
    monkeypatch.setattr(annexa.web, "oidc", fake, raising=False)
    app = create_app(db_url)
    try:
        client = TestClient(app)
        page = client.get("/login?next=/o/test-org/soa").text
        assert "Sign in with Acme ID" in page and "/auth/oidc/x?next=/o/test-org/soa" in page
        assert client.get("/auth/oidc/ping").json() == {"ok": "yes"}
    finally:
        app.state.database.dispose()


def test_without_single_sign_on_the_form_stands_alone(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "annexa.web.oidc", None)  # import fails
    monkeypatch.delattr(annexa.web, "oidc", raising=False)
    app = create_app(db_url)
    try:
        page = TestClient(app).get("/login")
        assert page.status_code == 200 and "Or sign in with" not in page.text
    finally:
        app.state.database.dispose()


def test_rated_and_treated_risks_fill_the_heat_maps(site: Site) -> None:
    with site.database.transaction() as session:
        org = _org(session, ORG_A)
        assess(session, org, "R-0002", 5, 4)
        treat(session, org, "R-0002", "retain")
    page = site.signed_in("viewer@a.example").get(f"{A}/").text
    inherent, residual = page.split('<table class="heatmap">')[1:3]
    assert len(re.findall(r'<td class="sev-\d">1<span', inherent)) == 1
    assert len(re.findall(r'<td class="sev-\d">1<span', residual)) == 1
