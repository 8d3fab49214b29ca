"""Readiness per clause and Annex A theme, computed with aggregate queries.

Everything here is derived from the records at the moment of asking; nothing is stored.
Counting happens in the database so the report stays fast for organisations with tens of
thousands of risks.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Select, Table, and_, case, exists, func, select, tuple_

from annexa.catalog import SOA_FRAMEWORKS, get_framework
from annexa.orgs.lookup import OrgRecord
from annexa.readiness.findings import ERROR, INFO, WARNING, Finding
from annexa.risk.defaults import DEFAULT_MATRIX_DATA
from annexa.store import tables
from annexa.store.db import core_connection

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

# Table columns: the report is all aggregate SQL, built with Core alone (`annexa status`
# never imports the ORM).
ai_system = tables.ai_system.c
asset = tables.asset.c
context_issue = tables.context_issue.c
interested_party = tables.interested_party.c
risk = tables.risk.c
risk_acceptance = tables.risk_acceptance.c
risk_control = tables.risk_control.c
scope_item = tables.scope_item.c
soa_entry = tables.soa_entry.c
soa_version = tables.soa_version.c
supplier = tables.supplier.c

EXAMPLES = 10
CLAUSE_FRAMEWORK = "iso27001-2022"


@dataclass
class Check:
    clause: str
    name: str
    ok: bool
    detail: str

    def to_dict(self) -> dict[str, object]:
        return {"check": self.name, "ok": self.ok, "detail": self.detail}


def _count(session: Connection | Session, table: Table, *conditions: Any) -> int:
    query = select(func.count()).select_from(table).where(*conditions)
    return session.scalar(query) or 0


def _examples(session: Connection | Session, column: Any, *conditions: Any) -> list[str]:
    query = select(column).where(*conditions).order_by(column).limit(EXAMPLES)
    return [str(value) for value in session.scalars(query)]


def _acceptance_threshold(org: OrgRecord) -> int:
    if not org.risk_matrix:
        return int(DEFAULT_MATRIX_DATA["acceptance_threshold"])
    from annexa.risk.matrix import matrix_of  # validates what the organisation stored

    return matrix_of(org.risk_matrix).acceptance_threshold


class _Report:
    def __init__(self, session: Connection | Session, org: OrgRecord, today: dt.date):
        self.session = session
        self.org = org
        self.today = today
        self.checks: list[Check] = []
        self.findings: list[Finding] = []

    def check(self, clause: str, name: str, ok: bool, detail: str) -> None:
        self.checks.append(Check(clause, name, ok, detail))

    def finding(
        self,
        code: str,
        severity: str,
        clause: str,
        count: int,
        message: str,
        fix: str,
        examples: list[str] | None = None,
    ) -> None:
        if count:
            self.findings.append(
                Finding(code, severity, clause, message, fix, count, examples or [])
            )

    # -- clause 4: context -------------------------------------------------------------
    def context(self) -> dict[str, int]:
        session, org_id = self.session, self.org.id
        internal = _count(
            session,
            tables.context_issue,
            context_issue.org_id == org_id,
            context_issue.kind == "internal",
        )
        external = _count(
            session,
            tables.context_issue,
            context_issue.org_id == org_id,
            context_issue.kind == "external",
        )
        self.check("4.1", "internal issues recorded", internal > 0, f"{internal} internal")
        self.check("4.1", "external issues recorded", external > 0, f"{external} external")
        self.finding(
            "CONTEXT_ISSUES_MISSING",
            WARNING,
            "4.1",
            int(internal == 0 or external == 0),
            "internal or external issues are missing",
            "record them with `annexa issue add TITLE --kind internal|external`",
        )

        party_filter = interested_party.org_id == org_id
        parties = _count(session, tables.interested_party, party_filter)
        without_requirements = _count(
            session,
            tables.interested_party,
            party_filter,
            func.coalesce(interested_party.requirements, "") == "",
        )
        self.check("4.2", "interested parties identified", parties > 0, f"{parties} parties")
        self.check(
            "4.2",
            "their requirements recorded",
            parties > 0 and without_requirements == 0,
            f"{without_requirements} without requirements",
        )
        self.finding(
            "PARTIES_MISSING",
            WARNING,
            "4.2",
            int(parties == 0),
            "no interested parties are recorded",
            "add them with `annexa party add NAME --requirements TEXT`",
        )
        self.finding(
            "PARTY_WITHOUT_REQUIREMENTS",
            WARNING,
            "4.2",
            without_requirements,
            "interested parties without recorded requirements",
            "add their requirements with `annexa party add … --requirements`",
            _examples(
                session,
                interested_party.name,
                party_filter,
                func.coalesce(interested_party.requirements, "") == "",
            ),
        )

        scope_filter = scope_item.org_id == org_id
        items = _count(session, tables.scope_item, scope_filter)
        unexplained = _count(
            session,
            tables.scope_item,
            scope_filter,
            scope_item.in_scope.is_(False),
            func.coalesce(scope_item.exclusion_reason, "") == "",
        )
        has_statement = bool((self.org.scope_statement or "").strip())
        self.check(
            "4.3",
            "scope statement written",
            has_statement,
            "present" if has_statement else "missing",
        )
        self.check("4.3", "scope items listed", items > 0, f"{items} items")
        self.check(
            "4.3",
            "every exclusion has a reason",
            items > 0 and unexplained == 0,
            f"{unexplained} without a reason",
        )
        self.finding(
            "SCOPE_STATEMENT_MISSING",
            ERROR,
            "4.3",
            int(not has_statement),
            "the ISMS scope statement is missing",
            "write it with `annexa scope set --statement TEXT`",
        )
        self.finding(
            "SCOPE_EXCLUSION_WITHOUT_REASON",
            ERROR,
            "4.3",
            unexplained,
            "scope exclusions without a reason",
            "give each out-of-scope item a reason (`annexa scope add … --out --reason`)",
        )
        return {
            "context_issues": internal + external,
            "interested_parties": parties,
            "scope_items": items,
        }

    # -- assets and AI systems ---------------------------------------------------------
    def inventory(self) -> dict[str, int]:
        session, org_id = self.session, self.org.id
        assets = _count(session, tables.asset, asset.org_id == org_id)
        ownerless = (asset.org_id == org_id, func.coalesce(asset.owner, "") == "")
        without_owner = _count(session, tables.asset, *ownerless)
        self.finding(
            "ASSET_WITHOUT_OWNER",
            WARNING,
            "A.5.9",
            without_owner,
            "assets without an owner",
            "set one with `annexa asset update NAME --owner`",
            _examples(session, asset.name, *ownerless),
        )
        self.finding(
            "ASSETS_MISSING",
            WARNING,
            "A.5.9",
            int(assets == 0),
            "the asset inventory is empty",
            "register assets with `annexa asset add`",
        )

        ai_filter = ai_system.org_id == org_id
        ai_systems = _count(session, tables.ai_system, ai_filter)
        no_oversight = (ai_filter, func.coalesce(ai_system.human_oversight, "") == "")
        prohibited = (ai_filter, ai_system.ai_act_risk_class == "prohibited")
        self.finding(
            "AI_SYSTEM_WITHOUT_OVERSIGHT",
            WARNING,
            "42001 A.9.2",
            _count(session, tables.ai_system, *no_oversight),
            "AI systems without a description of human oversight",
            "describe it with `annexa ai update NAME --oversight TEXT`",
            _examples(session, ai_system.name, *no_oversight),
        )
        self.finding(
            "AI_SYSTEM_PROHIBITED",
            ERROR,
            "EU AI Act Art. 5",
            _count(session, tables.ai_system, *prohibited),
            "AI systems classed as prohibited practices under the EU AI Act",
            "retire them or correct their risk class",
            _examples(session, ai_system.name, *prohibited),
        )
        suppliers = _count(session, tables.supplier, supplier.org_id == org_id)
        return {"assets": assets, "ai_systems": ai_systems, "suppliers": suppliers}

    # -- clauses 6.1.2, 6.1.3, 8.2, 8.3: risks ------------------------------------------
    def risks(self) -> dict[str, int]:
        session, org_id, today = self.session, self.org.id, self.today
        base = risk.org_id == org_id
        rules: list[tuple[str, str, str, str, str, Any]] = []

        def rule(
            code: str, severity: str, clause: str, message: str, fix: str, *conditions: Any
        ) -> None:
            rules.append((code, severity, clause, message, fix, and_(*conditions)))

        # A linked control that the SoA does not mark implemented. PostgreSQL reads the
        # implemented controls once, as a hashed uncorrelated NOT IN; SQLite would build
        # that list again for every risk, so there each link probes the SoA's unique
        # index instead (a join inside the per-risk EXISTS was the slowest part of this
        # report on PostgreSQL: it scanned the SoA again for every overdue risk).
        implemented = select(soa_entry.framework, soa_entry.ref).where(
            soa_entry.org_id == org_id, soa_entry.status == "implemented"
        )
        if core_connection(session).dialect.name == "postgresql":
            not_implemented = tuple_(risk_control.framework, risk_control.ref).not_in(implemented)
        else:
            not_implemented = ~exists(
                implemented.where(
                    soa_entry.framework == risk_control.framework, soa_entry.ref == risk_control.ref
                )
            )
        rule(
            "RISK_NOT_ASSESSED",
            ERROR,
            "6.1.2",
            "risks without an inherent likelihood and impact",
            "assess them with `annexa risk assess REF --likelihood N --impact N`",
            risk.inherent_score.is_(None),
        )
        rule(
            "RISK_WITHOUT_OWNER",
            ERROR,
            "6.1.2",
            "risks without an owner",
            "name one with `annexa risk update REF --owner NAME`",
            func.coalesce(risk.owner, "") == "",
        )
        rule(
            "RISK_WITHOUT_TREATMENT",
            ERROR,
            "6.1.3",
            "risks without a treatment decision",
            "decide with `annexa risk treat REF --option …`",
            risk.treatment.is_(None),
        )
        rule(
            "RISK_RESIDUAL_NOT_ASSESSED",
            WARNING,
            "6.1.3",
            "treated risks without a residual assessment",
            "add it with `annexa risk assess REF --residual …`",
            risk.treatment.is_not(None),
            risk.residual_score.is_(None),
        )
        rule(
            "RISK_REVIEW_OVERDUE",
            WARNING,
            "8.2",
            "risks whose review date has passed",
            "review them and set a new date (`annexa risk update REF --review-date`)",
            risk.review_date < today,
        )
        rule(
            "RISK_TREATMENT_OVERDUE",
            WARNING,
            "8.3",
            "risk treatments past their due date with controls not yet implemented",
            "implement the controls (`annexa soa set REF --status implemented`) or re-plan",
            risk.due_date < today,
            risk.treatment == "modify",
            exists(select(risk_control.id).where(risk_control.risk_id == risk.id, not_implemented)),
        )
        valid_acceptance = exists(
            select(risk_acceptance.id).where(
                risk_acceptance.risk_id == risk.id, risk_acceptance.expires_on >= today
            )
        )
        threshold = _acceptance_threshold(self.org)
        rule(
            "RISK_ABOVE_APPETITE_UNACCEPTED",
            ERROR,
            "6.1.3",
            f"risks whose residual score exceeds the acceptance threshold ({threshold}) "
            "without a valid acceptance",
            "treat them further or record acceptance (`annexa risk accept REF --approver …`)",
            risk.residual_score > threshold,
            ~valid_acceptance,
        )
        rule(
            "RISK_ACCEPTANCE_EXPIRED",
            WARNING,
            "6.1.3",
            "risk acceptances that have expired",
            "review the risk and renew or revise the acceptance",
            exists(select(risk_acceptance.id).where(risk_acceptance.risk_id == risk.id)),
            ~valid_acceptance,
        )

        # One pass over the register counts every rule; examples are fetched only for the
        # rules that fire, so a clean register costs a single scan.
        tallies = session.execute(
            select(
                func.count(),
                *(
                    func.coalesce(func.sum(case((condition, 1), else_=0)), 0)
                    for *_, condition in rules
                ),
            ).where(base)
        ).one()
        total = tallies[0]
        counts: dict[str, int] = {}
        for (code, severity, clause, message, fix, condition), count in zip(
            rules, tallies[1:], strict=True
        ):
            counts[code] = int(count)
            examples = _examples(session, risk.ref, base, condition) if count else []
            self.finding(code, severity, clause, int(count), message, fix, examples)
        not_assessed = counts["RISK_NOT_ASSESSED"]
        without_owner = counts["RISK_WITHOUT_OWNER"]
        without_treatment = counts["RISK_WITHOUT_TREATMENT"]
        no_residual = counts["RISK_RESIDUAL_NOT_ASSESSED"]
        review_overdue = counts["RISK_REVIEW_OVERDUE"]
        treatment_overdue = counts["RISK_TREATMENT_OVERDUE"]
        above_appetite = counts["RISK_ABOVE_APPETITE_UNACCEPTED"]
        expired = counts["RISK_ACCEPTANCE_EXPIRED"]

        self.check(
            "6.1.1",
            "risk criteria (matrix and acceptance threshold) defined",
            True,
            f"acceptance threshold {threshold}",
        )
        self.check("6.1.1", "risks identified", total > 0, f"{total} risks")
        self.check(
            "6.1.2",
            "every risk assessed",
            total > 0 and not_assessed == 0,
            f"{not_assessed} not assessed",
        )
        self.check(
            "6.1.2",
            "every risk has an owner",
            total > 0 and without_owner == 0,
            f"{without_owner} without owner",
        )
        self.check(
            "6.1.3",
            "every risk has a treatment decision",
            total > 0 and without_treatment == 0,
            f"{without_treatment} undecided",
        )
        self.check(
            "6.1.3",
            "residual risk above appetite is accepted by its owner",
            total > 0 and above_appetite == 0,
            f"{above_appetite} unaccepted",
        )
        self.check(
            "8.2",
            "risk reviews up to date",
            total > 0 and review_overdue == 0,
            f"{review_overdue} overdue",
        )
        self.check(
            "8.3",
            "treatment plans on schedule",
            total > 0 and treatment_overdue == 0,
            f"{treatment_overdue} overdue",
        )
        self.check(
            "8.3",
            "residual risk evaluated after treatment",
            total > 0 and no_residual == 0,
            f"{no_residual} without residual assessment",
        )
        return {"risks": total, "risk_acceptances_expired": expired}

    # -- SoA and Annex A themes ----------------------------------------------------------
    def soa(self) -> list[dict[str, Any]]:
        session, org_id = self.session, self.org.id
        rows = session.execute(
            select(
                soa_entry.framework,
                soa_entry.ref,
                soa_entry.applicable,
                soa_entry.justification,
                soa_entry.status,
            ).where(soa_entry.org_id == org_id)
        ).all()
        decisions = {(row.framework, row.ref): row for row in rows}
        planned = {
            (framework_id, ref)
            for framework_id in SOA_FRAMEWORKS
            for ref in session.scalars(_linked_refs(org_id, framework_id))
        }
        published = dict(
            session.execute(
                select(soa_version.framework, func.max(soa_version.number))
                .where(soa_version.org_id == org_id)
                .group_by(soa_version.framework)
            ).all()
        )

        themes: list[dict[str, Any]] = []
        for framework_id in SOA_FRAMEWORKS:
            framework = get_framework(framework_id)
            tallies: dict[str, Counter[str]] = defaultdict(Counter)
            undecided: list[str] = []
            unjustified: list[str] = []
            not_implemented: list[str] = []
            for control in framework.controls():
                tally = tallies[control.group]
                tally["controls"] += 1
                row = decisions.get((framework_id, control.ref))
                applicable = None if row is None else row.applicable
                if applicable is None:
                    tally["undecided"] += 1
                    undecided.append(control.ref)
                elif applicable:
                    tally["applicable"] += 1
                    if row.status == "implemented":
                        tally["implemented"] += 1
                else:
                    tally["excluded"] += 1
                    if not (row.justification or "").strip():
                        unjustified.append(control.ref)
                if (framework_id, control.ref) in planned and (
                    row is None or row.status != "implemented"
                ):
                    not_implemented.append(control.ref)
            for group, tally in tallies.items():
                settled = tally["implemented"] + tally["excluded"]
                themes.append(
                    {
                        "framework": framework_id,
                        "group": group,
                        "controls": tally["controls"],
                        "applicable": tally["applicable"],
                        "excluded": tally["excluded"],
                        "undecided": tally["undecided"],
                        "implemented": tally["implemented"],
                        "readiness": round(100 * settled / tally["controls"]),
                    }
                )
            label = "ISO/IEC 27001:2022" if framework_id == CLAUSE_FRAMEWORK else "ISO/IEC 42001"
            clause = "6.1.3" if framework_id == CLAUSE_FRAMEWORK else "42001 6.1.3"
            flag = "" if framework_id == CLAUSE_FRAMEWORK else " --framework " + framework_id
            self.finding(
                "SOA_UNDECIDED",
                ERROR,
                clause,
                len(undecided),
                f"{label} Annex A controls with no applicability decision",
                f"decide each with `annexa soa set REF --applicable|--not-applicable{flag}`",
                undecided[:EXAMPLES],
            )
            self.finding(
                "SOA_EXCLUSION_WITHOUT_JUSTIFICATION",
                ERROR,
                clause,
                len(unjustified),
                f"{label} controls excluded without a justification",
                "add one with `annexa soa set REF --not-applicable --justification TEXT`",
                unjustified[:EXAMPLES],
            )
            self.finding(
                "CONTROL_IN_TREATMENT_NOT_IMPLEMENTED",
                WARNING,
                "8.3",
                len(not_implemented),
                f"{label} controls chosen in risk treatment plans but not implemented",
                "implement them and record it with `annexa soa set REF --status implemented`",
                not_implemented[:EXAMPLES],
            )
            self.finding(
                "SOA_NOT_PUBLISHED",
                WARNING,
                clause,
                int(framework_id not in published),
                f"no published version of the {label} Statement of Applicability",
                f"publish one with `annexa soa publish{flag}`",
            )
            if framework_id == CLAUSE_FRAMEWORK:
                self.check(
                    "6.1.3",
                    "every Annex A control has an applicability decision",
                    not undecided,
                    f"{len(undecided)} undecided",
                )
                self.check(
                    "6.1.3",
                    "every exclusion is justified",
                    bool(decisions) and not unjustified,
                    f"{len(unjustified)} unjustified",
                )
                self.check(
                    "6.1.3",
                    "Statement of Applicability published",
                    framework_id in published,
                    f"version {published.get(framework_id, 'none')}",
                )
                self.check(
                    "8.3",
                    "controls in treatment plans implemented",
                    bool(planned) and not not_implemented,
                    f"{len(not_implemented)} not implemented",
                )
        return themes


def _clause_rows(checks: list[Check]) -> list[dict[str, Any]]:
    by_clause: dict[str, list[Check]] = defaultdict(list)
    for check in checks:
        by_clause[check.clause].append(check)
    rows = []
    for clause in get_framework(CLAUSE_FRAMEWORK).clauses():
        clause_checks = by_clause.get(clause.ref, [])
        passed = sum(check.ok for check in clause_checks)
        if not clause_checks:
            status = "not_tracked"
        elif passed == len(clause_checks):
            status = "met"
        elif passed == 0:
            status = "missing"
        else:
            status = "partial"
        rows.append(
            {
                "ref": clause.ref,
                "title": clause.title,
                "status": status,
                "checks": [check.to_dict() for check in clause_checks],
            }
        )
    return rows


def readiness(
    session: Connection | Session, org: OrgRecord, today: dt.date | None = None
) -> dict[str, Any]:
    """The readiness report: clause status, Annex A theme progress and findings.

    ``org`` is an :class:`Organisation` or its plain row (``orgs.organisation_record``)."""
    report = _Report(session, org, today or dt.date.today())
    counts: dict[str, int] = {}
    counts |= report.context()
    counts |= report.inventory()
    counts |= report.risks()
    themes = report.soa()
    clauses = _clause_rows(report.checks)
    tracked = report.checks
    score = round(100 * sum(check.ok for check in tracked) / len(tracked)) if tracked else 0
    severity_order = {ERROR: 0, WARNING: 1, INFO: 2}
    findings = sorted(report.findings, key=lambda f: (severity_order[f.severity], f.clause, f.code))
    return {
        "organisation": {"slug": org.slug, "name": org.name},
        "as_of": report.today.isoformat(),
        "score": score,
        "counts": counts,
        "clauses": clauses,
        "themes": themes,
        "findings": [finding.to_dict() for finding in findings],
        "summary": {
            "checks": len(tracked),
            "checks_passed": sum(check.ok for check in tracked),
            "errors": sum(f.severity == ERROR for f in findings),
            "warnings": sum(f.severity == WARNING for f in findings),
        },
    }


def _linked_refs(org_id: int, framework: str) -> Select[Any]:
    """The refs of ``framework``'s controls that some treatment plan links, each once.

    A loose index scan: each step asks the (org_id, framework, ref) index for the next
    ref after the last one found, so a register of 150,000 links costs one probe per
    distinct control (about a hundred) instead of reading every link (a DISTINCT took
    40 ms on PostgreSQL, which hashed them in parallel workers).
    """
    in_framework = (risk_control.org_id == org_id, risk_control.framework == framework)
    found = (
        select(func.min(risk_control.ref).label("ref"))
        .where(*in_framework)
        .cte("linked_ref", recursive=True)
    )
    following = (
        select(func.min(risk_control.ref)).where(*in_framework, risk_control.ref > found.c.ref)
    ).scalar_subquery()
    found = found.union_all(select(following).where(found.c.ref.is_not(None)))
    return select(found.c.ref).where(found.c.ref.is_not(None))
