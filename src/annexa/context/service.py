"""Context of the organisation (ISO/IEC 27001 and 42001 clauses 4.1-4.3).

The scope statement, what is in and out of scope, the internal and external issues that
shape the ISMS and the interested parties whose requirements it has to meet.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from annexa.errors import Conflict, InvalidInput, NotFound
from annexa.store.models import ContextIssue, InterestedParty, Organisation, ScopeItem
from annexa.validation import choice, optional_text, require_text

SCOPE_KINDS = (
    "service",
    "location",
    "data_flow",
    "ai_feature",
    "system",
    "organisational_unit",
)
ISSUE_KINDS = ("internal", "external")
# Suggestions only: categories are free text, but PESTLE keeps external issues comparable.
PESTLE_CATEGORIES = ("political", "economic", "social", "technological", "legal", "environmental")
PARTY_CATEGORIES = ("client", "regulator", "supplier", "employee", "owner", "insurer", "other")


# --- Scope statement and scope items (4.3) -------------------------------------------


def set_scope_statement(session: Session, org: Organisation, statement: str) -> str:
    org.scope_statement = require_text(statement, "--statement", max_length=10_000)
    session.flush()
    return org.scope_statement


def scope_item_to_dict(item: ScopeItem) -> dict[str, Any]:
    return {
        "kind": item.kind,
        "name": item.name,
        "description": item.description,
        "in_scope": item.in_scope,
        "exclusion_reason": item.exclusion_reason,
    }


def _kind_order(item: ScopeItem) -> tuple[int, str]:
    position = SCOPE_KINDS.index(item.kind) if item.kind in SCOPE_KINDS else len(SCOPE_KINDS)
    return position, item.name.lower()


def list_scope_items(
    session: Session,
    org: Organisation,
    *,
    kind: str | None = None,
    in_scope: bool | None = None,
) -> list[ScopeItem]:
    """Scope items ordered by kind (in the order of ``SCOPE_KINDS``), then name."""
    query = select(ScopeItem).where(ScopeItem.org_id == org.id)
    if kind is not None:
        query = query.where(ScopeItem.kind == choice(kind, "--kind", SCOPE_KINDS))
    if in_scope is not None:
        query = query.where(ScopeItem.in_scope == in_scope)
    return sorted(session.scalars(query), key=_kind_order)


def get_scope(session: Session, org: Organisation) -> dict[str, Any]:
    """The scope statement with in-scope and excluded items, each list grouped by kind."""
    items = list_scope_items(session, org)
    return {
        "statement": org.scope_statement,
        "in_scope": [scope_item_to_dict(i) for i in items if i.in_scope],
        "out_of_scope": [scope_item_to_dict(i) for i in items if not i.in_scope],
    }


def _find_scope_item(session: Session, org: Organisation, kind: str, name: str) -> ScopeItem | None:
    return session.scalar(
        select(ScopeItem).where(
            ScopeItem.org_id == org.id, ScopeItem.kind == kind, ScopeItem.name == name
        )
    )


def add_scope_item(
    session: Session,
    org: Organisation,
    kind: str,
    name: str,
    *,
    description: str | None = None,
    in_scope: bool = True,
    exclusion_reason: str | None = None,
) -> ScopeItem:
    kind = choice(kind, "kind", SCOPE_KINDS)
    name = require_text(name, "name")
    reason = optional_text(exclusion_reason, "--reason")
    if not in_scope and reason is None:
        # 4.3 expects exclusions to be justified; an auditor will ask why.
        raise InvalidInput(
            "an item left out of scope needs a reason",
            field="--reason",
            fix="pass --reason TEXT explaining why it is excluded",
        )
    if in_scope and reason is not None:
        raise InvalidInput(
            "a reason only applies to an item left out of scope",
            field="--reason",
            fix="add --out to exclude the item, or drop --reason",
        )
    if _find_scope_item(session, org, kind, name) is not None:
        raise Conflict(
            f"{kind} {name!r} is already in the scope register",
            field="name",
            fix="choose another name, or remove the existing item first"
            f" (`annexa scope remove {kind} {name!r}`)",
        )
    item = ScopeItem(
        org_id=org.id,
        kind=kind,
        name=name,
        description=optional_text(description, "--description"),
        in_scope=in_scope,
        exclusion_reason=reason,
    )
    session.add(item)
    session.flush()
    return item


def remove_scope_item(session: Session, org: Organisation, kind: str, name: str) -> None:
    kind = choice(kind, "kind", SCOPE_KINDS)
    item = _find_scope_item(session, org, kind, name.strip())
    if item is None:
        raise NotFound(
            f"no {kind} called {name!r} in the scope register",
            field="name",
            fix="see `annexa scope list`",
        )
    session.delete(item)
    session.flush()


# --- Internal and external issues (4.1) ----------------------------------------------


def issue_to_dict(issue: ContextIssue) -> dict[str, Any]:
    return {
        "title": issue.title,
        "kind": issue.kind,
        "category": issue.category,
        "description": issue.description,
    }


def add_issue(
    session: Session,
    org: Organisation,
    title: str,
    *,
    kind: str,
    category: str | None = None,
    description: str | None = None,
) -> ContextIssue:
    title = require_text(title, "title")
    kind = choice(kind, "--kind", ISSUE_KINDS)
    clean_category = optional_text(category, "--category", max_length=64)
    existing = session.scalar(
        select(ContextIssue.id).where(ContextIssue.org_id == org.id, ContextIssue.title == title)
    )
    if existing is not None:
        raise Conflict(
            f"an issue titled {title!r} already exists",
            field="title",
            fix="choose another title",
        )
    issue = ContextIssue(
        org_id=org.id,
        title=title,
        kind=kind,
        category=clean_category.lower() if clean_category else None,
        description=optional_text(description, "--description"),
    )
    session.add(issue)
    session.flush()
    return issue


def list_issues(
    session: Session, org: Organisation, *, kind: str | None = None
) -> list[ContextIssue]:
    query = select(ContextIssue).where(ContextIssue.org_id == org.id)
    if kind is not None:
        query = query.where(ContextIssue.kind == choice(kind, "--kind", ISSUE_KINDS))
    return list(session.scalars(query.order_by(ContextIssue.kind, ContextIssue.title)))


def remove_issue(session: Session, org: Organisation, title: str) -> None:
    issue = session.scalar(
        select(ContextIssue).where(
            ContextIssue.org_id == org.id, ContextIssue.title == title.strip()
        )
    )
    if issue is None:
        raise NotFound(f"no issue titled {title!r}", field="title", fix="see `annexa issue list`")
    session.delete(issue)
    session.flush()


# --- Interested parties and their requirements (4.2) ---------------------------------


def party_to_dict(party: InterestedParty) -> dict[str, Any]:
    return {
        "name": party.name,
        "category": party.category,
        "requirements": party.requirements,
        "addressed_in_isms": party.addressed_in_isms,
    }


def add_party(
    session: Session,
    org: Organisation,
    name: str,
    *,
    category: str | None = None,
    requirements: str | None = None,
    addressed_in_isms: bool = True,
) -> InterestedParty:
    name = require_text(name, "name")
    clean_category = choice(category, "--category", PARTY_CATEGORIES) if category else None
    existing = session.scalar(
        select(InterestedParty.id).where(
            InterestedParty.org_id == org.id, InterestedParty.name == name
        )
    )
    if existing is not None:
        raise Conflict(
            f"an interested party called {name!r} already exists",
            field="name",
            fix="choose another name",
        )
    party = InterestedParty(
        org_id=org.id,
        name=name,
        category=clean_category,
        requirements=optional_text(requirements, "--requirements"),
        addressed_in_isms=addressed_in_isms,
    )
    session.add(party)
    session.flush()
    return party


def list_parties(
    session: Session, org: Organisation, *, category: str | None = None
) -> list[InterestedParty]:
    query = select(InterestedParty).where(InterestedParty.org_id == org.id)
    if category is not None:
        query = query.where(
            InterestedParty.category == choice(category, "--category", PARTY_CATEGORIES)
        )
    return list(session.scalars(query.order_by(InterestedParty.name)))


def remove_party(session: Session, org: Organisation, name: str) -> None:
    party = session.scalar(
        select(InterestedParty).where(
            InterestedParty.org_id == org.id, InterestedParty.name == name.strip()
        )
    )
    if party is None:
        raise NotFound(
            f"no interested party called {name!r}", field="name", fix="see `annexa party list`"
        )
    session.delete(party)
    session.flush()
