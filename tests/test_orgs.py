"""Choosing the organisation a command works on: by slug, name or id, else the only one."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from annexa.errors import InvalidInput, NotFound
from annexa.orgs import create_organisation, organisation_id, resolve_organisation
from annexa.store.db import Database


@pytest.fixture
def two_orgs(empty_db_url: str) -> Database:
    db = Database(empty_db_url)
    with db.transaction() as session:
        create_organisation(session, "Acme Legal", slug="acme")
        create_organisation(session, "Beta Works", slug="beta")
    return db


def _both(db: Database, wanted: str | None) -> tuple[int, int]:
    with db.reading() as session:
        return organisation_id(session, wanted), resolve_organisation(session, wanted).id


def test_an_organisation_is_found_by_slug_name_or_id(two_orgs: Database) -> None:
    acme, _ = _both(two_orgs, "acme")
    beta, _ = _both(two_orgs, "beta")
    assert acme != beta
    for wanted, expected in [
        ("acme", acme),
        ("Acme Legal", acme),
        (str(beta), beta),
        ("Beta Works", beta),
    ]:
        assert _both(two_orgs, wanted) == (expected, expected)


@pytest.mark.parametrize("wanted", ["nobody", "999", "²", "Acme"])
def test_an_unknown_organisation_names_the_option(two_orgs: Database, wanted: str) -> None:
    with two_orgs.reading() as session:
        for find in (organisation_id, resolve_organisation):
            with pytest.raises(NotFound) as caught:
                find(session, wanted)
            assert caught.value.field == "--org"
            assert repr(wanted) in str(caught.value)


def test_without_org_the_only_organisation_is_chosen(db_url: str) -> None:
    db = Database(db_url)
    only, loaded = _both(db, None)
    assert only == loaded
    with db.reading() as session:
        assert resolve_organisation(session, "").slug == "test-org"


def test_without_org_several_organisations_are_refused(two_orgs: Database) -> None:
    with two_orgs.reading() as session:
        for find in (organisation_id, resolve_organisation):
            with pytest.raises(InvalidInput, match="holds 2 organisations") as caught:
                find(session, None)
            assert caught.value.field == "--org"


def test_without_org_an_empty_database_says_how_to_add_one(empty_db_url: str) -> None:
    with (
        Database(empty_db_url).reading() as session,
        pytest.raises(NotFound, match="no organisation yet"),
    ):
        organisation_id(session, None)


# The read-only reports are read with Core from the tables and plain rows, so
# `risk list --json`, `soa show` and `status` never import the ORM (nor build its
# mappings): a sixth of such a command's time.
PROBE = """
import io, json, sys
from contextlib import redirect_stdout
from annexa.cli.entry import load_cli
sink = io.StringIO()
with redirect_stdout(sink):
    try:
        load_cli()(["--db", *sys.argv[1:]])
    except SystemExit as exc:
        assert not exc.code, exc.code
loaded = sorted(m for m in ("sqlalchemy.orm", "annexa.store.models") if m in sys.modules)
print(json.dumps({"loaded": loaded, "out": sink.getvalue()}))
"""
REPORTS = {
    "risk list": (["risk", "list", "--json"], lambda out: [r["title"] for r in out["risks"]]),
    "soa show": (["soa", "show", "--json"], lambda out: out["summary"]["applicable"]),
    "status": (["status", "--json"], lambda out: out["counts"]["risks"]),
}


@pytest.mark.parametrize("options", [[], ["--org", "test-org"]], ids=["only", "named"])
@pytest.mark.parametrize("report", list(REPORTS))
def test_read_only_reports_never_import_the_orm(
    db_url: str, cli, options: list[str], report: str
) -> None:
    added = cli("risk", "add", "Prompt leakage", "--likelihood", "3", "--impact", "4", "--json")
    assert added.exit_code == 0, added.output
    treated = cli("risk", "treat", "R-0001", "--option", "modify", "--control", "A.8.12")
    assert treated.exit_code == 0, treated.output
    command, read = REPORTS[report]
    done = subprocess.run(
        [sys.executable, "-c", PROBE, db_url, *options, *command], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    probed = json.loads(done.stdout)
    assert probed["loaded"] == []
    expected = _ok(cli(*options, *command))
    assert probed["out"] and json.loads(probed["out"]) == expected
    assert read(expected) == {"risk list": ["Prompt leakage"], "soa show": 1, "status": 1}[report]


def _ok(result) -> dict:  # type: ignore[no-untyped-def]
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)
