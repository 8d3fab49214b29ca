"""Information assets (A.5.9, A.5.12) and the AI-system register (ISO/IEC 42001 A.4-A.6).

Contributors may add and change assets and AI systems they own (owner = their display name
or e-mail); admins and editors any.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from annexa.api.deps import OwnerWriter, Paging, Reader, page
from annexa.assets import (
    add_ai_system,
    add_asset,
    ai_system_to_dict,
    asset_to_dict,
    get_ai_system,
    get_asset,
    get_scheme,
    list_ai_systems,
    list_assets,
    remove_asset,
    scheme_to_dict,
    update_ai_system,
    update_asset,
)

router = APIRouter(prefix="/orgs/{org}", tags=["assets"])
Text = Annotated[str | None, Field(default=None, max_length=20000)]
Short = Annotated[str | None, Field(default=None, max_length=200)]
Names = Annotated[list[Annotated[str, Field(max_length=200)]] | None, Field(max_length=500)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AssetIn(Body):
    name: str = Field(max_length=200)
    classification: str = Field(max_length=32)
    kind: str = Field(default="information", max_length=32)
    description: Text = None
    owner: Short = None
    tags: Names = None
    location: Short = None
    supplier: Short = None


class AssetPatch(Body):
    name: Short = None
    classification: str | None = Field(default=None, max_length=32)
    kind: str | None = Field(default=None, max_length=32)
    description: Text = None
    owner: Short = None
    tags: Names = None
    location: Short = None
    supplier: Short = None


class AISystemIn(Body):
    name: str = Field(max_length=200)
    purpose: str = Field(max_length=20000)
    provider: Short = None
    model: Short = None
    role: str = Field(default="deployer", max_length=16)
    data_categories: Names = None
    human_oversight: Text = None
    risk_class: str = Field(default="minimal", max_length=16)
    stage: str = Field(default="operation", max_length=16)
    owner: Short = None
    assets: Names = None
    supplier: Short = None


class AISystemPatch(Body):
    name: Short = None
    purpose: Text = None
    provider: Short = None
    model: Short = None
    role: str | None = Field(default=None, max_length=16)
    data_categories: Names = None
    human_oversight: Text = None
    risk_class: str | None = Field(default=None, max_length=16)
    stage: str | None = Field(default=None, max_length=16)
    owner: Short = None
    assets: Names = None
    supplier: Short = None


def _renamed(data: dict[str, Any]) -> dict[str, Any]:
    if "name" in data:
        data["new_name"] = data.pop("name")
    return data


@router.get("/classification", summary="The classification scheme (levels and tags)")
def classification(ctx: Reader) -> dict[str, Any]:
    return scheme_to_dict(get_scheme(ctx.org))


@router.get("/assets", summary="Information assets")
def assets(
    ctx: Reader,
    paging: Paging,
    classification: Annotated[str | None, Query(max_length=32)] = None,
    tag: Annotated[str | None, Query(max_length=64)] = None,
    owner: Annotated[str | None, Query(max_length=200)] = None,
    kind: Annotated[str | None, Query(max_length=32)] = None,
) -> dict[str, Any]:
    rows = list_assets(
        ctx.session, ctx.org, classification=classification, tag=tag, owner=owner, kind=kind
    )
    return page(rows, paging, ("name", "kind", "classification", "owner", "updated_at"))


@router.post("/assets", status_code=201, summary="Add an asset")
def asset_add(ctx: OwnerWriter, body: AssetIn) -> dict[str, Any]:
    ctx.require_owner(body.owner)
    data = body.model_dump()
    asset = add_asset(ctx.session, ctx.org, data.pop("name"), **data)
    ctx.commit()
    return asset_to_dict(asset)


@router.get("/assets/{name:path}", summary="One asset")
def asset(ctx: Reader, name: str) -> dict[str, Any]:
    return asset_to_dict(get_asset(ctx.session, ctx.org, name))


@router.patch("/assets/{name:path}", summary="Change an asset")
def asset_update(ctx: OwnerWriter, name: str, body: AssetPatch) -> dict[str, Any]:
    data = _renamed(body.model_dump(exclude_unset=True))
    ctx.require_owner(get_asset(ctx.session, ctx.org, name).owner)
    if "owner" in data:
        ctx.require_owner(data["owner"])
    asset = update_asset(ctx.session, ctx.org, name, **data)
    ctx.commit()
    return asset_to_dict(asset)


@router.delete("/assets/{name:path}", status_code=204, summary="Remove an unused asset")
def asset_remove(ctx: OwnerWriter, name: str) -> None:
    ctx.require_owner(get_asset(ctx.session, ctx.org, name).owner)
    remove_asset(ctx.session, ctx.org, name)
    ctx.commit()


@router.get("/ai-systems", summary="The AI-system register")
def ai_systems(
    ctx: Reader,
    paging: Paging,
    risk_class: Annotated[str | None, Query(max_length=16)] = None,
    stage: Annotated[str | None, Query(max_length=16)] = None,
) -> dict[str, Any]:
    rows = list_ai_systems(ctx.session, ctx.org, risk_class=risk_class, stage=stage)
    return page(rows, paging, ("name", "risk_class", "lifecycle_stage", "owner"))


@router.post("/ai-systems", status_code=201, summary="Register an AI system")
def ai_system_add(ctx: OwnerWriter, body: AISystemIn) -> dict[str, Any]:
    ctx.require_owner(body.owner)
    data = body.model_dump()
    system = add_ai_system(ctx.session, ctx.org, data.pop("name"), **data)
    ctx.commit()
    return ai_system_to_dict(system)


@router.get("/ai-systems/{name:path}", summary="One AI system")
def ai_system(ctx: Reader, name: str) -> dict[str, Any]:
    return ai_system_to_dict(get_ai_system(ctx.session, ctx.org, name))


@router.patch("/ai-systems/{name:path}", summary="Change an AI system")
def ai_system_update(ctx: OwnerWriter, name: str, body: AISystemPatch) -> dict[str, Any]:
    data = _renamed(body.model_dump(exclude_unset=True))
    ctx.require_owner(get_ai_system(ctx.session, ctx.org, name).owner)
    if "owner" in data:
        ctx.require_owner(data["owner"])
    system = update_ai_system(ctx.session, ctx.org, name, **data)
    ctx.commit()
    return ai_system_to_dict(system)
