"""Frameworks, their requirements and cross-framework mappings.

``/catalogs`` are the built-in frameworks; ``/orgs/{org}/catalogs`` adds the frameworks the
organisation imported, and takes new imports (as `annexa catalog import`): admins and
editors with a write token, like any other change to the organisation's ISMS. An import is
YAML in our format or a CISO Assistant library, sent as ``text/yaml`` (the file as it is)
or as JSON ``{"yaml": "…", "id": "…"}``; bodies over 4 MiB answer 413 unread.
"""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from annexa.api.bodies import PayloadTooLarge, read_bounded
from annexa.api.deps import Authenticated, Paging, Reader, Writer, page
from annexa.api.errors import ErrorResponse
from annexa.catalog import (
    Framework,
    get_framework,
    import_framework_text,
    list_frameworks,
    list_mappings,
    map_requirement,
)
from annexa.catalog.schema import KINDS
from annexa.errors import AnnexaError, InvalidInput, NotFound
from annexa.risk import list_threats

router = APIRouter(tags=["catalogs"])

MAX_IMPORT = 4 << 20  # bytes of an imported framework file
YAML_TYPES = ("text/yaml", "application/yaml", "application/x-yaml", "text/plain")


class UnsupportedMediaType(AnnexaError):
    code = "unsupported_media_type"
    http_status = 415


def _framework_data(framework: Framework, kind: str | None, group: str | None) -> dict[str, Any]:
    requirements = framework.requirements
    if kind is not None:
        wanted = kind.strip().lower()
        if wanted not in KINDS:
            raise InvalidInput(
                f"unknown kind {kind!r}", field="kind", fix="use one of: " + ", ".join(KINDS)
            )
        requirements = [r for r in requirements if r.kind == wanted]
    if group is not None:
        try:
            group_id = framework.group(group).id
        except NotFound as exc:
            raise NotFound(exc.message, field="group", fix=exc.fix) from None
        requirements = [r for r in requirements if r.group == group_id]
    data: dict[str, Any] = framework.to_dict()
    data["requirements"] = [r.to_dict() for r in requirements]
    return data


KindQuery = Annotated[str | None, Query(max_length=32)]
GroupQuery = Annotated[str | None, Query(max_length=64)]


@router.get("/catalogs", summary="Built-in frameworks")
def catalogs(caller: Authenticated, paging: Paging) -> dict[str, Any]:
    rows = [fw.summary() for fw in list_frameworks()]
    return page(rows, paging, ("id", "name"))


@router.get("/catalogs/{fw}", summary="One framework and its requirements")
def catalog(
    caller: Authenticated, fw: str, kind: KindQuery = None, group: GroupQuery = None
) -> dict[str, Any]:
    return _framework_data(get_framework(fw), kind, group)


@router.get("/catalogs/{fw}/map/{target}/{ref}", summary="What a requirement maps to")
def catalog_map(caller: Authenticated, fw: str, target: str, ref: str) -> dict[str, Any]:
    source_fw = get_framework(fw)
    target_fw = get_framework(target)
    requirement = source_fw.requirement(ref)
    pairs = map_requirement(source_fw.id, target_fw.id, requirement.ref)
    return {
        "source": {"framework": source_fw.id, "ref": requirement.ref, "title": requirement.title},
        "target_framework": target_fw.id,
        "targets": [
            {"ref": t_ref, "relationship": rel, "title": target_fw.requirement(t_ref).title}
            for t_ref, rel in pairs
        ],
    }


@router.get("/mappings", summary="The mapping sets between frameworks (usable both ways)")
def mappings(caller: Authenticated, paging: Paging) -> dict[str, Any]:
    rows = [
        {"source": m.source, "target": m.target, "count": m.count, "description": m.description}
        for m in list_mappings()
    ]
    return page(rows, paging, ("source", "target", "count"))


@router.get("/orgs/{org}/catalogs", summary="Frameworks: the built-in ones and the imported")
def org_catalogs(ctx: Reader, paging: Paging) -> dict[str, Any]:
    rows = [fw.summary() for fw in list_frameworks(ctx.session, ctx.org.id)]
    return page(rows, paging, ("id", "name"))


@router.get("/orgs/{org}/catalogs/{fw}", summary="One framework (built-in or imported)")
def org_catalog(
    ctx: Reader, fw: str, kind: KindQuery = None, group: GroupQuery = None
) -> dict[str, Any]:
    return _framework_data(get_framework(fw, ctx.session, ctx.org.id), kind, group)


class ImportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    yaml: str = Field(max_length=MAX_IMPORT, description="The framework file's text.")
    id: str | None = Field(
        default=None, max_length=64, description="Store under this id instead of the file's."
    )


def _too_large() -> PayloadTooLarge:
    return PayloadTooLarge(
        f"the framework is over {MAX_IMPORT} bytes",
        field="body",
        fix="split the framework, or import it with `annexa catalog import`",
    )


async def import_body(request: Request) -> ImportIn:
    """The framework text of an import request, read at most :data:`MAX_IMPORT` bytes far.
    A dependency after the permission check, so a stranger's upload is never read."""
    raw = await read_bounded(request, MAX_IMPORT, _too_large)
    media = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media == "application/json":
        try:
            return ImportIn.model_validate(orjson.loads(raw))
        except orjson.JSONDecodeError:
            raise InvalidInput("the body is not valid JSON", field="body") from None
        except ValidationError as exc:
            error = exc.errors()[0]
            where = ".".join(str(part) for part in error.get("loc", ())) or "body"
            raise InvalidInput(str(error.get("msg", "is invalid")), field=where) from None
    if media in YAML_TYPES:
        try:
            return ImportIn(yaml=raw.decode("utf-8"))
        except UnicodeDecodeError:
            raise InvalidInput("the body is not UTF-8 text", field="body") from None
    raise UnsupportedMediaType(
        f"cannot import a {media or 'body without a content type'}",
        field="Content-Type",
        fix='send the file as text/yaml, or JSON {"yaml": "…"}',
    )


_IMPORT_SCHEMA = ImportIn.model_json_schema()


@router.post(
    "/orgs/{org}/catalogs",
    status_code=201,
    summary="Import a framework (our YAML or a CISO Assistant library) for the organisation",
    responses={
        413: {"model": ErrorResponse, "description": "The body is over 4 MiB."},
        415: {"model": ErrorResponse, "description": "Neither YAML nor JSON."},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "text/yaml": {"schema": {"type": "string", "maxLength": MAX_IMPORT}},
                "application/json": {"schema": _IMPORT_SCHEMA},
            },
        }
    },
)
def org_catalog_import(
    ctx: Writer,
    body: Annotated[ImportIn, Depends(import_body)],
    id: Annotated[
        str | None,
        Query(max_length=64, description="Store under this id instead of the file's."),
    ] = None,
) -> dict[str, Any]:
    framework = import_framework_text(
        ctx.session, ctx.org.id, body.yaml, framework_id=body.id or id, source="the framework"
    )
    ctx.commit()
    return {
        **framework.summary(),
        "source_format": framework.source_format,
        "groups": len(framework.groups),
    }


@router.get("/threats", summary="The threat library, with suggested controls")
def threats(
    caller: Authenticated,
    paging: Paging,
    category: Annotated[str | None, Query(max_length=32)] = None,
) -> dict[str, Any]:
    try:
        rows = [t.to_dict() for t in list_threats(category)]
    except InvalidInput as exc:
        raise InvalidInput(exc.message, field="category", fix=exc.fix) from None
    return page(rows, paging, ("id", "name", "category"))
