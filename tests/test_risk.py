"""The risk register through the CLI, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import insert, select

from annexa.orgs import create_organisation
from annexa.risk import accept, add_risk, assess, list_risks, treat
from annexa.store.db import Database
from annexa.store.models import Asset, Organisation, Risk, RiskAcceptance, RiskAsset, RiskControl

TODAY = dt.date.today()
RISK_KEYS = {
    "ref",
    "title",
    "description",
    "framework",
    "threat_id",
    "threat",
    "vulnerability",
    "owner",
    "assets",
    "inherent",
    "residual",
    "treatment",
    "treatment_plan",
    "controls",
    "status",
    "due_date",
    "review_date",
    "review_overdue",
    "acceptance",
}


def _ok(result) -> dict:  # type: ignore[no-untyped-def]
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _risks(cli, *filters: str) -> list[dict]:  # type: ignore[no-untyped-def]
    return _ok(cli("risk", "list", "--json", *filters))["risks"]


def _add_assets(db: Database, *names: str, org_slug: str = "test-org") -> None:
    with db.transaction() as session:
        org = session.scalars(select(Organisation).where(Organisation.slug == org_slug)).one()
        for name in names:
            session.add(Asset(org_id=org.id, name=name, classification="confidential"))


def test_add_assess_treat_flow_and_json_contract(cli, db: Database) -> None:
    _add_assets(db, "Client files", "Copilot tenant")
    added = _ok(
        cli(
            "risk",
            "add",
            "Client data pasted into AI chat",
            "--threat-id",
            "ai-03",
            "--owner",
            "CISO",
            "--asset",
            "Client files",
            "--asset",
            "Copilot tenant",
            "--vulnerability",
            "No DLP on browser AI tools",
            "--review-date",
            (TODAY + dt.timedelta(days=90)).isoformat(),
            "--json",
        )
    )
    assert set(added) == RISK_KEYS
    assert added["ref"] == "R-0001"
    assert added["threat_id"] == "AI-03"
    assert added["threat"] == "Sensitive data in prompts or outputs"  # from the library
    assert added["assets"] == ["Client files", "Copilot tenant"]
    assert added["status"] == "identified"
    assert added["inherent"] == {"likelihood": None, "impact": None, "score": None, "level": None}
    assert added["acceptance"] is None and added["review_overdue"] is False

    assessed = _ok(cli("risk", "assess", "R-0001", "--likelihood", "4", "--impact", "4", "--json"))
    assert assessed["inherent"] == {"likelihood": 4, "impact": 4, "score": 16, "level": "High"}
    assert assessed["status"] == "assessed"

    treated = _ok(
        cli(
            "risk",
            "treat",
            "R-0001",
            "--option",
            "modify",
            "--control",
            "A.8.12",
            "--control",
            "a.5.14",
            "--control",
            "iso42001-2023:A.7.4",
            "--plan",
            "Enterprise AI tenant with DLP",
            "--due",
            "2030-06-30",
            "--residual-likelihood",
            "2",
            "--residual-impact",
            "3",
            "--json",
        )
    )
    assert treated["treatment"] == "modify"
    assert treated["controls"] == [
        "iso27001-2022:A.8.12",
        "iso27001-2022:A.5.14",
        "iso42001-2023:A.7.4",
    ]
    assert treated["residual"] == {"likelihood": 2, "impact": 3, "score": 6, "level": "Medium"}
    assert treated["status"] == "treated"
    assert treated["due_date"] == "2030-06-30"
    assert treated["treatment_plan"] == "Enterprise AI tenant with DLP"

    shown = _ok(cli("risk", "show", "r-1", "--json"))
    assert shown == treated
    listed = _risks(cli)
    assert listed == [shown]

    # Re-treating without --control keeps the controls; with --control replaces them.
    kept = _ok(cli("risk", "treat", "R-0001", "--option", "modify", "--json"))
    assert kept["controls"] == treated["controls"]
    replaced = _ok(
        cli(
            "risk",
            "treat",
            "R-0001",
            "--option",
            "modify",
            "--control",
            "A.8.12",
            "--control",
            "A.8.12",
            "--json",
        )
    )
    assert replaced["controls"] == ["iso27001-2022:A.8.12"]

    human = cli("risk", "list")
    assert human.exit_code == 0 and "R-0001" in human.stdout
    assert cli("risk", "show", "R-0001").exit_code == 0


def test_refs_are_sequential(cli) -> None:
    for title in ("One", "Two", "Three"):
        _ok(cli("risk", "add", title, "--json"))
    assert [r["ref"] for r in _risks(cli)] == ["R-0001", "R-0002", "R-0003"]


def test_bad_input_names_the_field_and_writes_nothing(cli, db: Database) -> None:
    _ok(cli("risk", "add", "Phishing of staff", "--likelihood", "3", "--impact", "3", "--json"))
    _ok(cli("risk", "add", "Unassessed", "--json"))
    _ok(cli("risk", "add", "Retained", "--likelihood", "2", "--impact", "2", "--json"))
    assert (
        cli("soa", "set", "A.7.4", "--not-applicable", "--justification", "No site").exit_code == 0
    )
    before = _risks(cli)
    past = (TODAY - dt.timedelta(days=1)).isoformat()
    too_late = (TODAY + dt.timedelta(days=3 * 366 + 1)).isoformat()
    fine = (TODAY + dt.timedelta(days=200)).isoformat()
    cases = [
        (["add", "New", "--likelihood", "7", "--impact", "2"], "--likelihood"),
        (["add", "New", "--likelihood", "2"], "--impact"),
        (["add", "Phishing of staff"], "title"),
        (["add", "   "], "title"),
        (["add", "New", "--asset", "No such asset"], "--asset"),
        (["add", "New", "--threat-id", "AI-99"], "--threat-id"),
        (["add", "New", "--review-date", "31/12/2030"], "--review-date"),
        (["add", "New", "--framework", "iso9999"], "--framework"),
        (["add", "New", "--framework", "nis2-art21"], "--framework"),
        (["assess", "R-0001", "--likelihood", "3", "--impact", "0"], "--impact"),
        (["assess", "R-0002", "--likelihood", "3", "--impact", "3", "--residual"], "--residual"),
        (["assess", "R-0099", "--likelihood", "3", "--impact", "3"], "REF"),
        (["treat", "R-0001", "--option", "ignore"], "--option"),
        (["treat", "R-0001", "--option", "modify"], "--control"),
        (["treat", "R-0001", "--option", "modify", "--control", "A.8.99"], "--control"),
        (["treat", "R-0001", "--option", "modify", "--control", "nist:A.8.1"], "--control"),
        (["treat", "R-0001", "--option", "modify", "--control", "6.1.2"], "--control"),
        (
            [
                "treat",
                "R-0001",
                "--option",
                "modify",
                "--control",
                "A.8.12",
                "--residual-likelihood",
                "9",
                "--residual-impact",
                "1",
            ],
            "--residual-likelihood",
        ),
        (
            [
                "treat",
                "R-0001",
                "--option",
                "modify",
                "--control",
                "A.8.12",
                "--residual-impact",
                "1",
            ],
            "--residual-likelihood",
        ),
        (["treat", "R-0002", "--option", "avoid"], "--option"),
        # The SoA excludes A.7.4, so a plan using it is refused as a whole.
        (
            ["treat", "R-0001", "--option", "modify", "--control", "A.8.12", "--control", "A.7.4"],
            "A.7.4",
        ),
        (["treat", "R-0003", "--option", "retain", "--due", "soon"], "--due"),
        (["accept", "R-0003", "--expires", fine], "--approver"),
        (["accept", "R-0003", "--approver", "CEO"], "--expires"),
        (["accept", "R-0003", "--approver", "CEO", "--expires", past], "--expires"),
        (["accept", "R-0003", "--approver", "CEO", "--expires", too_late], "--expires"),
        (["accept", "R-0001", "--approver", "CEO", "--expires", fine], "--residual"),
        (["update", "R-0001"], "REF"),
        (["list", "--level", "Extreme"], "--level"),
        (["list", "--status", "done"], "--status"),
        (["list", "--treatment", "ignore"], "--treatment"),
    ]
    for args, field in cases:
        result = cli("risk", *args)
        assert result.exit_code == 2, (args, result.output)
        assert field in result.stderr, (args, result.stderr)
    assert _risks(cli) == before
    soa = _ok(cli("soa", "show", "--json"))
    assert not any("risk_treatment" in e["reasons"] for e in soa["entries"])


def test_retain_needs_acceptance_above_threshold(cli) -> None:
    _ok(cli("risk", "add", "Small", "--likelihood", "2", "--impact", "3", "--json"))  # 6
    _ok(cli("risk", "add", "Big", "--likelihood", "3", "--impact", "3", "--json"))  # 9
    small = _ok(cli("risk", "treat", "R-0001", "--option", "retain", "--json"))
    assert small["status"] == "treated"  # 6 is within the default threshold of 6
    assert small["residual"]["score"] == 6  # retaining leaves the inherent rating
    big = _ok(cli("risk", "treat", "R-0002", "--option", "retain", "--json"))
    assert big["status"] == "assessed"  # above the threshold: not treated until accepted
    expires = (TODAY + dt.timedelta(days=365)).isoformat()
    accepted = _ok(
        cli(
            "risk",
            "accept",
            "R-0002",
            "--approver",
            "Managing Partner",
            "--expires",
            expires,
            "--rationale",
            "Cost of controls",
            "--json",
        )
    )
    assert accepted["status"] == "accepted"
    assert accepted["acceptance"] == {
        "approver": "Managing Partner",
        "accepted_on": TODAY.isoformat(),
        "expires_on": expires,
        "expired": False,
        "rationale": "Cost of controls",
    }
    # A worse residual rating is no longer covered by the acceptance.
    worse = _ok(
        cli(
            "risk", "assess", "R-0002", "--residual", "--likelihood", "4", "--impact", "3", "--json"
        )
    )
    assert worse["status"] == "assessed" and worse["acceptance"] is None
    better = _ok(
        cli(
            "risk", "assess", "R-0002", "--residual", "--likelihood", "2", "--impact", "4", "--json"
        )
    )
    assert better["status"] == "accepted"


def test_expired_acceptance_is_reported(db: Database, cli) -> None:
    long_ago = TODAY - dt.timedelta(days=800)
    with db.transaction() as session:
        org = session.scalars(select(Organisation)).one()
        add_risk(session, org, title="Old", likelihood=4, impact=4)
        treat(session, org, "R-0001", "retain")
        accept(session, org, "R-0001", "CEO", long_ago + dt.timedelta(days=365), today=long_ago)
        add_risk(session, org, title="Current", likelihood=4, impact=4)
        treat(session, org, "R-0002", "retain")
        accept(session, org, "R-0002", "CEO", TODAY + dt.timedelta(days=30))
    old = _ok(cli("risk", "show", "R-0001", "--json"))
    assert old["status"] == "accepted"
    assert old["acceptance"]["expired"] is True
    assert [r["ref"] for r in _risks(cli, "--status", "expired")] == ["R-0001"]
    assert [r["ref"] for r in _risks(cli, "--status", "accepted")] == ["R-0001", "R-0002"]
    assert "expired" in cli("risk", "list").stdout
    with db.reading() as session:
        assert len(session.scalars(select(RiskAcceptance)).all()) == 2


def test_list_filters(cli) -> None:
    past = (TODAY - dt.timedelta(days=1)).isoformat()
    future = (TODAY + dt.timedelta(days=10)).isoformat()
    _ok(
        cli(
            "risk",
            "add",
            "A",
            "--owner",
            "Alice",
            "--likelihood",
            "5",
            "--impact",
            "5",
            "--review-date",
            past,
            "--json",
        )
    )
    _ok(
        cli(
            "risk",
            "add",
            "B",
            "--owner",
            "Bob",
            "--likelihood",
            "1",
            "--impact",
            "2",
            "--review-date",
            future,
            "--json",
        )
    )
    _ok(cli("risk", "add", "C", "--owner", "alice", "--json"))
    _ok(
        cli(
            "risk",
            "treat",
            "R-0001",
            "--option",
            "modify",
            "--control",
            "A.8.7",
            "--residual-likelihood",
            "2",
            "--residual-impact",
            "5",
            "--json",
        )
    )
    _ok(cli("risk", "treat", "R-0002", "--option", "retain", "--json"))

    def refs(*filters: str) -> list[str]:
        return [r["ref"] for r in _risks(cli, *filters)]

    assert refs() == ["R-0001", "R-0002", "R-0003"]
    assert refs("--owner", "ALICE") == ["R-0001", "R-0003"]
    assert refs("--level", "high") == ["R-0001"]  # current level: residual 10, not 25
    assert refs("--level", "Critical") == []
    assert refs("--level", "Low") == ["R-0002"]
    assert refs("--status", "identified") == ["R-0003"]
    assert refs("--status", "treated") == ["R-0001", "R-0002"]
    assert refs("--treatment", "retain") == ["R-0002"]
    assert refs("--treatment", "none") == ["R-0003"]
    assert refs("--overdue") == ["R-0001"]
    assert refs("--owner", "alice", "--status", "identified") == ["R-0003"]
    overdue = _risks(cli, "--overdue")[0]
    assert overdue["review_overdue"] is True


def test_update(cli) -> None:
    _ok(cli("risk", "add", "Laptop theft", "--owner", "IT", "--json"))
    updated = _ok(
        cli(
            "risk",
            "update",
            "R-0001",
            "--owner",
            "Office manager",
            "--description",
            "Laptops left in cars",
            "--review-date",
            "2031-01-31",
            "--json",
        )
    )
    assert updated["owner"] == "Office manager"
    assert updated["description"] == "Laptops left in cars"
    assert updated["review_date"] == "2031-01-31"
    cleared = _ok(cli("risk", "update", "R-0001", "--owner", "", "--json"))
    assert cleared["owner"] is None and cleared["description"] == "Laptops left in cars"


def test_treatment_controls_become_applicable_in_the_soa(cli) -> None:
    _ok(
        cli(
            "risk",
            "add",
            "Prompt injection",
            "--threat-id",
            "AI-01",
            "--likelihood",
            "4",
            "--impact",
            "4",
            "--json",
        )
    )
    _ok(
        cli(
            "risk",
            "treat",
            "R-0001",
            "--option",
            "modify",
            "--control",
            "A.8.26",
            "--control",
            "iso42001-2023:A.6.2.6",
            "--json",
        )
    )
    soa = _ok(cli("soa", "show", "--json"))
    entry = next(e for e in soa["entries"] if e["ref"] == "A.8.26")
    assert entry["applicable"] is True
    assert "risk_treatment" in entry["reasons"]
    assert "R-0001" in entry["risks"]
    untouched = next(e for e in soa["entries"] if e["ref"] == "A.7.4")
    assert "risk_treatment" not in untouched["reasons"]
    soa42 = _ok(cli("soa", "show", "--framework", "iso42001-2023", "--json"))
    entry42 = next(e for e in soa42["entries"] if e["ref"] == "A.6.2.6")
    assert entry42["applicable"] is True and "risk_treatment" in entry42["reasons"]

    # A risk filed under ISO/IEC 42001 takes that framework's refs bare.
    _ok(cli("risk", "add", "Agent sends email", "--framework", "iso42001-2023",
            "--likelihood", "3", "--impact", "4", "--json"))  # fmt: skip
    ai = _ok(cli("risk", "treat", "R-0002", "--option", "modify", "--control", "A.9.2",
                 "--control", "iso27001-2022:A.8.2", "--json"))  # fmt: skip
    assert ai["framework"] == "iso42001-2023"
    assert ai["controls"] == ["iso42001-2023:A.9.2", "iso27001-2022:A.8.2"]


def test_matrix_show_and_set(cli, tmp_path) -> None:
    shown = _ok(cli("risk", "matrix", "--json"))
    assert shown["max_score"] == 25 and shown["acceptance_threshold"] == 6
    assert "Critical" in cli("risk", "matrix").stdout

    _ok(cli("risk", "add", "Ten", "--likelihood", "2", "--impact", "5", "--json"))
    _ok(cli("risk", "add", "Small", "--likelihood", "1", "--impact", "2", "--json"))
    _ok(cli("risk", "treat", "R-0002", "--option", "retain", "--json"))
    three = tmp_path / "matrix.yaml"
    three.write_text(
        "likelihood: [Low, Medium, High]\n"
        "impact: [Minor, Moderate, Major]\n"
        "levels:\n"
        "  - {name: Low, min: 1, max: 1}\n"
        "  - {name: Medium, min: 2, max: 4}\n"
        "  - {name: High, min: 5, max: 9}\n"
        "acceptance_threshold: 1\n"
    )
    refused = cli("risk", "matrix", "set", "--file", str(three))
    assert refused.exit_code == 2
    assert "R-0001" in refused.stderr and "--file" in refused.stderr
    assert _ok(cli("risk", "matrix", "--json")) == shown  # nothing changed

    _ok(cli("risk", "assess", "R-0001", "--likelihood", "2", "--impact", "3", "--json"))
    assert _threshold_in_status(cli) == "acceptance threshold 6"  # the default
    stored = _ok(cli("risk", "matrix", "set", "--file", str(three), "--json"))
    assert stored["max_score"] == 9
    assert _threshold_in_status(cli) == "acceptance threshold 1"  # the stored matrix's
    assert _ok(cli("risk", "matrix", "--json")) == stored
    first, second = _risks(cli)
    assert first["inherent"]["level"] == "High"  # score 6, re-rated under the new bands
    assert second["residual"]["level"] == "Medium"
    assert second["status"] == "assessed"  # retained score 2 is now above threshold 1
    bad = cli("risk", "assess", "R-0001", "--likelihood", "4", "--impact", "1")
    assert bad.exit_code == 2 and "from 1 to 3" in bad.stderr

    gap = tmp_path / "gap.yaml"
    gap.write_text(three.read_text().replace("min: 5", "min: 7"))
    bad_file = cli("risk", "matrix", "set", "--file", str(gap))
    assert bad_file.exit_code == 2 and "score 6 is not covered" in bad_file.stderr
    missing = cli("risk", "matrix", "set", "--file", str(tmp_path / "none.yaml"))
    assert missing.exit_code == 2 and "--file" in missing.stderr


def _threshold_in_status(cli) -> str:
    clauses = {c["ref"]: c for c in _ok(cli("status", "--json"))["clauses"]}
    [criteria] = [c for c in clauses["6.1.1"]["checks"] if "threshold" in c["check"]]
    return criteria["detail"]


def test_risks_are_isolated_per_organisation(db: Database, cli) -> None:
    with db.transaction() as session:
        create_organisation(session, "Other Firm", slug="other")
    _add_assets(db, "Shared name", org_slug="other")
    _ok(cli("--org", "other", "risk", "add", "Theirs", "--asset", "Shared name", "--json"))
    mine = cli("--org", "test-org", "risk", "add", "Mine", "--asset", "Shared name")
    assert mine.exit_code == 2 and "--asset" in mine.stderr
    _ok(cli("--org", "test-org", "risk", "add", "Theirs", "--json"))  # titles are per org
    ours = _ok(cli("--org", "test-org", "risk", "list", "--json"))["risks"]
    theirs = _ok(cli("--org", "other", "risk", "list", "--json"))["risks"]
    assert [(r["ref"], r["assets"]) for r in ours] == [("R-0001", [])]
    assert [(r["ref"], r["assets"]) for r in theirs] == [("R-0001", ["Shared name"])]
    missing = cli("--org", "other", "risk", "show", "R-0002")
    assert missing.exit_code == 2


def test_service_list_and_assess(db: Database) -> None:
    with db.transaction() as session:
        org = session.scalars(select(Organisation)).one()
        risk = add_risk(session, org, title="Direct", likelihood=3, impact=4)
        assert (risk.ref, risk.inherent_level, risk.status) == ("R-0001", "High", "assessed")
        assess(session, org, "R-0001", 1, 1)
        rows = list_risks(session, org, level="low")
    assert [r["inherent"]["score"] for r in rows] == [1]


@pytest.mark.parametrize("option", ["avoid", "share"])
def test_avoid_and_share_need_no_controls(cli, option: str) -> None:
    _ok(cli("risk", "add", "Risky feature", "--likelihood", "4", "--impact", "5", "--json"))
    done = _ok(cli("risk", "treat", "R-0001", "--option", option, "--plan", "Drop it", "--json"))
    assert (done["treatment"], done["status"], done["controls"]) == (option, "treated", [])


def test_large_register_lists_with_links_grouped(db: Database, cli) -> None:
    """Above 1,000 risks the list is written compactly; links still land on their risk."""
    count = 1200
    with db.transaction() as session:
        org = session.scalars(select(Organisation)).one()
        session.execute(
            insert(Asset),
            [
                {"org_id": org.id, "name": f"asset-{i}", "classification": "internal"}
                for i in range(3)
            ],
        )
        asset_ids = list(session.scalars(select(Asset.id).order_by(Asset.id)))
        session.execute(
            insert(Risk),
            [
                {
                    "org_id": org.id,
                    "ref": f"R-{i + 1:04d}",
                    "title": f"Risk {i}",
                    "status": "identified",
                }
                for i in range(count)
            ],
        )
        risk_ids = list(session.scalars(select(Risk.id).order_by(Risk.id)))
        session.execute(
            insert(RiskAsset),
            [{"risk_id": r, "asset_id": asset_ids[n % 3]} for n, r in enumerate(risk_ids)],
        )
        session.execute(
            insert(RiskControl),
            [
                {"org_id": org.id, "risk_id": r, "framework": "iso27001-2022", "ref": ref}
                for n, r in enumerate(risk_ids)
                for ref in (["A.8.12", "A.5.15"] if n % 2 else ["A.8.7"])
            ],
        )
    risks = _risks(cli)
    assert len(risks) == count
    assert risks[0]["assets"] == ["asset-0"] and risks[4]["assets"] == ["asset-1"]
    assert risks[0]["controls"] == ["iso27001-2022:A.8.7"]
    assert risks[1]["controls"] == ["iso27001-2022:A.8.12", "iso27001-2022:A.5.15"]
    assert all(set(r) == RISK_KEYS for r in risks)
    new = _ok(cli("risk", "add", "Next one", "--json"))
    assert new["ref"] == f"R-{count + 1:04d}"
