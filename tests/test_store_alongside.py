"""Secondary reads on a second connection that shares the reader's snapshot (PostgreSQL),
or on the reader's own connection (everywhere else): the same rows either way."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from annexa.risk import add_risk, list_risks, treat
from annexa.store import alongside
from annexa.store.db import Database
from annexa.store.models import Organisation


@pytest.fixture
def side_runs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The snapshot ids the second connection was started with."""
    started: list[str] = []
    run = alongside._SideFetch._run

    def spy(self: alongside._SideFetch, snapshot: str) -> None:
        started.append(snapshot)
        run(self, snapshot)

    monkeypatch.setattr(alongside._SideFetch, "_run", spy)
    return started


def _treated_risk(db: Database) -> None:
    with db.transaction() as session:
        org = session.scalars(select(Organisation)).one()
        add_risk(session, org, title="Prompts reach an unvetted model", likelihood=4, impact=4)
        treat(session, org, "R-0001", "modify", controls=["A.5.19", "A.8.12"])


def _controls(risks: list[dict]) -> dict[str, list[str]]:
    return {risk["ref"]: risk["controls"] for risk in risks}


def test_links_read_alongside_come_from_the_readers_snapshot(
    db: Database, side_runs: list[str]
) -> None:
    _treated_risk(db)
    with db.reading() as session:
        org = session.scalars(select(Organisation)).one()  # the snapshot is taken here
        with db.transaction() as writer:
            other = writer.scalars(select(Organisation)).one()
            treat(writer, other, "R-0001", "modify", controls=["A.8.11"])
            add_risk(writer, other, title="Written meanwhile", likelihood=2, impact=2)
        seen = _controls(list_risks(session, org))
    assert seen == {
        "R-0001": ["iso27001-2022:A.5.19", "iso27001-2022:A.8.12"],
    }
    # The second connection is used where it can share the snapshot, and only there.
    assert len(side_runs) == (1 if db.dialect == "postgresql" else 0)
    with db.reading() as session:
        org = session.scalars(select(Organisation)).one()
        now = _controls(list_risks(session, org))
    assert now == {"R-0001": ["iso27001-2022:A.8.11"], "R-0002": []}


def test_a_transaction_that_has_written_reads_its_own_links(
    db: Database, side_runs: list[str]
) -> None:
    """A second connection cannot see uncommitted rows, so a transaction that has written
    reads its links itself, even at REPEATABLE READ."""
    _treated_risk(db)
    with db.transaction() as session:
        if db.dialect == "postgresql":
            session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        org = session.scalars(select(Organisation)).one()
        treat(session, org, "R-0001", "modify", controls=["A.5.23"])
        session.flush()
        seen = _controls(list_risks(session, org))
        session.rollback()
    assert seen == {"R-0001": ["iso27001-2022:A.5.23"]}
    assert side_runs == []


@pytest.mark.parametrize(
    "failure, raised",
    [
        (OperationalError("connect", {}, Exception("too many clients already")), None),
        (RuntimeError("a bug in the side fetch"), RuntimeError),
    ],
)
def test_a_failed_second_connection_falls_back_unless_it_is_a_bug(
    db: Database, monkeypatch: pytest.MonkeyPatch, failure: Exception, raised: type | None
) -> None:
    if db.dialect != "postgresql":
        pytest.skip("only PostgreSQL reads on a second connection")
    _treated_risk(db)

    def fail(self: alongside._SideFetch, snapshot: str) -> None:
        self._error = failure

    monkeypatch.setattr(alongside._SideFetch, "_run", fail)
    with db.reading() as session:
        org = session.scalars(select(Organisation)).one()
        if raised is not None:
            with pytest.raises(raised):
                list_risks(session, org)
            return
        seen = _controls(list_risks(session, org))
    assert seen == {"R-0001": ["iso27001-2022:A.5.19", "iso27001-2022:A.8.12"]}
