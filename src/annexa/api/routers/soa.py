"""The Statement of Applicability: show, decide, publish, compare and export."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from annexa.api.deps import Paging, Reader, Writer, page
from annexa.errors import InvalidInput
from annexa.soa import (
    DEFAULT_FRAMEWORK,
    diff,
    list_versions,
    publish,
    set_decision,
    soa_view,
    version_summary,
)
from annexa.soa.entries import soa_framework
from annexa.soa.export import export

MAX_VERSION = 2**31 - 1  # a version number beyond any database integer is simply invalid

router = APIRouter(prefix="/orgs/{org}/soa", tags=["soa"])
Framework = Annotated[str, Query(max_length=64, description="iso27001-2022 or iso42001-2023")]
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    applicable: bool | None = Field(default=None, description="true, false or omitted")
    justification: str | None = Field(default=None, max_length=20000)
    reasons: list[Annotated[str, Field(max_length=32)]] = Field(default=[], max_length=10)
    status: str | None = Field(default=None, max_length=16)
    owner: str | None = Field(default=None, max_length=200)
    notes: str | None = Field(default=None, max_length=20000)


class PublishIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str | None = Field(default=None, max_length=2000)
    allow_undecided: bool = False


@router.get("", summary="Every Annex A control with its decision, status and linked risks")
def show(
    ctx: Reader,
    paging: Paging,
    framework: Framework = DEFAULT_FRAMEWORK,
    group: Annotated[str | None, Query(max_length=64)] = None,
    status: Annotated[str | None, Query(max_length=16)] = None,
    version: Annotated[int | None, Query(ge=1, le=MAX_VERSION)] = None,
) -> dict[str, Any]:
    document = soa_view(
        ctx.session, ctx.org, framework, version=version, group=group, status=status
    )
    entries = document.pop("entries")
    return {**document, **page(entries, paging, ("ref", "status", "owner"))}


@router.put("/controls/{ref}", summary="Include or exclude a control; status, owner, notes")
def decide(
    ctx: Writer, ref: str, body: DecisionIn, framework: Framework = DEFAULT_FRAMEWORK
) -> dict[str, Any]:
    entry = set_decision(
        ctx.session,
        ctx.org.id,
        framework,
        ref,
        applicable=body.applicable,
        justification=body.justification,
        reasons=body.reasons,
        status=body.status,
        owner=body.owner,
        notes=body.notes,
        actor=ctx.actor,
    )
    ctx.commit()
    return entry


@router.post("/publish", status_code=201, summary="Freeze the SoA as the next version")
def publish_(
    ctx: Writer, body: PublishIn, framework: Framework = DEFAULT_FRAMEWORK
) -> dict[str, Any]:
    version = publish(
        ctx.session,
        ctx.org.id,
        framework,
        actor=ctx.actor,
        note=body.note,
        allow_undecided=body.allow_undecided,
    )
    data = version_summary(version)
    ctx.commit()
    return data


@router.get("/versions", summary="Published versions")
def versions(
    ctx: Reader, paging: Paging, framework: Framework = DEFAULT_FRAMEWORK
) -> dict[str, Any]:
    fw = soa_framework(framework)
    rows = [version_summary(v) for v in list_versions(ctx.session, ctx.org.id, fw.id)]
    return {"framework": fw.id, **page(rows, paging, ("version", "published_at"))}


@router.get("/diff", summary="What changed between two versions (or a version and current)")
def diff_(
    ctx: Reader,
    from_: Annotated[str, Query(alias="from", max_length=16, description="N or current")],
    to: Annotated[str, Query(max_length=16, description="N or current")],
    framework: Framework = DEFAULT_FRAMEWORK,
) -> dict[str, Any]:
    return diff(ctx.session, ctx.org.id, framework, from_, to, fields=("from", "to"))


@router.get(
    "/export",
    summary="The SoA as a file: XLSX (formatted), CSV or JSON",
    response_class=Response,
    responses={200: {"content": {t: {} for t in MEDIA_TYPES.values()}}},
)
def export_(
    ctx: Reader,
    format: Annotated[Literal["xlsx", "csv", "json"], Query()] = "xlsx",
    framework: Framework = DEFAULT_FRAMEWORK,
    version: Annotated[int | None, Query(ge=1, le=MAX_VERSION)] = None,
) -> Response:
    document = soa_view(ctx.session, ctx.org, framework, version=version)
    with tempfile.TemporaryDirectory(prefix="annexa-soa-") as folder:
        target = Path(folder) / f"soa.{format}"
        try:
            export(document, format, target)
        except InvalidInput as exc:  # the exporter's own checks name CLI options
            raise InvalidInput(exc.message, field="format", fix=exc.fix) from None
        content = target.read_bytes()
    label = f"v{document['version']}" if document["version"] else "current"
    filename = f"soa-{ctx.org.slug}-{document['framework']}-{label}.{format}"
    return Response(
        content,
        media_type=MEDIA_TYPES[format],
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
