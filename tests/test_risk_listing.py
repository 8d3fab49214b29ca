"""The risk documents the database keeps (migration 0006) stay current after every write.

Each test changes the register one way (through the services, through plain SQL, in bulk,
with another SQLite build) and then checks that the listing read from the stored documents
is the document the Python code builds from the tables, on both backends.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3

import pytest
from sqlalchemy import insert, select, text

from annexa.assets.service import add_asset, update_asset
from annexa.demo import load_demo
from annexa.orgs import create_organisation
from annexa.risk.register_json import register_json
from annexa.risk.service import add_risk, list_risks, treat
from annexa.store.db import Database
from annexa.store.models import Asset, Organisation, Risk, RiskAsset, RiskControl
from tests.pg_cluster import PostgresCluster


@pytest.fixture
def demo_db(empty_db_url: str) -> Database:
    db = Database(empty_db_url)
    with db.transaction() as session:
        load_demo(session)
    yield db
    db.dispose()


def assert_listing_current(db: Database) -> list[dict]:
    for today in (dt.date.today(), dt.date.today() + dt.timedelta(days=400)):
        with db.reading() as session:
            org = session.scalars(select(Organisation)).one()
            expected = list_risks(session, org, today=today)
            listed = json.loads(b"".join(register_json(session, org.id, today=today)))["risks"]
        assert listed == expected
    return expected


def stored_documents(db: Database) -> list[str | None]:
    with db.reading() as session:
        return list(session.scalars(select(Risk.listing).order_by(Risk.id)))


def linked_asset(db: Database) -> tuple[int, str, str]:
    """A risk id, its ref and the name of one of its assets."""
    with db.reading() as session:
        risk_id, ref, name = session.execute(
            select(Risk.id, Risk.ref, Asset.name)
            .join(RiskAsset, RiskAsset.risk_id == Risk.id)
            .join(Asset, Asset.id == RiskAsset.asset_id)
            .order_by(Risk.id, Asset.name)
            .limit(1)
        ).one()
    return risk_id, ref, name


def risk_of(risks: list[dict], ref: str) -> dict:
    return next(risk for risk in risks if risk["ref"] == ref)


def test_the_migration_renders_every_risk_of_the_demo(demo_db: Database) -> None:
    assert None not in stored_documents(demo_db)
    assert len(assert_listing_current(demo_db)) >= 20


def test_renaming_an_asset_renders_its_risks_again(demo_db: Database) -> None:
    _, ref, name = linked_asset(demo_db)
    with demo_db.transaction() as session:
        org = session.scalars(select(Organisation)).one()
        update_asset(session, org, name, new_name="Zz renamed ünïcode asset")
    risks = assert_listing_current(demo_db)
    assert "Zz renamed ünïcode asset" in risk_of(risks, ref)["assets"]


def test_treating_a_risk_replaces_its_controls_in_the_document(demo_db: Database) -> None:
    _, ref, _ = linked_asset(demo_db)
    with demo_db.transaction() as session:
        org = session.scalars(select(Organisation)).one()
        treat(session, org, ref, "modify", plan="Train staff", controls=["A.6.3", "A.5.10"])
    risks = assert_listing_current(demo_db)
    assert sorted(risk_of(risks, ref)["controls"]) == [
        "iso27001-2022:A.5.10",
        "iso27001-2022:A.6.3",
    ]


def test_a_new_risk_with_quotes_and_no_rating_is_rendered(demo_db: Database) -> None:
    with demo_db.transaction() as session:
        org = session.scalars(select(Organisation)).one()
        add_risk(session, org, title='Unrated "edge" risk — ünïcode\t', description="a\nb\\c")
    assert_listing_current(demo_db)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE risk SET title = 'Retitled by hand', owner = NULL WHERE id = :risk_id",
        "UPDATE risk SET review_date = '2001-02-03' WHERE id = :risk_id",
        "UPDATE risk_control SET ref = 'A.8.1' WHERE risk_id = :risk_id",
        "DELETE FROM risk_control WHERE risk_id = :risk_id",
        "DELETE FROM risk_asset WHERE risk_id = :risk_id",
        # Moves a link to the next risk: both documents change.
        "UPDATE risk_asset SET risk_id = :risk_id + 1 WHERE risk_id = :risk_id",
        "UPDATE asset SET name = 'Renamed by hand ' || id WHERE id IN "
        "(SELECT asset_id FROM risk_asset WHERE risk_id = :risk_id)",
        # The foreign key's cascade removes the links.
        "DELETE FROM asset WHERE id IN (SELECT asset_id FROM risk_asset WHERE risk_id = :risk_id)",
        "DELETE FROM risk WHERE id = :risk_id",
    ],
    ids=lambda statement: statement.split(" WHERE")[0],
)
def test_plain_sql_writes_keep_the_documents_current(demo_db: Database, statement: str) -> None:
    risk_id, _, _ = linked_asset(demo_db)
    if "risk_control SET ref" in statement:
        with demo_db.transaction() as session:  # the risk needs a control to change
            org = session.scalars(select(Organisation)).one()
            ref = session.get(Risk, risk_id).ref
            treat(session, org, ref, "modify", plan="Fix", controls=["A.5.1"])
    before = assert_listing_current(demo_db)
    with demo_db.engine.begin() as connection:
        connection.execute(text(statement), {"risk_id": risk_id})
    assert assert_listing_current(demo_db) != before


def test_links_inserted_in_bulk_are_rendered(demo_db: Database) -> None:
    with demo_db.engine.begin() as connection:
        org_id = connection.execute(select(Risk.org_id).limit(1)).scalar_one()
        risk_ids = list(connection.scalars(select(Risk.id).order_by(Risk.id).limit(5)))
        asset_ids = list(connection.scalars(select(Asset.id).order_by(Asset.id)))
        connection.execute(
            insert(RiskControl),
            [
                {"org_id": org_id, "risk_id": risk_id, "framework": "iso42001-2023", "ref": ref}
                for risk_id in risk_ids
                for ref in ("A.2.2", "A.6.2.4")
            ],
        )
        connection.execute(
            text("DELETE FROM risk_asset WHERE risk_id IN (:a, :b)"),
            {"a": risk_ids[0], "b": risk_ids[1]},
        )
        connection.execute(
            insert(RiskAsset),
            [
                {"risk_id": risk_id, "asset_id": asset_id}
                for risk_id in risk_ids[:2]
                for asset_id in asset_ids[-3:]
            ],
        )
    risks = assert_listing_current(demo_db)
    assert all(len(risk["assets"]) == 3 for risk in risks[:2])
    assert all("iso42001-2023:A.6.2.4" in risk["controls"] for risk in risks[:5])


def test_a_row_without_its_document_is_still_listed(demo_db: Database) -> None:
    # On SQLite nothing renders a document cleared by hand; the listing then builds the
    # register itself. On PostgreSQL the risk's trigger renders it again.
    with demo_db.engine.begin() as connection:
        connection.execute(text("UPDATE risk SET listing = NULL WHERE id IN (1, 2)"))
    assert_listing_current(demo_db)


def test_an_older_sqlite_can_still_open_and_write_the_database(
    demo_db: Database, empty_db_url: str
) -> None:
    # The triggers must parse on SQLite builds older than the one Annexa ships, or a
    # distribution's sqlite3 shell could not even open the file.
    if not empty_db_url.startswith("sqlite"):
        pytest.skip("SQLite only")
    risk_id, ref, name = linked_asset(demo_db)
    with sqlite3.connect(demo_db.sqlite_file) as connection:
        connection.execute("PRAGMA foreign_keys = ON")
        connection.execute(
            "UPDATE asset SET name = 'Renamed by an old SQLite' WHERE name = ?", (name,)
        )
        connection.execute(
            "INSERT INTO risk_control (org_id, risk_id, framework, ref) "
            "SELECT org_id, id, 'iso27001-2022', 'A.8.24' FROM risk WHERE id = ?",
            (risk_id,),
        )
    risks = assert_listing_current(demo_db)
    assert "Renamed by an old SQLite" in risk_of(risks, ref)["assets"]
    assert "iso27001-2022:A.8.24" in risk_of(risks, ref)["controls"]


def test_the_migration_downgrades_and_upgrades_again(demo_db: Database) -> None:
    from alembic import command

    command.downgrade(demo_db._alembic_config(), "0005")
    with demo_db.engine.connect() as connection:
        columns = (
            [
                row[0]
                for row in connection.execute(
                    select(text("column_name"))
                    .select_from(text("information_schema.columns"))
                    .where(text("table_name = 'risk'"))
                )
            ]
            if demo_db.sqlite_file is None
            else [row[1] for row in connection.execute(text("PRAGMA table_info(risk)"))]
        )
    assert "listing" not in columns
    with demo_db.engine.begin() as connection:  # no trigger left behind to fail a write
        connection.execute(text("UPDATE asset SET name = name || ' (old schema)'"))
        connection.execute(text("DELETE FROM risk_control"))
    demo_db.upgrade()
    risks = assert_listing_current(demo_db)
    assert all(risk["controls"] == [] for risk in risks)


def test_asset_names_sort_by_code_point_in_a_postgresql_database_with_a_linguistic_locale(
    pg_cluster: PostgresCluster,
) -> None:
    # PostgreSQL sorts text by the database's collation; Python (and SQLite) by code
    # point. In an English ICU locale "apple" sorts before "Banana": the documents must
    # still list the names as the Python register does.
    url = pg_cluster.create_database(
        "listing_icu_en",
        template="template0",
        options="LOCALE_PROVIDER icu ICU_LOCALE 'en' LOCALE 'C.UTF-8'",
    )
    db = Database(url)
    try:
        db.upgrade()
        names = ["apple", "Banana", "Zebra", "éclair"]
        with db.transaction() as session:
            org = create_organisation(session, "ICU Test Ltd")
            for name in names:
                add_asset(session, org, name, classification="internal")
            add_risk(session, org, title="Sorted names", asset_names=names)
        with db.engine.connect() as connection:
            ordered = connection.execute(text("SELECT name FROM asset ORDER BY name")).scalars()
            assert list(ordered) != sorted(names)  # the locale does sort differently
        risks = assert_listing_current(db)
        assert risks[0]["assets"] == sorted(names) == ["Banana", "Zebra", "apple", "éclair"]
    finally:
        db.dispose()
