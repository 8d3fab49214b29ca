"""The store: migrations, idempotent init, organisation selection, transactions."""

from __future__ import annotations

import json

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, select

from annexa.errors import Conflict
from annexa.orgs import create_organisation
from annexa.store.db import Database
from annexa.store.models import Base, Organisation
from annexa.store.tables import organisation
from tests.conftest import BACKENDS, make_cli


def test_migrations_match_models(db: Database) -> None:
    with db.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []


def test_init_is_idempotent(db_url: str) -> None:
    cli = make_cli(db_url)
    first = cli("init", "--json")
    second = cli("init", "--json")
    assert first.exit_code == 0, first.output
    assert second.exit_code == 0, second.output
    assert json.loads(first.stdout)["revision"] == json.loads(second.stdout)["revision"]
    with Database(db_url).reading() as session:
        assert session.scalars(select(Organisation.slug)).all() == ["test-org"]


def test_init_creates_fresh_sqlite_file(tmp_path) -> None:
    url = f"sqlite:///{tmp_path}/new.db"
    result = make_cli(url)("init", "--org-name", "Acme Legal", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["organisation"] == "acme-legal"
    orgs = make_cli(url)("org", "list", "--json")
    assert [o["slug"] for o in json.loads(orgs.stdout)["organisations"]] == ["acme-legal"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_uninitialised_database_is_refused(backend: str, request, tmp_path) -> None:  # type: ignore[no-untyped-def]
    if backend == "postgresql":
        url = request.getfixturevalue("pg_cluster").create_database(f"bare_{tmp_path.name}")
    else:
        url = f"sqlite:///{tmp_path}/none.db"
    assert Database(url).current_revision() is None
    result = make_cli(url)("org", "list")
    assert result.exit_code == 2
    assert "annexa init" in result.stderr
    assert make_cli(url)("init", "--json").exit_code == 0
    assert Database(url).current_revision() == Database(url).head_revision()


def test_unopenable_database_names_the_option(tmp_path) -> None:
    result = make_cli(f"sqlite:///{tmp_path}/missing/folder/x.db")("init")
    assert result.exit_code == 2
    assert "--db" in result.stderr


def test_unsupported_url_is_refused() -> None:
    result = make_cli("mysql://localhost/x")("init")
    assert result.exit_code == 2
    assert "--db" in result.stderr


def test_org_selection(db_url: str) -> None:
    cli = make_cli(db_url)
    assert cli("org", "add", "Second Firm").exit_code == 0
    ambiguous = cli("org", "list")
    assert ambiguous.exit_code == 0  # listing needs no organisation
    duplicate = cli("org", "add", "Second Firm")
    assert duplicate.exit_code == 2
    assert "name" in duplicate.stderr


def test_failed_transaction_writes_nothing(db: Database) -> None:
    with pytest.raises(Conflict), db.transaction() as session:
        create_organisation(session, "Brand New")
        create_organisation(session, "Test Org")  # clashes: the whole unit rolls back
    with db.reading() as session:
        assert session.scalar(select(Organisation).where(Organisation.name == "Brand New")) is None


def test_head_revision_agrees_with_alembic(db: Database) -> None:
    from alembic.script import ScriptDirectory

    from annexa.store.db import head_revision

    script = ScriptDirectory.from_config(db._alembic_config())
    assert script.get_heads() == [head_revision()]
    assert db.current_revision() == head_revision()


def test_cli_actor_names_the_person(monkeypatch: pytest.MonkeyPatch) -> None:
    import getpass

    from annexa.cli.common import cli_actor

    monkeypatch.delenv("ANNEXA_ACTOR", raising=False)
    assert cli_actor() == f"cli:{getpass.getuser()}"
    monkeypatch.setenv("ANNEXA_ACTOR", "alice@firm.example")
    assert cli_actor() == "alice@firm.example"


def test_text_with_nul_characters_is_refused_on_every_backend(db: Database) -> None:
    from annexa.assets import add_asset
    from annexa.errors import InvalidInput
    from annexa.store.models import Asset

    with pytest.raises(InvalidInput) as refused, db.transaction(actor="tester") as session:
        org = session.scalars(select(Organisation)).one()
        add_asset(session, org, "Lap\x00top", classification="internal")
    assert refused.value.field == "name"
    with db.reading() as session:
        assert session.scalar(select(func.count()).select_from(Asset)) == 0


def test_a_reading_session_sees_one_snapshot(db: Database) -> None:
    """Every query of a reading session sees the database as it was at its first read,
    however many writes commit meanwhile (a report of many queries never mixes states)."""
    with db.reading() as session:
        before = session.scalars(select(Organisation.slug).order_by(Organisation.slug)).all()
        with db.transaction() as writer:
            create_organisation(writer, "Written Meanwhile")
        during = session.scalars(select(Organisation.slug).order_by(Organisation.slug)).all()
        assert during == before
    with db.reading() as session:
        after = session.scalars(select(Organisation.slug).order_by(Organisation.slug)).all()
    assert after == sorted([*before, "written-meanwhile"])


def test_a_snapshot_connection_sees_one_snapshot_and_writes_nothing(db: Database) -> None:
    """``Database.snapshot`` (the Core reads of ``risk list --json``, ``soa show`` and
    ``status``) keeps the same promise as a reading session, and rolls back what it did."""
    slugs = select(organisation.c.slug).order_by(organisation.c.slug)
    with db.snapshot() as connection:
        before = connection.scalars(slugs).all()
        with db.transaction() as writer:
            create_organisation(writer, "Written Meanwhile")
        assert connection.scalars(slugs).all() == before
    with db.snapshot() as connection:
        assert connection.scalars(slugs).all() == sorted([*before, "written-meanwhile"])
        connection.execute(organisation.update().values(sector="Changed by a reader"))
    with db.snapshot() as connection:
        sectors = connection.scalars(select(organisation.c.sector)).all()
    assert "Changed by a reader" not in sectors


def test_postgresql_sessions_run_without_jit_and_keep_the_urls_options(request, tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = request.getfixturevalue("pg_cluster").create_database(f"opts_{tmp_path.name}")
    for query, timeout in (("", "0"), ("?options=-c%20statement_timeout%3D5000", "5s")):
        db = Database(url + query)
        with db.engine.connect() as connection:
            assert connection.exec_driver_sql("SHOW jit").scalar() == "off"
            assert connection.exec_driver_sql("SHOW statement_timeout").scalar() == timeout
        db.dispose()
