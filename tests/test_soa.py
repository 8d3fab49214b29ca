"""The Statement of Applicability: decisions, risk links, versions and diffs (CLI and service)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from annexa.errors import Conflict, InvalidInput, NotFound
from annexa.soa import (
    diff,
    get_version,
    list_versions,
    publish,
    record_treatment_controls,
    set_decision,
    soa_entries,
)
from annexa.soa.entries import linked_risks
from annexa.store.db import Database
from annexa.store.models import Organisation, Risk, RiskControl, SoaEntry, SoaVersion

F27 = "iso27001-2022"
F42 = "iso42001-2023"


def _org_id(db: Database) -> int:
    with db.reading() as session:
        return session.scalars(select(Organisation.id)).one()


def _add_risk(db: Database, ref: str, controls: list[str], framework: str = F27) -> None:
    """A risk whose treatment plan links ``controls``, written straight through the ORM."""
    org_id = _org_id(db)
    with db.transaction() as session:
        risk = Risk(org_id=org_id, ref=ref, title=f"Risk {ref}", framework=framework)
        risk.controls = [RiskControl(org_id=org_id, framework=framework, ref=c) for c in controls]
        session.add(risk)


def _show(cli, *args: str) -> dict:
    result = cli("soa", "show", *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _entry(document: dict, ref: str) -> dict:
    return next(e for e in document["entries"] if e["ref"] == ref)


def _decide_all(db: Database, framework: str = F27) -> None:
    org_id = _org_id(db)
    with db.transaction() as session:
        for entry in soa_entries(session, org_id, framework):
            set_decision(
                session,
                org_id,
                framework,
                entry["ref"],
                applicable=True,
                justification="Needed by the ISMS",
                actor="tester",
            )


# --- show ------------------------------------------------------------------------------


def test_show_lists_every_27001_control_undecided(cli) -> None:
    document = _show(cli)
    assert document["framework"] == F27
    assert document["organisation"] == "Test Org"
    assert document["version"] is None
    entries = document["entries"]
    assert len(entries) == 93
    assert entries[0]["ref"] == "A.5.1"
    assert entries[0]["title"] == "Policies for information security"
    assert {e["group"] for e in entries} == {
        "organizational",
        "people",
        "physical",
        "technological",
    }
    assert sum(e["group"] == "technological" for e in entries) == 34
    assert all(e["applicable"] is None and e["risks"] == [] for e in entries)
    assert document["summary"] == {
        "controls": 93,
        "applicable": 0,
        "excluded": 0,
        "undecided": 93,
        "implemented": 0,
    }


def test_show_lists_every_42001_control(cli) -> None:
    document = _show(cli, "--framework", F42)
    assert document["framework"] == F42
    assert len(document["entries"]) == 38
    assert _entry(document, "A.6.2.8")["title"]
    assert document["summary"]["controls"] == 38


def test_show_filters_by_theme_and_status(cli) -> None:
    assert cli("soa", "set", "A.8.5", "--applicable", "--reason", "legal").exit_code == 0
    assert cli("soa", "set", "A.8.5", "--status", "implemented").exit_code == 0
    technological = _show(cli, "--group", "technological")
    assert len(technological["entries"]) == 34
    implemented = _show(cli, "--status", "implemented")
    assert [e["ref"] for e in implemented["entries"]] == ["A.8.5"]
    assert implemented["summary"]["implemented"] == 1
    bad = cli("soa", "show", "--group", "spaceships")
    assert bad.exit_code == 2
    assert "--group" in bad.stderr


def test_human_show_prints_table_and_summary(cli) -> None:
    result = cli("soa", "show")
    assert result.exit_code == 0, result.output
    assert "A.8.12" in result.stdout
    assert "93 controls" in result.stdout


@pytest.mark.parametrize("command", [["show"], ["versions"], ["publish"], ["set", "A.5.1"]])
def test_unknown_framework_is_refused(cli, command: list[str]) -> None:
    result = cli("soa", *command, "--framework", "iso27001-2013")
    assert result.exit_code == 2
    assert "--framework" in result.stderr


def test_unknown_ref_is_refused(cli) -> None:
    result = cli("soa", "set", "A.9.9", "--applicable", "--justification", "x")
    assert result.exit_code == 2
    assert "A.9.9" in result.stderr
    # 42001 refs do not exist in 27001 (namespaced catalogs)
    assert cli("soa", "set", "A.6.2.8", "--applicable", "--reason", "legal").exit_code == 2


# --- deciding --------------------------------------------------------------------------


def test_exclusion_without_justification_is_refused_and_writes_nothing(cli, db) -> None:
    result = cli("soa", "set", "A.7.1", "--not-applicable")
    assert result.exit_code == 2
    assert "justification" in result.stderr
    assert "--justification" in result.stderr
    blank = cli("soa", "set", "A.7.1", "--not-applicable", "--justification", "   ")
    assert blank.exit_code == 2
    with db.reading() as session:
        assert session.scalar(select(func.count()).select_from(SoaEntry)) == 0


def test_exclusion_with_justification_is_recorded(cli) -> None:
    result = cli(
        "soa",
        "set",
        "A.7.1",
        "--not-applicable",
        "--justification",
        "Fully remote company; no offices",
        "--json",
    )
    assert result.exit_code == 0, result.output
    entry = json.loads(result.stdout)
    assert entry["applicable"] is False
    assert entry["status"] == "not_applicable"
    assert entry["decided_by"] == "cli:tester"
    assert entry["decided_at"]
    shown = _entry(_show(cli), "A.7.1")
    assert shown["justification"] == "Fully remote company; no offices"
    assert shown["applicable"] is False
    assert shown["reasons"] == []


def test_inclusion_needs_a_reason_or_justification(db) -> None:
    org_id = _org_id(db)
    with pytest.raises(InvalidInput) as caught, db.transaction() as session:
        set_decision(session, org_id, F27, "A.5.7", applicable=True, actor="tester")
    assert caught.value.field == "--justification"
    with db.transaction() as session:
        entry = set_decision(
            session, org_id, F27, "5.7", applicable=True, justification="Threat feeds", actor="me"
        )
    assert entry["ref"] == "A.5.7"  # "5.7" means the Annex A control in an SoA
    assert entry["reasons"] == ["business"]
    assert entry["decided_by"] == "me"
    with db.transaction() as session:
        entry = set_decision(
            session, org_id, F27, "A.5.7", applicable=True, reasons=["contractual"], actor="me"
        )
    assert entry["reasons"] == ["contractual", "business"]
    assert entry["justification"] == "Threat feeds"


def test_cli_set_applicable_with_reasons_status_and_owner(cli) -> None:
    result = cli(
        "soa",
        "set",
        "A.5.31",
        "--applicable",
        "--reason",
        "legal",
        "--reason",
        "contractual",
        "--status",
        "partial",
        "--owner",
        "Legal team",
        "--json",
    )
    assert result.exit_code == 0, result.output
    entry = json.loads(result.stdout)
    assert entry["reasons"] == ["legal", "contractual"]
    assert (entry["status"], entry["owner"]) == ("partial", "Legal team")
    # status alone updates status and keeps the rest
    assert cli("soa", "set", "A.5.31", "--status", "implemented").exit_code == 0
    shown = _entry(_show(cli), "A.5.31")
    assert shown["status"] == "implemented"
    assert shown["reasons"] == ["legal", "contractual"]
    assert shown["owner"] == "Legal team"
    bad = cli("soa", "set", "A.5.31", "--status", "done")
    assert bad.exit_code == 2
    assert "--status" in bad.stderr
    bad_reason = cli("soa", "set", "A.5.31", "--applicable", "--reason", "vibes")
    assert bad_reason.exit_code == 2
    assert "--reason" in bad_reason.stderr


def test_excluded_control_has_no_status(cli) -> None:
    assert (
        cli("soa", "set", "A.7.4", "--not-applicable", "--justification", "No sites").exit_code == 0
    )
    result = cli("soa", "set", "A.7.4", "--status", "implemented")
    assert result.exit_code == 2
    assert "--status" in result.stderr
    assert "--applicable" in result.stderr


def test_reincluding_drops_the_exclusion_justification(cli) -> None:
    assert (
        cli("soa", "set", "A.7.4", "--not-applicable", "--justification", "No sites").exit_code == 0
    )
    result = cli("soa", "set", "A.7.4", "--applicable", "--reason", "contractual", "--json")
    assert result.exit_code == 0, result.output
    entry = json.loads(result.stdout)
    assert entry["applicable"] is True
    assert entry["justification"] is None
    assert entry["status"] == "not_started"


def test_set_with_nothing_to_change_is_refused(cli) -> None:
    result = cli("soa", "set", "A.5.1")
    assert result.exit_code == 2
    assert "nothing to change" in result.stderr


# --- risk treatment links ---------------------------------------------------------------


def test_linked_risks_are_shown_and_make_the_control_applicable(cli, db) -> None:
    _add_risk(db, "R-0002", ["A.8.12", "A.5.15"])
    _add_risk(db, "R-0001", ["A.8.12"])
    _add_risk(db, "R-0003", ["A.6.2.8"], framework=F42)  # same table, other framework
    document = _show(cli)
    dlp = _entry(document, "A.8.12")
    assert dlp["risks"] == ["R-0001", "R-0002"]
    assert dlp["applicable"] is True
    assert dlp["reasons"] == ["risk_treatment"]
    assert _entry(document, "A.5.15")["risks"] == ["R-0002"]
    assert _entry(_show(cli, "--framework", F42), "A.6.2.8")["risks"] == ["R-0003"]


def test_linked_risks_order_and_a_ref_holding_the_separator(cli, db) -> None:
    # Refs sort by length, then text (R-10 after R-9); a ref holding the separator the
    # database joins refs with is still read whole (refs are generated: a safety net).
    for ref in ("R-10", "R-9", "R-100", "odd\x1fref"):
        _add_risk(db, ref, ["A.5.15", "A.8.12"] if "odd" in ref else ["A.8.12"])
    document = _show(cli)
    assert _entry(document, "A.8.12")["risks"] == ["R-9", "R-10", "R-100", "odd\x1fref"]
    assert _entry(document, "A.5.15")["risks"] == ["odd\x1fref"]
    with db.reading() as session:
        assert linked_risks(session, _org_id(db), F27, ["A.5.15"]) == {"A.5.15": ["odd\x1fref"]}


def test_excluding_a_control_linked_to_risks_is_refused(cli, db) -> None:
    _add_risk(db, "R-0001", ["A.8.12"])
    result = cli("soa", "set", "A.8.12", "--not-applicable", "--justification", "No need")
    assert result.exit_code == 2
    assert "R-0001" in result.stderr
    with db.reading() as session:
        row = session.scalar(select(SoaEntry).where(SoaEntry.ref == "A.8.12"))
        assert row is None


def test_record_treatment_controls_includes_and_keeps_other_reasons(db) -> None:
    org_id = _org_id(db)
    with db.transaction() as session:
        set_decision(session, org_id, F27, "A.5.15", applicable=True, reasons=["legal"], actor="a")
    _add_risk(db, "R-0001", ["A.5.15", "A.8.2"])
    with db.transaction() as session:
        record_treatment_controls(session, org_id, F27, ["A.5.15", "A.8.2", "A.8.2"], "risk-svc")
    with db.reading() as session:
        rows = {
            r.ref: (r.applicable, r.reasons, r.decided_by)
            for r in session.scalars(select(SoaEntry).where(SoaEntry.org_id == org_id))
        }
        entries = {e["ref"]: e for e in soa_entries(session, org_id, F27)}
    assert rows == {
        "A.8.2": (True, ["risk_treatment"], "risk-svc"),
        "A.5.15": (True, ["risk_treatment", "legal"], "risk-svc"),
    }
    assert entries["A.5.15"]["reasons"] == ["risk_treatment", "legal"]
    assert entries["A.8.2"]["risks"] == ["R-0001"]


def test_record_treatment_controls_refuses_excluded_controls(db) -> None:
    org_id = _org_id(db)
    with db.transaction() as session:
        set_decision(
            session,
            org_id,
            F27,
            "A.7.1",
            applicable=False,
            justification="No offices",
            actor="a",
        )
    with pytest.raises(Conflict) as caught, db.transaction() as session:
        record_treatment_controls(session, org_id, F27, ["A.8.2", "A.7.1"], "risk-svc")
    assert caught.value.field == "--control"
    assert "A.7.1" in caught.value.message
    assert "annexa soa set A.7.1 --applicable" in (caught.value.fix or "")
    with db.reading() as session:
        # nothing else was written either
        assert session.scalar(select(SoaEntry).where(SoaEntry.ref == "A.8.2")) is None
    with pytest.raises(NotFound), db.transaction() as session:
        record_treatment_controls(session, org_id, F27, ["A.99.1"], "risk-svc")


def test_risk_links_are_tenant_isolated(db) -> None:
    _add_risk(db, "R-0001", ["A.8.12"])
    with db.transaction() as session:
        other = Organisation(name="Other Org", slug="other-org")
        session.add(other)
        session.flush()
        other_id = other.id
    with db.reading() as session:
        entries = {e["ref"]: e for e in soa_entries(session, other_id, F27)}
    assert entries["A.8.12"]["risks"] == []
    assert entries["A.8.12"]["applicable"] is None


# --- versions ---------------------------------------------------------------------------


def test_publish_is_refused_while_controls_are_undecided(cli, db) -> None:
    result = cli("soa", "publish")
    assert result.exit_code == 2
    assert "93" in result.stderr
    assert "--allow-undecided" in result.stderr
    with db.reading() as session:
        assert session.scalar(select(func.count()).select_from(SoaVersion)) == 0
    draft = cli("soa", "publish", "--allow-undecided", "--json")
    assert draft.exit_code == 0, draft.output
    assert json.loads(draft.stdout)["version"] == 1


def test_publish_numbers_versions_and_freezes_them(cli, db) -> None:
    _decide_all(db)
    first = cli("soa", "publish", "--note", "Stage 1 audit", "--json")
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout)["version"] == 1
    # later changes do not touch version 1
    assert (
        cli("soa", "set", "A.7.1", "--not-applicable", "--justification", "Remote").exit_code == 0
    )
    second = json.loads(cli("soa", "publish", "--json").stdout)
    assert second["version"] == 2
    v1 = _show(cli, "--version", "1")
    assert v1["version"] == 1
    assert v1["note"] == "Stage 1 audit"
    assert _entry(v1, "A.7.1")["applicable"] is True
    assert _entry(_show(cli, "--version", "2"), "A.7.1")["applicable"] is False
    listed = json.loads(cli("soa", "versions", "--json").stdout)["versions"]
    assert [v["version"] for v in listed] == [1, 2]
    assert listed[1]["summary"]["excluded"] == 1
    missing = cli("soa", "show", "--version", "7")
    assert missing.exit_code == 2
    assert "7" in missing.stderr
    # versions are numbered per framework
    other = cli("soa", "publish", "--framework", F42, "--allow-undecided", "--json")
    assert json.loads(other.stdout)["version"] == 1


def test_published_versions_cannot_be_changed_or_deleted(db) -> None:
    org_id = _org_id(db)
    with db.transaction() as session:
        publish(session, org_id, F27, actor="a", allow_undecided=True)
    with pytest.raises(Conflict), db.transaction() as session:
        version = get_version(session, org_id, F27, 1)
        version.note = "rewritten"
        session.flush()
    with pytest.raises(Conflict), db.transaction() as session:
        session.delete(get_version(session, org_id, F27, 1))
        session.flush()
    with db.reading() as session:
        assert [v.note for v in list_versions(session, org_id, F27)] == [None]
    with pytest.raises(NotFound) as caught, db.reading() as session:
        get_version(session, org_id, F27, 3)
    assert "3" in caught.value.message


def test_diff_between_versions_and_current(cli, db) -> None:
    _decide_all(db)
    assert cli("soa", "publish").exit_code == 0
    assert (
        cli("soa", "set", "A.7.1", "--not-applicable", "--justification", "Remote").exit_code == 0
    )
    assert cli("soa", "set", "A.8.5", "--status", "implemented", "--owner", "IT").exit_code == 0
    _add_risk(db, "R-0001", ["A.8.12"])
    result = cli("soa", "diff", "1", "current", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["framework"], data["from"], data["to"]) == (F27, 1, "current")
    changes = {c["ref"]: c for c in data["changes"]}
    assert set(changes) == {"A.7.1", "A.8.5", "A.8.12"}
    assert changes["A.7.1"]["fields"]["applicable"] == {"from": True, "to": False}
    assert changes["A.7.1"]["fields"]["justification"] == {
        "from": "Needed by the ISMS",
        "to": "Remote",
    }
    assert changes["A.7.1"]["title"] == "Physical security perimeters"
    assert changes["A.8.5"]["fields"] == {
        "status": {"from": "not_started", "to": "implemented"},
        "owner": {"from": None, "to": "IT"},
    }
    assert changes["A.8.12"]["fields"]["risks"] == {"from": [], "to": ["R-0001"]}
    assert data["added"] == data["removed"] == []
    assert cli("soa", "publish").exit_code == 0
    same = json.loads(cli("soa", "diff", "2", "current", "--json").stdout)
    assert same["changes"] == []
    human = cli("soa", "diff", "1", "2")
    assert human.exit_code == 0
    assert "A.7.1" in human.stdout
    bad = cli("soa", "diff", "1", "latest")
    assert bad.exit_code == 2
    assert "V2" in bad.stderr
    missing = cli("soa", "diff", "1", "9")
    assert missing.exit_code == 2


def test_diff_service_accepts_numbers(db) -> None:
    org_id = _org_id(db)
    with db.transaction() as session:
        publish(session, org_id, F42, actor="a", allow_undecided=True)
        set_decision(session, org_id, F42, "A.2.2", applicable=True, reasons=["legal"], actor="a")
        publish(session, org_id, F42, actor="a", allow_undecided=True)
    with db.reading() as session:
        data = diff(session, org_id, F42, 1, 2)
    assert [c["ref"] for c in data["changes"]] == ["A.2.2"]
    assert data["changes"][0]["fields"]["reasons"] == {"from": [], "to": ["legal"]}


@pytest.mark.parametrize("version", ["²", "1²", "٣", "0", "9" * 5000])
def test_diff_refuses_what_is_not_a_version_number(cli, db, version: str) -> None:
    _decide_all(db)
    assert cli("soa", "publish").exit_code == 0
    result = cli("soa", "diff", version, "current")
    assert result.exit_code == 2, result.output
    assert "neither a version number nor 'current'" in result.output
