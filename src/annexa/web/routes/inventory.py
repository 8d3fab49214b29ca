"""Information assets and AI systems: lists (filtered, paged, downloadable), a page each,
forms to add and change them. Contributors add and change the ones they own."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from fastapi import APIRouter
from starlette.responses import RedirectResponse, Response

from annexa.assets import (
    AI_ROLES,
    ASSET_KINDS,
    LIFECYCLE_STAGES,
    RISK_CLASSES,
    add_ai_system,
    add_asset,
    ai_system_to_dict,
    asset_to_dict,
    asset_usage,
    get_ai_system,
    get_asset,
    get_scheme,
    list_ai_systems,
    list_assets,
    update_ai_system,
    update_asset,
)
from annexa.errors import AnnexaError, Forbidden, InvalidInput
from annexa.suppliers import list_suppliers
from annexa.web.deps import OrgPage, OwnerWriter, Reader
from annexa.web.export import Column, column, table_response
from annexa.web.forms import Fields, FormData, errors_of
from annexa.web.queries import PAGE_SIZES, window
from annexa.web.render import render

router = APIRouter(prefix="/o/{slug}")

NOTICES = {"added": "Added.", "saved": "Changes saved."}
ASSET_FIELDS = (
    "name",
    "kind",
    "classification",
    "tags",
    "owner",
    "location",
    "supplier",
    "description",
)
ASSET_ALIASES = {"tag": "tags"}
AI_FIELDS = (
    "name",
    "purpose",
    "provider",
    "model",
    "role",
    "data_categories",
    "human_oversight",
    "risk_class",
    "stage",
    "owner",
    "supplier",
    "assets",
)
AI_ALIASES = {"data_category": "data_categories", "oversight": "human_oversight", "asset": "assets"}


@dataclass(frozen=True)
class Register:
    """What the shared handlers need to know of a register."""

    section: str  # its records live at /o/{slug}/{section}/item/{name}
    fields: tuple[str, ...]  # its form's fields, where a service error can be shown
    aliases: dict[str, str]  # service field names that differ from the form's


ASSETS = Register("assets", ASSET_FIELDS, ASSET_ALIASES)
AI_SYSTEMS = Register("ai-systems", AI_FIELDS, AI_ALIASES)


def _choices(page: OrgPage) -> dict[str, Any]:
    scheme = get_scheme(page.org)
    return {
        "kinds": ASSET_KINDS,
        "levels": scheme.level_names,
        "scheme_tags": scheme.tag_names,
        "suppliers": [s.name for s in list_suppliers(page.session, page.org)],
        "roles": AI_ROLES,
        "risk_classes": RISK_CLASSES,
        "stages": LIFECYCLE_STAGES,
        "page_sizes": PAGE_SIZES,
    }


def _search(rows: list[dict[str, Any]], q: str | None, *keys: str) -> list[dict[str, Any]]:
    if not q:
        return rows
    needle = q.casefold()
    return [r for r in rows if any(needle in str(r.get(k) or "").casefold() for k in keys)]


def _pick(value: str | None, allowed: Any) -> str | None:
    return value if value in allowed else None


def _notice(page: OrgPage) -> str | None:
    return NOTICES.get(page.request.query_params.get("notice") or "")


def _list_page(
    page: OrgPage,
    template: str,
    nav: str,
    filters: dict[str, Any],
    rows: list[dict[str, Any]],
    *,
    errors: dict[str, str] | None,
    values: Any,
    status: int,
) -> Response:
    """A register's page: one window of ``rows``, its filters, and the add form (open, with
    the refused values and their errors, after a refused add)."""
    params = page.request.query_params
    shown, pager = window(rows, params.get("page"), params.get("per"))
    return render(
        page.request,
        template,
        {
            "page": page,
            "nav": nav,
            "rows": shown,
            "pager": pager,
            "filters": filters,
            "params": {**filters, "per": pager.size if pager.size != 50 else None},
            **_choices(page),
            "errors": errors or {},
            "values": values or {},
            "add_open": bool(errors),
            "notice": _notice(page) if status == 200 else None,
        },
        status_code=status,
    )


def _require_owners(page: OrgPage, current: str | None, values: dict[str, Any]) -> None:
    """Contributors change only what they own, and may not hand it to someone else."""
    page.require_owner(current)
    if values["owner"] != (current or ""):
        page.require_owner(values["owner"] or None)


def _submit(
    page: OrgPage,
    register: Register,
    write: Callable[[], str],
    *,
    values: dict[str, Any],
    refused: Callable[..., Response],
    notice: str,
) -> Response:
    """Run ``write`` (it returns the record's name) as one audited change, then go to the
    record's page. A change the service refuses shows ``refused`` again, with the posted
    values and the error next to its field (422); a role refusal stays a 403."""
    try:
        with page.writing():
            name = write()
    except Forbidden:
        raise
    except AnnexaError as exc:
        errors = errors_of(exc, register.fields, register.aliases)
        return refused(errors=errors, values=values, status=422)
    return RedirectResponse(page.url(register.section, "item", name) + f"?notice={notice}", 303)


# --- assets -------------------------------------------------------------------------------


def _asset_filters(page: OrgPage) -> dict[str, Any]:
    params = page.request.query_params
    scheme = get_scheme(page.org)
    return {
        "classification": _pick(params.get("classification"), scheme.level_names),
        "kind": _pick(params.get("kind"), ASSET_KINDS),
        "tag": _pick(params.get("tag"), scheme.tag_names),
        "owner": (params.get("owner") or "").strip()[:200] or None,
        "q": (params.get("q") or "").strip()[:200] or None,
    }


def _assets(page: OrgPage, filters: dict[str, Any]) -> list[dict[str, Any]]:
    rows = list_assets(
        page.session,
        page.org,
        classification=filters["classification"],
        tag=filters["tag"],
        owner=filters["owner"],
        kind=filters["kind"],
    )
    return _search(rows, filters["q"], "name", "description", "location", "owner")


def _assets_page(
    page: OrgPage, *, errors: dict[str, str] | None = None, values: Any = None, status: int = 200
) -> Response:
    filters = _asset_filters(page)
    rows = _assets(page, filters)
    return _list_page(
        page, "assets.html", "assets", filters, rows, errors=errors, values=values, status=status
    )


@router.get("/assets")
def assets(page: Reader) -> Response:
    return _assets_page(page)


ASSET_COLUMNS: tuple[Column, ...] = (
    column("Name", "name", 30),
    column("Kind", "kind", 12),
    column("Classification", "classification", 14),
    column("Tags", "tags", 20),
    column("Owner", "owner", 20),
    column("Location", "location", 20),
    column("Supplier", "supplier", 20),
    column("Description", "description", 50),
    column("Updated", "updated_at", 20),
)


@router.get("/assets/export.{fmt}")
def assets_export(page: Reader, fmt: str) -> Response:
    _check_format(fmt)
    rows = _assets(page, _asset_filters(page))
    return table_response(fmt, f"assets-{page.slug}", "Assets", ASSET_COLUMNS, rows)


def _asset_values(form: Fields) -> dict[str, Any]:
    return {
        "name": form.text("name") or "",
        "kind": form.text("kind") or "information",
        "classification": form.text("classification") or "",
        "tags": form.getlist("tags"),
        "owner": form.text("owner") or "",
        "location": form.text("location") or "",
        "supplier": form.text("supplier") or "",
        "description": form.text("description") or "",
    }


@router.post("/assets")
def asset_add(page: OwnerWriter, form: FormData) -> Response:
    values = _asset_values(form)
    page.require_owner(values["owner"] or None)

    def write() -> str:
        return add_asset(
            page.session,
            page.org,
            values["name"],
            classification=values["classification"],
            kind=values["kind"],
            description=values["description"] or None,
            owner=values["owner"] or None,
            tags=values["tags"],
            location=values["location"] or None,
            supplier=values["supplier"] or None,
        ).name

    refused = partial(_assets_page, page)
    return _submit(page, ASSETS, write, values=values, refused=refused, notice="added")


def _asset_detail(
    page: OrgPage, name: str, *, errors: Any = None, values: Any = None, status: int = 200
) -> Response:
    asset = get_asset(page.session, page.org, name)
    data = asset_to_dict(asset)
    return render(
        page.request,
        "asset.html",
        {
            "page": page,
            "nav": "assets",
            "asset": data,
            "usage": asset_usage(page.session, page.org, asset),
            "may_change": page.may_change(asset.owner),
            **_choices(page),
            "errors": errors or {},
            "values": values or data,
            "notice": _notice(page) if status == 200 else None,
        },
        status_code=status,
    )


@router.get("/assets/item/{name:path}")
def asset_page(page: Reader, name: str) -> Response:
    return _asset_detail(page, name)


@router.post("/assets/item/{name:path}")
def asset_save(page: OwnerWriter, name: str, form: FormData) -> Response:
    asset = get_asset(page.session, page.org, name)
    values = _asset_values(form)
    _require_owners(page, asset.owner, values)

    def write() -> str:
        return update_asset(
            page.session,
            page.org,
            asset.name,
            new_name=values["name"],
            classification=values["classification"],
            kind=values["kind"],
            description=values["description"],
            owner=values["owner"],
            tags=values["tags"],
            location=values["location"],
            supplier=values["supplier"],
        ).name

    refused = partial(_asset_detail, page, name)
    return _submit(page, ASSETS, write, values=values, refused=refused, notice="saved")


# --- AI systems ------------------------------------------------------------------------------


def _ai_filters(page: OrgPage) -> dict[str, Any]:
    params = page.request.query_params
    return {
        "risk_class": _pick(params.get("risk_class"), RISK_CLASSES),
        "stage": _pick(params.get("stage"), LIFECYCLE_STAGES),
        "q": (params.get("q") or "").strip()[:200] or None,
    }


def _ai_systems(page: OrgPage, filters: dict[str, Any]) -> list[dict[str, Any]]:
    rows = list_ai_systems(
        page.session, page.org, risk_class=filters["risk_class"], stage=filters["stage"]
    )
    return _search(rows, filters["q"], "name", "purpose", "provider", "model", "owner")


def _ai_page(
    page: OrgPage, *, errors: dict[str, str] | None = None, values: Any = None, status: int = 200
) -> Response:
    filters = _ai_filters(page)
    rows = _ai_systems(page, filters)
    return _list_page(
        page, "ai_systems.html", "ai", filters, rows, errors=errors, values=values, status=status
    )


@router.get("/ai-systems")
def ai_systems(page: Reader) -> Response:
    return _ai_page(page)


AI_COLUMNS: tuple[Column, ...] = (
    column("Name", "name", 28),
    column("Purpose", "purpose", 40),
    column("Provider", "provider", 20),
    column("Model", "model", 16),
    column("Role", "role", 10),
    column("EU AI Act risk class", "risk_class", 14),
    column("Lifecycle stage", "lifecycle_stage", 14),
    column("Data categories", "data_categories", 24),
    column("Human oversight", "human_oversight", 40),
    column("Owner", "owner", 20),
    column("Supplier", "supplier", 20),
    column("Assets", "assets", 30),
    Column("Findings", lambda r: [f["message"] for f in r["findings"]], 40),
)


@router.get("/ai-systems/export.{fmt}")
def ai_export(page: Reader, fmt: str) -> Response:
    _check_format(fmt)
    rows = _ai_systems(page, _ai_filters(page))
    return table_response(fmt, f"ai-systems-{page.slug}", "AI systems", AI_COLUMNS, rows)


def _ai_values(form: Fields) -> dict[str, Any]:
    assets = [line.strip() for line in (form.get("assets") or "").splitlines() if line.strip()]
    return {
        "name": form.text("name") or "",
        "purpose": form.text("purpose") or "",
        "provider": form.text("provider") or "",
        "model": form.text("model") or "",
        "role": form.text("role") or "deployer",
        "data_categories": form.text("data_categories") or "",
        "human_oversight": form.text("human_oversight") or "",
        "risk_class": form.text("risk_class") or "minimal",
        "stage": form.text("stage") or "operation",
        "owner": form.text("owner") or "",
        "supplier": form.text("supplier") or "",
        "assets": assets,
    }


@router.post("/ai-systems")
def ai_add(page: OwnerWriter, form: FormData) -> Response:
    values = _ai_values(form)
    page.require_owner(values["owner"] or None)

    def write() -> str:
        return add_ai_system(
            page.session,
            page.org,
            values["name"],
            purpose=values["purpose"],
            provider=values["provider"] or None,
            model=values["model"] or None,
            role=values["role"],
            data_categories=values["data_categories"],
            human_oversight=values["human_oversight"] or None,
            risk_class=values["risk_class"],
            stage=values["stage"],
            owner=values["owner"] or None,
            assets=values["assets"],
            supplier=values["supplier"] or None,
        ).name

    refused = partial(_ai_page, page)
    return _submit(page, AI_SYSTEMS, write, values=values, refused=refused, notice="added")


def _ai_detail(
    page: OrgPage, name: str, *, errors: Any = None, values: Any = None, status: int = 200
) -> Response:
    system = get_ai_system(page.session, page.org, name)
    data = ai_system_to_dict(system)
    form_values = values or {
        **data,
        "stage": data["lifecycle_stage"],
        "data_categories": ", ".join(data["data_categories"]),
    }
    return render(
        page.request,
        "ai_system.html",
        {
            "page": page,
            "nav": "ai",
            "system": data,
            "may_change": page.may_change(system.owner),
            **_choices(page),
            "errors": errors or {},
            "values": form_values,
            "notice": _notice(page) if status == 200 else None,
        },
        status_code=status,
    )


@router.get("/ai-systems/item/{name:path}")
def ai_page(page: Reader, name: str) -> Response:
    return _ai_detail(page, name)


@router.post("/ai-systems/item/{name:path}")
def ai_save(page: OwnerWriter, name: str, form: FormData) -> Response:
    system = get_ai_system(page.session, page.org, name)
    values = _ai_values(form)
    _require_owners(page, system.owner, values)

    def write() -> str:
        return update_ai_system(
            page.session,
            page.org,
            system.name,
            new_name=values["name"],
            purpose=values["purpose"],
            provider=values["provider"],
            model=values["model"],
            role=values["role"],
            data_categories=values["data_categories"],
            human_oversight=values["human_oversight"],
            risk_class=values["risk_class"],
            stage=values["stage"],
            owner=values["owner"],
            assets=values["assets"],
            supplier=values["supplier"],
        ).name

    refused = partial(_ai_detail, page, name)
    return _submit(page, AI_SYSTEMS, write, values=values, refused=refused, notice="saved")


def _check_format(fmt: str) -> None:
    if fmt not in ("csv", "xlsx"):
        raise InvalidInput(f"{fmt!r} is not an export format", field="format", fix="csv or xlsx")
