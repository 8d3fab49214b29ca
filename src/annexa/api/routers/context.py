"""Context of the organisation: scope (4.3), issues (4.1) and interested parties (4.2)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from annexa.api.deps import Paging, Reader, Writer, page
from annexa.context import (
    add_issue,
    add_party,
    add_scope_item,
    get_scope,
    issue_to_dict,
    list_issues,
    list_parties,
    list_scope_items,
    party_to_dict,
    remove_issue,
    remove_party,
    remove_scope_item,
    scope_item_to_dict,
    set_scope_statement,
)

router = APIRouter(prefix="/orgs/{org}", tags=["context"])


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ScopeStatement(Body):
    statement: str = Field(max_length=20000)


class ScopeItemIn(Body):
    kind: str = Field(max_length=32)
    name: str = Field(max_length=200)
    description: str | None = Field(default=None, max_length=20000)
    in_scope: bool = True
    exclusion_reason: str | None = Field(default=None, max_length=20000)


class IssueIn(Body):
    title: str = Field(max_length=200)
    kind: str = Field(max_length=16)
    category: str | None = Field(default=None, max_length=64)
    description: str | None = Field(default=None, max_length=20000)


class PartyIn(Body):
    name: str = Field(max_length=200)
    category: str | None = Field(default=None, max_length=64)
    requirements: str | None = Field(default=None, max_length=20000)
    addressed_in_isms: bool = True


@router.get("/scope", summary="Scope statement with in-scope and excluded items")
def scope(ctx: Reader) -> dict[str, Any]:
    return get_scope(ctx.session, ctx.org)


@router.put("/scope/statement", summary="Set the scope statement")
def scope_statement(ctx: Writer, body: ScopeStatement) -> dict[str, Any]:
    statement = set_scope_statement(ctx.session, ctx.org, body.statement)
    ctx.commit()
    return {"statement": statement}


@router.get("/scope/items", summary="Scope items")
def scope_items(
    ctx: Reader,
    paging: Paging,
    kind: Annotated[str | None, Query(max_length=32)] = None,
    in_scope: bool | None = None,
) -> dict[str, Any]:
    rows = list_scope_items(ctx.session, ctx.org, kind=kind, in_scope=in_scope)
    return page([scope_item_to_dict(i) for i in rows], paging, ("kind", "name"))


@router.post("/scope/items", status_code=201, summary="Add a scope item (or an exclusion)")
def scope_item_add(ctx: Writer, body: ScopeItemIn) -> dict[str, Any]:
    item = add_scope_item(
        ctx.session,
        ctx.org,
        body.kind,
        body.name,
        description=body.description,
        in_scope=body.in_scope,
        exclusion_reason=body.exclusion_reason,
    )
    ctx.commit()
    return scope_item_to_dict(item)


@router.delete("/scope/items/{kind}/{name:path}", status_code=204, summary="Remove a scope item")
def scope_item_remove(ctx: Writer, kind: str, name: str) -> None:
    remove_scope_item(ctx.session, ctx.org, kind, name)
    ctx.commit()


@router.get("/issues", summary="Internal and external issues")
def issues(
    ctx: Reader, paging: Paging, kind: Annotated[str | None, Query(max_length=16)] = None
) -> dict[str, Any]:
    rows = [issue_to_dict(i) for i in list_issues(ctx.session, ctx.org, kind=kind)]
    return page(rows, paging, ("title", "kind", "category"))


@router.post("/issues", status_code=201, summary="Add an issue")
def issue_add(ctx: Writer, body: IssueIn) -> dict[str, Any]:
    issue = add_issue(
        ctx.session,
        ctx.org,
        body.title,
        kind=body.kind,
        category=body.category,
        description=body.description,
    )
    ctx.commit()
    return issue_to_dict(issue)


@router.delete("/issues/{title:path}", status_code=204, summary="Remove an issue")
def issue_remove(ctx: Writer, title: str) -> None:
    remove_issue(ctx.session, ctx.org, title)
    ctx.commit()


@router.get("/parties", summary="Interested parties")
def parties(
    ctx: Reader, paging: Paging, category: Annotated[str | None, Query(max_length=64)] = None
) -> dict[str, Any]:
    rows = [party_to_dict(p) for p in list_parties(ctx.session, ctx.org, category=category)]
    return page(rows, paging, ("name", "category"))


@router.post("/parties", status_code=201, summary="Add an interested party")
def party_add(ctx: Writer, body: PartyIn) -> dict[str, Any]:
    party = add_party(
        ctx.session,
        ctx.org,
        body.name,
        category=body.category,
        requirements=body.requirements,
        addressed_in_isms=body.addressed_in_isms,
    )
    ctx.commit()
    return party_to_dict(party)


@router.delete("/parties/{name:path}", status_code=204, summary="Remove an interested party")
def party_remove(ctx: Writer, name: str) -> None:
    remove_party(ctx.session, ctx.org, name)
    ctx.commit()
