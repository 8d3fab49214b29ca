"""Loads `data/lawfirm.yaml` through the same services a user's commands go through.

Going through the services (not raw inserts) means the demo obeys every rule a real
organisation does, so it doubles as an end-to-end check of those rules.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from annexa.assets.ai_systems import add_ai_system
from annexa.assets.service import add_asset
from annexa.context.service import add_issue, add_party, add_scope_item, set_scope_statement
from annexa.errors import Conflict
from annexa.orgs import create_organisation
from annexa.risk import service as risks
from annexa.soa.service import set_decision
from annexa.store.models import Organisation
from annexa.suppliers.service import add_supplier

DATA_FILE = Path(__file__).parent / "data" / "lawfirm.yaml"
DEMO_SLUG = "harbour-vale"
ACTOR = "demo"

Step = Callable[[str], None]


@cache
def demo_data() -> dict[str, Any]:
    return yaml.safe_load(DATA_FILE.read_text(encoding="utf-8"))


def remove_demo(session: Session) -> bool:
    """Delete the demo organisation and everything it owns; True if there was one."""
    org = session.scalar(select(Organisation).where(Organisation.slug == DEMO_SLUG))
    if org is None:
        return False
    session.delete(org)
    session.flush()
    return True


def load_demo(
    session: Session, *, today: dt.date | None = None, progress: Step | None = None
) -> Organisation:
    """Create the demo organisation with its scope, inventory, risks and SoA decisions."""
    today = today or dt.date.today()
    step = progress or (lambda _label: None)
    data = demo_data()

    def days(offset: int | None) -> dt.date | None:
        return None if offset is None else today + dt.timedelta(days=offset)

    profile = data["organisation"]
    if session.scalar(select(Organisation).where(Organisation.slug == profile["slug"])):
        raise Conflict(
            f"the demo organisation {profile['slug']!r} already exists",
            field="--reset",
            fix="pass --reset to load it afresh",
        )
    org = create_organisation(
        session,
        profile["name"],
        slug=profile["slug"],
        sector=profile["sector"],
        headcount=profile["headcount"],
    )
    set_scope_statement(session, org, profile["scope_statement"])

    step("scope and context")
    for item in data["scope"]:
        add_scope_item(
            session,
            org,
            item["kind"],
            item["name"],
            description=item.get("description"),
            in_scope=item.get("in_scope", True),
            exclusion_reason=item.get("reason"),
        )
    for issue in data["issues"]:
        add_issue(
            session,
            org,
            issue["title"],
            kind=issue["kind"],
            category=issue.get("category"),
            description=issue.get("description"),
        )
    for party in data["parties"]:
        add_party(
            session,
            org,
            party["name"],
            category=party.get("category"),
            requirements=party.get("requirements"),
        )

    step("suppliers and assets")
    for supplier in data["suppliers"]:
        add_supplier(
            session,
            org,
            supplier["name"],
            service=supplier.get("service"),
            criticality=supplier.get("criticality", "medium"),
            processes_personal_data=supplier.get("personal_data", False),
            ai_provider=supplier.get("ai_provider", False),
            website=supplier.get("website"),
        )
    for asset in data["assets"]:
        add_asset(
            session,
            org,
            asset["name"],
            classification=asset["classification"],
            kind=asset["kind"],
            owner=asset.get("owner"),
            tags=asset.get("tags", []),
            location=asset.get("location"),
            supplier=asset.get("supplier"),
            description=asset.get("description"),
        )

    step("AI systems")
    for system in data["ai_systems"]:
        add_ai_system(
            session,
            org,
            system["name"],
            purpose=system["purpose"],
            provider=system.get("provider"),
            model=system.get("model"),
            role=system.get("role", "deployer"),
            data_categories=system.get("data_categories", []),
            human_oversight=system.get("oversight") or None,
            risk_class=system.get("risk_class", "minimal"),
            stage=system.get("stage", "operation"),
            owner=system.get("owner"),
            assets=system.get("assets", []),
            supplier=system.get("supplier"),
        )

    # SoA decisions come before risk treatment so the treatment plans find their controls
    # already included for the reasons the firm recorded (legal, contractual, business).
    step("Statement of Applicability")
    for framework, decisions in data["soa"].items():
        _decide_soa(session, org, framework, decisions)

    step("risks")
    for entry in data["risks"]:
        risk = risks.add_risk(
            session,
            org,
            title=entry["title"],
            threat_id=entry.get("threat"),
            vulnerability=entry.get("vulnerability"),
            owner=entry.get("owner"),
            asset_names=entry.get("assets", []),
            likelihood=entry["inherent"][0],
            impact=entry["inherent"][1],
            review_date=days(entry.get("review")),
        )
        treatment = entry.get("treatment")
        if treatment:
            residual = treatment.get("residual") or (None, None)
            risks.treat(
                session,
                org,
                risk.ref,
                treatment["option"],
                plan=treatment.get("plan"),
                controls=treatment.get("controls", []),
                due_date=days(treatment.get("due")),
                residual_likelihood=residual[0],
                residual_impact=residual[1],
                actor=ACTOR,
            )
        acceptance = entry.get("accept")
        if acceptance:
            expires = days(acceptance["expires"])
            # An acceptance that has lapsed was given a year before its expiry.
            decided = min(today, expires - dt.timedelta(days=365))
            risks.accept(
                session,
                org,
                risk.ref,
                acceptance["approver"],
                expires,
                rationale=acceptance.get("rationale"),
                today=decided,
            )
    session.flush()
    return org


def _decide_soa(session: Session, org: Organisation, framework: str, plan: dict[str, Any]) -> None:
    from annexa.catalog import get_framework

    default = plan["default"]
    undecided = set(plan.get("undecided", []))
    statuses = {ref: "implemented" for ref in plan.get("implemented", [])}
    statuses |= {ref: "partial" for ref in plan.get("partial", [])}
    for control in get_framework(framework).controls():
        ref = control.ref
        if ref in undecided:
            continue
        if ref in plan["exclusions"]:
            set_decision(
                session,
                org.id,
                framework,
                ref,
                applicable=False,
                justification=plan["exclusions"][ref],
                actor=ACTOR,
            )
            continue
        reasons = list(default["reasons"])
        justification = default["justification"]
        if ref in plan.get("legal", []):
            reasons, justification = ["legal"], "Required by law or regulation in scope."
        elif ref in plan.get("contractual", []):
            reasons, justification = ["contractual"], "Required by client and supplier contracts."
        set_decision(
            session,
            org.id,
            framework,
            ref,
            applicable=True,
            reasons=reasons,
            justification=justification,
            status=statuses.get(ref, "planned"),
            owner="ISMS Manager",
            actor=ACTOR,
        )
