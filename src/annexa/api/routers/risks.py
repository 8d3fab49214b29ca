"""The risk register (6.1.2, 6.1.3, 8.2, 8.3): add, rate, treat and accept risks.

Contributors may add, rate, treat and change risks they own; formal acceptance of a
residual risk is for admins and editors.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from annexa.api.deps import OwnerWriter, Paging, Reader, Writer, page
from annexa.risk import (
    accept,
    add_risk,
    assess,
    get_matrix,
    get_risk,
    list_risks,
    risk_to_dict,
    set_matrix,
    treat,
    update_risk,
)
from annexa.risk.matrix import MAX_SCALE
from annexa.risk.service import DEFAULT_FRAMEWORK

router = APIRouter(prefix="/orgs/{org}", tags=["risks"])
Text = Annotated[str | None, Field(default=None, max_length=20000)]
Short = Annotated[str | None, Field(default=None, max_length=200)]
Day = Annotated[str | None, Field(default=None, max_length=10, description="YYYY-MM-DD")]
Rating = Annotated[int | None, Field(default=None, ge=1, le=100)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RiskIn(Body):
    title: str = Field(max_length=300)
    description: Text = None
    threat_id: str | None = Field(default=None, max_length=32)
    threat: Text = None
    vulnerability: Text = None
    owner: Short = None
    assets: list[Annotated[str, Field(max_length=200)]] = Field(default=[], max_length=500)
    likelihood: Rating = None
    impact: Rating = None
    review_date: Day = None
    framework: str = Field(default=DEFAULT_FRAMEWORK, max_length=64)


class RiskPatch(Body):
    owner: Short = None
    description: Text = None
    review_date: Day = None
    threat: Text = None
    vulnerability: Text = None


class AssessIn(Body):
    likelihood: Rating = None
    impact: Rating = None
    residual: bool = False


class TreatIn(Body):
    option: str = Field(max_length=16)
    plan: Text = None
    controls: list[Annotated[str, Field(max_length=100)]] = Field(default=[], max_length=500)
    framework: str | None = Field(default=None, max_length=64)
    due: Day = None
    residual_likelihood: Rating = None
    residual_impact: Rating = None


Label = Annotated[str, Field(max_length=200)]
Score = Annotated[int, Field(ge=1, le=MAX_SCALE * MAX_SCALE)]


class LevelIn(Body):
    name: str = Field(max_length=32)
    min: Score
    max: Score
    colour: str | None = Field(default=None, max_length=32)


class MatrixIn(Body):
    """The matrix as `annexa risk matrix set --file` takes it (and GET answers it)."""

    likelihood: list[Label] = Field(max_length=MAX_SCALE, description="Labels, lowest first.")
    impact: list[Label] = Field(max_length=MAX_SCALE, description="Labels, lowest first.")
    levels: list[LevelIn] = Field(max_length=MAX_SCALE * MAX_SCALE)
    acceptance_threshold: Score
    max_score: int | None = Field(default=None, description="Derived; ignored when sent.")


class AcceptIn(Body):
    approver: str = Field(max_length=200)
    expires: Day = None
    rationale: Text = None


@router.get("/risk-matrix", summary="The risk matrix, its levels and acceptance threshold")
def matrix(ctx: Reader) -> dict[str, Any]:
    return get_matrix(ctx.org).to_dict()


@router.put(
    "/risk-matrix",
    summary="Replace the risk matrix; stored risk levels are re-rated under the new bands",
)
def matrix_set(ctx: Writer, body: MatrixIn) -> dict[str, Any]:
    data = body.model_dump(exclude={"max_score"}, exclude_none=True)
    matrix = set_matrix(ctx.session, ctx.org, data, field=None)
    ctx.commit()
    return matrix.to_dict()


@router.get("/risks", summary="The risk register")
def risks(
    ctx: Reader,
    paging: Paging,
    level: Annotated[str | None, Query(max_length=32)] = None,
    owner: Annotated[str | None, Query(max_length=200)] = None,
    status: Annotated[str | None, Query(max_length=16)] = None,
    treatment: Annotated[str | None, Query(max_length=16)] = None,
    overdue: bool | None = None,
) -> dict[str, Any]:
    rows = list_risks(
        ctx.session,
        ctx.org,
        level=level,
        owner=owner,
        status=status,
        treatment=treatment,
        overdue=True if overdue else None,
    )
    return page(rows, paging, ("ref", "title", "owner", "status", "treatment", "review_date"))


def _risk(ctx: Reader | OwnerWriter, ref: str) -> dict[str, Any]:
    return risk_to_dict(ctx.session, get_risk(ctx.session, ctx.org, ref))


@router.post("/risks", status_code=201, summary="Add a risk, optionally rated at once")
def risk_add(ctx: OwnerWriter, body: RiskIn) -> dict[str, Any]:
    ctx.require_owner(body.owner)
    data = body.model_dump()
    data["asset_names"] = data.pop("assets")
    risk = add_risk(ctx.session, ctx.org, **data)
    ctx.commit()
    return _risk(ctx, risk.ref)


@router.get("/risks/{ref}", summary="One risk")
def risk(ctx: Reader, ref: str) -> dict[str, Any]:
    return _risk(ctx, ref)


@router.patch("/risks/{ref}", summary="Change a risk's owner, description, review date …")
def risk_update(ctx: OwnerWriter, ref: str, body: RiskPatch) -> dict[str, Any]:
    data = body.model_dump(exclude_unset=True)
    ctx.require_owner(get_risk(ctx.session, ctx.org, ref).owner)
    if "owner" in data:
        ctx.require_owner(data["owner"])
    risk = update_risk(ctx.session, ctx.org, ref, **data)
    ctx.commit()
    return _risk(ctx, risk.ref)


@router.post("/risks/{ref}/assess", summary="Rate likelihood and impact (inherent or residual)")
def risk_assess(ctx: OwnerWriter, ref: str, body: AssessIn) -> dict[str, Any]:
    ctx.require_owner(get_risk(ctx.session, ctx.org, ref).owner)
    risk = assess(ctx.session, ctx.org, ref, body.likelihood, body.impact, residual=body.residual)
    ctx.commit()
    return _risk(ctx, risk.ref)


@router.post("/risks/{ref}/treat", summary="Decide the treatment; its controls enter the SoA")
def risk_treat(ctx: OwnerWriter, ref: str, body: TreatIn) -> dict[str, Any]:
    ctx.require_owner(get_risk(ctx.session, ctx.org, ref).owner)
    risk = treat(
        ctx.session,
        ctx.org,
        ref,
        body.option,
        plan=body.plan,
        controls=body.controls,
        framework=body.framework,
        due_date=body.due,
        residual_likelihood=body.residual_likelihood,
        residual_impact=body.residual_impact,
        actor=ctx.actor,
    )
    ctx.commit()
    return _risk(ctx, risk.ref)


@router.post("/risks/{ref}/accept", summary="Formally accept the residual risk")
def risk_accept(ctx: Writer, ref: str, body: AcceptIn) -> dict[str, Any]:
    risk = accept(ctx.session, ctx.org, ref, body.approver, body.expires, body.rationale)
    ctx.commit()
    return _risk(ctx, risk.ref)
