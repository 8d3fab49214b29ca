"""Browser tests: the app served by uvicorn on loopback, driven by Debian's Chromium.

Playwright launches the system browser (``/usr/bin/chromium``, from the ``chromium``
package that scripts/test.sh installs); it never downloads one. The tests are skipped,
loudly, only when no Chromium can be found at all.

The server runs once per backend, like the rest of the suite: over SQLite and over a
database in the suite's throwaway PostgreSQL cluster (``pg_cluster``).
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from annexa.accounts import create_user, grant
from annexa.accounts import service as accounts_service
from annexa.audit.keys import load_signer
from annexa.demo import load_demo
from annexa.store.db import Database
from annexa.store.models import Organisation
from tests.conftest import BACKENDS
from tests.pg_cluster import PostgresCluster

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "browser test passphrase"
ADMIN = "admin@harbour-vale.example"
AUDITOR = "auditor@harbour-vale.example"
ORG = "harbour-vale"


def chromium_path() -> str | None:
    for candidate in (os.environ.get("ANNEXA_CHROMIUM"), "/usr/bin/chromium"):
        if candidate and Path(candidate).is_file():
            return candidate
    return shutil.which("chromium") or shutil.which("chromium-browser")


@dataclass
class Server:
    base: str
    database: Database
    url: str


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# What a browser adds over tests/test_web.py (scripts, CSP, htmx swaps) does not depend on
# the database; the full flow runs on both backends, the other tests on SQLite only.
SQLITE_ONLY = pytest.mark.parametrize("server", ["sqlite"], indirect=True)


def _database_url(request: pytest.FixtureRequest, folder: Path) -> str:
    """An empty database on the backend the test asks for."""
    if request.param == "sqlite":
        return f"sqlite:///{folder / 'annexa.db'}"
    cluster: PostgresCluster = request.getfixturevalue("pg_cluster")
    return cluster.create_database(f"e2e_{folder.name.replace('-', '_')}")


@pytest.fixture(scope="module", params=BACKENDS)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """A demo ISMS with an admin and an auditor, served on a free loopback port."""
    import uvicorn

    from annexa.api.app import create_app

    folder = tmp_path_factory.mktemp("e2e")
    url = _database_url(request, folder)
    # Patched only while setting up: the rest of the suite keeps its own environment.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ANNEXA_AUDIT_KEY_FILE", str(folder / "audit.key"))
        cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
        patch.setattr(accounts_service, "_hasher", cheap)
        load_signer(None, create=True)
        database = Database(url)
        database.upgrade()
        with database.transaction(actor="e2e-setup") as session:
            load_demo(session)
            org = session.scalar(select(Organisation).where(Organisation.slug == ORG))
            for email, name, role in (
                (ADMIN, "Ada Admin", "admin"),
                (AUDITOR, "Otto Auditor", "auditor"),
            ):
                grant(session, create_user(session, email, name, PASSWORD), org, role)
        database.dispose()
        app = create_app(url)  # loads the signing key while the variable points at it

    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    uvicorn_server = uvicorn.Server(config)
    thread = threading.Thread(target=uvicorn_server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not uvicorn_server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    try:
        yield Server(f"http://127.0.0.1:{port}", app.state.database, url)
    finally:
        uvicorn_server.should_exit = True
        thread.join(timeout=10)
        app.state.database.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    path = chromium_path()
    if path is None:
        reason = (
            "NO CHROMIUM FOUND: the browser tests did not run. Install Debian's `chromium` "
            "and `chromium-driver` (scripts/test.sh does) or set ANNEXA_CHROMIUM."
        )
        warnings.warn(reason, stacklevel=1)
        pytest.skip(reason)
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=path, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            launched.close()


class Visit:
    """One browser context (its own cookies), with console errors collected."""

    def __init__(self, browser: Any, server: Server, **options: Any):
        self.server = server
        self.context = browser.new_context(accept_downloads=True, **options)
        self.context.set_default_timeout(15_000)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))

    def _console(self, message: Any) -> None:
        # A refused form answers 422 by design (the error is shown next to its field);
        # anything else logged as an error (a CSP violation, a failing script, a missing
        # file) fails the test.
        if message.type == "error" and "status of 422" not in message.text:
            self.errors.append(message.text)

    def url(self, path: str) -> str:
        return self.server.base + path

    def goto(self, path: str) -> Any:
        return self.page.goto(self.url(path))

    def sign_in(self, email: str, password: str = PASSWORD) -> None:
        self.goto("/login")
        self.page.get_by_label("E-mail address").fill(email)
        self.page.get_by_label("Password").fill(password)
        self.page.get_by_role("button", name="Sign in").click()
        self.page.wait_for_url(self.url(f"/o/{ORG}/"))

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def visit(browser: Any, server: Server) -> Iterator[Any]:
    opened: list[Visit] = []

    def open_visit(**options: Any) -> Visit:
        opened.append(Visit(browser, server, **options))
        return opened[-1]

    yield open_visit
    for one in opened:
        one.close()
