"""The demo organisation and the readiness report built from the records."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select

from annexa.readiness import readiness
from annexa.store.db import Database
from annexa.store.models import Organisation, SoaEntry
from tests.conftest import make_cli


def _json(result) -> dict:  # type: ignore[no-untyped-def]
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _findings(report: dict) -> dict[str, dict]:
    return {(f["code"], f["clause"]): f for f in report["findings"]}


def _codes(report: dict) -> set[str]:
    return {f["code"] for f in report["findings"]}


@pytest.fixture
def demo_cli(empty_db_url: str):  # type: ignore[no-untyped-def]
    cli = make_cli(empty_db_url)
    loaded = _json(cli("demo", "--json"))
    assert loaded["organisation"] == "harbour-vale"
    return cli


def test_demo_is_a_realistic_law_firm(demo_cli) -> None:  # type: ignore[no-untyped-def]
    assets = _json(demo_cli("asset", "list", "--json"))["assets"]
    ai_systems = _json(demo_cli("ai", "list", "--json"))["ai_systems"]
    risks = _json(demo_cli("risk", "list", "--json"))["risks"]
    assert len(assets) == 40
    assert len(ai_systems) == 4
    assert len(risks) == 25
    assert {"restricted", "confidential", "internal"} <= {a["classification"] for a in assets}
    assert any(s["risk_class"] == "high" for s in ai_systems if "risk_class" in s) or any(
        s.get("ai_act_risk_class") == "high" for s in ai_systems
    )
    threat_ids = {r["threat_id"] for r in risks}
    assert {"AI-02", "AI-03", "AI-04", "AI-08"} <= threat_ids  # AI threats are modelled
    soa = _json(demo_cli("soa", "show", "--json"))
    excluded = {e["ref"]: e for e in soa["entries"] if e["applicable"] is False}
    assert set(excluded) == {"A.8.4", "A.8.25", "A.8.28", "A.8.30", "A.8.31", "A.8.33"}
    assert all(e["justification"] for e in excluded.values())
    # Inclusions follow from the treatment plans: A.8.12 is chosen by several risks.
    dlp = next(e for e in soa["entries"] if e["ref"] == "A.8.12")
    assert "risk_treatment" in dlp["reasons"] and len(dlp["risks"]) >= 3


def test_demo_twice_needs_reset_and_reset_does_not_duplicate(demo_cli) -> None:  # type: ignore[no-untyped-def]
    again = demo_cli("demo")
    assert again.exit_code == 2
    assert "--reset" in again.stderr
    reloaded = _json(demo_cli("demo", "--reset", "--json"))
    assert reloaded["replaced"] is True
    assert (reloaded["assets"], reloaded["risks"], reloaded["ai_systems"]) == (40, 25, 4)
    orgs = _json(demo_cli("org", "list", "--json"))["organisations"]
    assert [o["slug"] for o in orgs] == ["harbour-vale"]


def test_status_of_the_demo(demo_cli) -> None:  # type: ignore[no-untyped-def]
    report = _json(demo_cli("status", "--json"))
    clauses = {c["ref"]: c["status"] for c in report["clauses"]}
    assert clauses["4.1"] == clauses["4.2"] == clauses["4.3"] == "met"
    assert clauses["6.1.2"] == "met"
    assert clauses["6.1.3"] == "partial"
    assert clauses["9.2.1"] == "not_tracked"
    findings = _findings(report)
    undecided = findings[("SOA_UNDECIDED", "6.1.3")]
    assert undecided["count"] == 1 and undecided["examples"] == ["A.7.12"]
    assert findings[("RISK_WITHOUT_TREATMENT", "6.1.3")]["count"] == 2
    assert findings[("RISK_ACCEPTANCE_EXPIRED", "6.1.3")]["count"] == 1
    assert findings[("AI_SYSTEM_WITHOUT_OVERSIGHT", "42001 A.9.2")]["examples"] == [
        "CV screening pilot"
    ]
    assert "SCOPE_STATEMENT_MISSING" not in _codes(report)
    themes = {(t["framework"], t["group"]): t for t in report["themes"]}
    technological = themes[("iso27001-2022", "technological")]
    assert (technological["controls"], technological["excluded"]) == (34, 6)
    assert sum(t["controls"] for t in report["themes"] if t["framework"] == "iso27001-2022") == 93
    assert sum(t["controls"] for t in report["themes"] if t["framework"] == "iso42001-2023") == 38
    assert 0 < report["score"] < 100


def test_status_follows_the_records(demo_cli) -> None:  # type: ignore[no-untyped-def]
    decided = demo_cli(
        "soa", "set", "A.7.12", "--applicable", "--justification", "Office cabling carries data"
    )
    assert decided.exit_code == 0, decided.output
    published = demo_cli("soa", "publish", "--note", "Stage 1")
    assert published.exit_code == 0, published.output
    report = _json(demo_cli("status", "--json"))
    assert ("SOA_UNDECIDED", "6.1.3") not in _findings(report)
    assert ("SOA_NOT_PUBLISHED", "6.1.3") not in _findings(report)
    assert ("SOA_NOT_PUBLISHED", "42001 6.1.3") in _findings(report)

    above = _findings(report)[("RISK_ABOVE_APPETITE_UNACCEPTED", "6.1.3")]
    ref = above["examples"][0]
    expires = (dt.date.today() + dt.timedelta(days=200)).isoformat()
    accepted = demo_cli(
        "risk", "accept", ref, "--approver", "Managing Partner", "--expires", expires
    )
    assert accepted.exit_code == 0, accepted.output
    after = _findings(_json(demo_cli("status", "--json")))
    remaining = after.get(("RISK_ABOVE_APPETITE_UNACCEPTED", "6.1.3"), {"count": 0, "examples": []})
    assert remaining["count"] == above["count"] - 1
    assert ref not in remaining["examples"]


def test_status_of_an_empty_organisation(cli) -> None:  # type: ignore[no-untyped-def]
    report = _json(cli("status", "--json"))
    clauses = {c["ref"]: c["status"] for c in report["clauses"]}
    assert clauses["4.1"] == clauses["4.3"] == "missing"
    findings = _findings(report)
    assert findings[("SOA_UNDECIDED", "6.1.3")]["count"] == 93
    assert findings[("SOA_UNDECIDED", "42001 6.1.3")]["count"] == 38
    assert "SCOPE_STATEMENT_MISSING" in _codes(report)
    assert report["counts"]["risks"] == 0


def test_status_flags_exclusions_without_justification(db: Database) -> None:
    # The service refuses such exclusions; records imported by other paths are still checked.
    with db.transaction() as session:
        org = session.scalars(select(Organisation)).one()
        session.add(
            SoaEntry(org_id=org.id, framework="iso27001-2022", ref="A.7.4", applicable=False)
        )
    with db.reading() as session:
        org = session.scalars(select(Organisation)).one()
        report = readiness(session, org)
    finding = _findings(report)[("SOA_EXCLUSION_WITHOUT_JUSTIFICATION", "6.1.3")]
    assert finding["examples"] == ["A.7.4"]


def test_status_is_per_organisation(db_url: str) -> None:
    cli = make_cli(db_url)
    assert cli("demo").exit_code == 0
    ambiguous = cli("status")
    assert ambiguous.exit_code == 2
    assert "--org" in ambiguous.stderr
    mine = _json(cli("--org", "test-org", "status", "--json"))
    assert mine["counts"]["risks"] == 0 and mine["counts"]["assets"] == 0
    demo = _json(cli("--org", "harbour-vale", "status", "--json"))
    assert demo["counts"]["risks"] == 25


def test_status_reports_treatments_whose_controls_are_not_implemented(db: Database) -> None:
    """A treatment past its due date counts while one of its controls is not implemented
    (planned in the SoA, or never recorded there); linked controls of both Annex As are
    reported until implemented."""
    from annexa.risk import add_risk, treat
    from annexa.store.models import RiskControl

    yesterday = dt.date.today() - dt.timedelta(days=1)
    tomorrow = dt.date.today() + dt.timedelta(days=1)
    with db.transaction() as session:
        org = session.scalars(select(Organisation)).one()
        plans = [
            ("R-0001", ["A.5.15", "A.8.12"], yesterday),  # A.8.12 stays planned: overdue
            ("R-0002", ["A.5.15"], yesterday),  # all implemented: on schedule
            ("R-0003", ["A.8.12"], tomorrow),  # not due yet
            ("R-0004", ["A.5.15", "iso42001-2023:A.6.2.6"], yesterday),  # 42001 one planned
            ("R-0005", ["A.5.15"], yesterday),  # plus a link the SoA never recorded
        ]
        for ref, controls, due in plans:
            add_risk(session, org, title=f"Risk {ref}", likelihood=3, impact=3)
            treat(session, org, ref, "modify", controls=controls, due_date=due)
        implemented = session.scalars(
            select(SoaEntry).where(SoaEntry.org_id == org.id, SoaEntry.ref == "A.5.15")
        ).one()
        implemented.status = "implemented"
        r5 = session.scalars(
            select(RiskControl.risk_id).where(RiskControl.ref == "A.5.15").order_by(RiskControl.id)
        ).all()[-1]
        session.add(RiskControl(org_id=org.id, risk_id=r5, framework="iso27001-2022", ref="A.7.3"))
    with db.reading() as session:
        org = session.scalars(select(Organisation)).one()
        report = readiness(session, org)
    overdue = _findings(report)[("RISK_TREATMENT_OVERDUE", "8.3")]
    assert (overdue["count"], overdue["examples"]) == (3, ["R-0001", "R-0004", "R-0005"])
    not_implemented = [
        f for f in report["findings"] if f["code"] == "CONTROL_IN_TREATMENT_NOT_IMPLEMENTED"
    ]
    assert sorted(tuple(f["examples"]) for f in not_implemented) == [
        ("A.6.2.6",),
        ("A.7.3", "A.8.12"),
    ]
