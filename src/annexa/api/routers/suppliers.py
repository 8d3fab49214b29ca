"""Suppliers (A.5.19-A.5.23)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from annexa.api.deps import Paging, Reader, Writer, page
from annexa.suppliers import (
    add_supplier,
    get_supplier,
    list_suppliers,
    supplier_to_dict,
    update_supplier,
)

router = APIRouter(prefix="/orgs/{org}", tags=["suppliers"])
Text = Annotated[str | None, Field(default=None, max_length=20000)]


class SupplierIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=200)
    service: Text = None
    criticality: str = Field(default="medium", max_length=16)
    processes_personal_data: bool = False
    ai_provider: bool = False
    website: str | None = Field(default=None, max_length=300)
    contact: str | None = Field(default=None, max_length=200)
    notes: Text = None


class SupplierPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, max_length=200)
    service: Text = None
    criticality: str | None = Field(default=None, max_length=16)
    processes_personal_data: bool | None = None
    ai_provider: bool | None = None
    website: str | None = Field(default=None, max_length=300)
    contact: str | None = Field(default=None, max_length=200)
    notes: Text = None


@router.get("/suppliers", summary="Suppliers")
def suppliers(
    ctx: Reader,
    paging: Paging,
    ai_provider: bool | None = None,
    criticality: Annotated[str | None, Query(max_length=16)] = None,
) -> dict[str, Any]:
    rows = list_suppliers(ctx.session, ctx.org, ai_provider=ai_provider, criticality=criticality)
    return page([supplier_to_dict(s) for s in rows], paging, ("name", "criticality"))


@router.post("/suppliers", status_code=201, summary="Add a supplier")
def supplier_add(ctx: Writer, body: SupplierIn) -> dict[str, Any]:
    data = body.model_dump()
    supplier = add_supplier(ctx.session, ctx.org, data.pop("name"), **data)
    ctx.commit()
    return supplier_to_dict(supplier)


@router.get("/suppliers/{name:path}", summary="One supplier")
def supplier(ctx: Reader, name: str) -> dict[str, Any]:
    return supplier_to_dict(get_supplier(ctx.session, ctx.org, name))


@router.patch("/suppliers/{name:path}", summary="Change a supplier")
def supplier_update(ctx: Writer, name: str, body: SupplierPatch) -> dict[str, Any]:
    data = body.model_dump(exclude_unset=True)
    if "name" in data:
        data["new_name"] = data.pop("name")
    supplier = update_supplier(ctx.session, ctx.org, name, **data)
    ctx.commit()
    return supplier_to_dict(supplier)
