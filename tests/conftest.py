"""Fixtures: every store-touching test runs on SQLite and on a real PostgreSQL 15."""

from __future__ import annotations

import functools
import itertools
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import typer.testing
from typer.testing import CliRunner, Result

from annexa.cli.main import app
from annexa.guard.compiled import stale
from annexa.orgs import create_organisation
from annexa.store.db import Database
from tests.pg_cluster import PostgresCluster

# Building the Typer command tree costs ~0.3 s; the suite invokes the CLI hundreds of times,
# so build it once per app (typer.testing looks the builder up at module level).
typer.testing._get_command = functools.cache(typer.testing._get_command)


def pytest_configure(config: pytest.Config) -> None:
    """Never test a compiled guard older than its sources (an edit after the build)."""
    if old := stale():
        pytest.exit(
            f"compiled {', '.join(old)} older than the source: rebuild with "
            "`.venv/bin/python -m pip install -e .` (or ANNEXA_PURE_PYTHON=1 for plain Python)",
            returncode=2,
        )


BACKENDS = ["sqlite", "postgresql"]
TEMPLATE_DB = "annexa_template"
_counter = itertools.count()


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PostgresCluster]:
    cluster = PostgresCluster().start()
    try:
        yield cluster
    finally:
        cluster.stop()


def _seed(url: str, with_org: bool) -> None:
    db = Database(url)
    db.upgrade()
    if with_org:
        with db.transaction() as session:
            create_organisation(session, "Test Org", slug="test-org")
    db.dispose()


@pytest.fixture(scope="session")
def sqlite_templates(tmp_path_factory: pytest.TempPathFactory) -> dict[bool, Path]:
    folder = tmp_path_factory.mktemp("templates")
    templates = {}
    for with_org in (False, True):
        path = folder / f"template-{int(with_org)}.db"
        _seed(f"sqlite:///{path}", with_org)
        templates[with_org] = path
    return templates


@pytest.fixture(scope="session")
def pg_templates(pg_cluster: PostgresCluster) -> dict[bool, str]:
    names = {}
    for with_org in (False, True):
        name = f"{TEMPLATE_DB}_{int(with_org)}"
        _seed(pg_cluster.create_database(name), with_org)
        names[with_org] = name
    return names


def _fresh_database(request: pytest.FixtureRequest, tmp_path: Path, with_org: bool) -> str:
    backend = request.param
    if backend == "sqlite":
        templates = request.getfixturevalue("sqlite_templates")
        path = tmp_path / "annexa.db"
        shutil.copyfile(templates[with_org], path)
        return f"sqlite:///{path}"
    cluster: PostgresCluster = request.getfixturevalue("pg_cluster")
    template = request.getfixturevalue("pg_templates")[with_org]
    return cluster.create_database(f"test_{next(_counter)}", template=template)


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated database holding one organisation, slug ``test-org``."""
    return _fresh_database(request, tmp_path, with_org=True)


@pytest.fixture(params=BACKENDS)
def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated database with no organisation."""
    return _fresh_database(request, tmp_path, with_org=False)


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = Database(db_url)
    yield database
    database.dispose()


CliCall = Callable[..., Result]


@pytest.fixture
def cli(db_url: str) -> CliCall:
    """Run the CLI against ``db_url``: ``cli("risk", "list", "--json")``."""
    return make_cli(db_url)


def make_cli(url: str | None) -> CliCall:
    runner = CliRunner()

    def call(*args: str, input: str | None = None) -> Result:
        prefix = ["--db", url] if url else []
        return runner.invoke(app, [*prefix, *args], input=input, catch_exceptions=False)

    return call


@pytest.fixture(autouse=True, scope="session")
def _catalog_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The validated-catalog cache of this run, never the user's own (~/.cache/annexa)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ANNEXA_CACHE_DIR", str(tmp_path_factory.mktemp("annexa-cache")))
        yield


@pytest.fixture(autouse=True)
def _audit_key_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test's audit signing key lives in its own folder, never in the working tree."""
    monkeypatch.setenv("ANNEXA_AUDIT_KEY_FILE", str(tmp_path / "audit.key"))
    monkeypatch.delenv("ANNEXA_AUDIT_KEY", raising=False)
    monkeypatch.delenv("ANNEXA_AUDIT_KEY_NAME", raising=False)
    # A known actor, so tests can check who the audit log and SoA say made a change.
    monkeypatch.setenv("ANNEXA_ACTOR", "cli:tester")
