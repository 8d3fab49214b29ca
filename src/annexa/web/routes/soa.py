"""The Statement of Applicability editor: per framework, filtered by theme, status and
applicability; decide one control (inline with htmx, or on its own page without
JavaScript) or several at once; publish versions, compare them and download the SoA.

Decisions go through :func:`annexa.soa.set_decision`, so its rules hold here too: an
exclusion needs a justification, a control a treatment plan uses cannot be excluded.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.datastructures import QueryParams
from starlette.responses import RedirectResponse, Response

from annexa.catalog import SOA_FRAMEWORKS
from annexa.errors import AnnexaError, InvalidInput
from annexa.soa import (
    DEFAULT_FRAMEWORK,
    STATUSES,
    diff,
    list_versions,
    publish,
    set_decision,
    soa_entry,
    soa_view,
    summarise,
    version_summary,
)
from annexa.soa.entries import REPORTED_STATUSES, annex_a_control, soa_framework
from annexa.validation import plain_number
from annexa.web.deps import OrgPage, Reader, Writer
from annexa.web.export import soa_response
from annexa.web.forms import GENERAL, FormData, errors_of
from annexa.web.queries import soa_page_view
from annexa.web.render import is_htmx, query, render

router = APIRouter(prefix="/o/{slug}/soa")

APPLICABILITY = {"yes": True, "no": False, "undecided": None}
DECISION_FIELDS = ("decision", "justification", "status", "owner", "notes")
DECISION_ALIASES = {
    "not_applicable": "decision",
    "applicable": "decision",
    "reason": "decision",
    "allow_undecided": GENERAL,
}
BULK_FIELDS = ("refs", "bulk_decision", "bulk_justification", "bulk_status")
NOTICES = {"saved": "Decision saved.", "published": "Version published."}


def _framework(params: Any) -> str:
    wanted = (params.get("framework") or DEFAULT_FRAMEWORK).strip().lower()
    return wanted if wanted in SOA_FRAMEWORKS else DEFAULT_FRAMEWORK


def _filters(params: Any, fw: Any) -> dict[str, Any]:
    groups = {g.id.casefold(): g.id for g in fw.groups}
    group = groups.get((params.get("group") or "").strip().casefold())
    status = params.get("status") or None
    applicability = params.get("applicability") or None
    version = params.get("version") or ""
    return {
        "group": group,
        "status": status if status in REPORTED_STATUSES else None,
        "applicability": applicability if applicability in APPLICABILITY else None,
        "version": plain_number(version) or None,
    }


def _document(
    page: OrgPage, framework: str, filters: dict[str, Any], *, for_page: bool = False
) -> dict[str, Any]:
    if for_page and filters["version"] is None:
        document = soa_page_view(
            page.session, page.org, framework, group=filters["group"], status=filters["status"]
        )
    else:
        document = soa_view(
            page.session,
            page.org,
            framework,
            version=filters["version"],
            group=filters["group"],
            status=filters["status"],
        )
    if filters["applicability"]:
        wanted = APPLICABILITY[filters["applicability"]]
        document["entries"] = [e for e in document["entries"] if e["applicable"] is wanted]
        document["summary"] = summarise(document["entries"])
        document["filters"]["applicability"] = filters["applicability"]
    return document


def _soa_page(
    page: OrgPage,
    params: Any,
    *,
    bulk_errors: dict[str, str] | None = None,
    bulk_values: dict[str, Any] | None = None,
    publish_errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    framework = _framework(params)
    fw = soa_framework(framework)
    filters = _filters(params, fw)
    document = _document(page, framework, filters, for_page=True)
    editable = filters["version"] is None and page.can_write
    link_params = {"framework": framework if framework != DEFAULT_FRAMEWORK else None}
    link_params.update({k: v for k, v in filters.items() if v is not None})
    versions = [version_summary(v) for v in list_versions(page.session, page.org.id, framework)]
    return render(
        page.request,
        "soa.html",
        {
            "page": page,
            "nav": "soa",
            "framework": framework,
            "frameworks": [(f, soa_framework(f).name) for f in SOA_FRAMEWORKS],
            "document": document,
            "filters": filters,
            "params": link_params,
            "groups": document["groups"],
            "statuses": STATUSES,
            "reported_statuses": REPORTED_STATUSES,
            "editable": editable,
            "versions": versions,
            "bulk_errors": bulk_errors or {},
            "bulk_values": bulk_values or {},
            "publish_errors": publish_errors or {},
            "notice": _notice(params) if status_code == 200 else None,
        },
        status_code=status_code,
    )


def _notice(params: Any) -> str | None:
    updated = params.get("updated") or ""
    count = plain_number(updated)
    if count is not None:
        return f"{count} control{'s' if count != 1 else ''} updated."
    return NOTICES.get(params.get("notice") or "")


@router.get("")
def soa_page(page: Reader) -> Response:
    return _soa_page(page, page.request.query_params)


@router.get("/export.{fmt}")
def soa_export(page: Reader, fmt: str) -> Response:
    if fmt not in ("csv", "xlsx"):
        raise InvalidInput(f"{fmt!r} is not an export format", field="format", fix="csv or xlsx")
    params = page.request.query_params
    framework = _framework(params)
    document = _document(page, framework, _filters(params, soa_framework(framework)))
    return soa_response(document, fmt, page.slug)


# --- deciding one control ------------------------------------------------------------------


def _decide(page: OrgPage, framework: str, ref: str, form: Any) -> dict[str, Any]:
    """Apply the decision form to one control (the caller commits)."""
    current = soa_entry(page.session, page.org.id, framework, ref)
    decision = form.text("decision") or ""
    applicable = {"applicable": True, "not_applicable": False}.get(decision)
    will_apply = applicable is True or (applicable is None and current["applicable"] is True)
    status = form.optional("status") if will_apply else None
    if status is not None and status == current["status"] and applicable is None:
        status = None  # unchanged
    return set_decision(
        page.session,
        page.org.id,
        framework,
        ref,
        applicable=applicable,
        justification=form.text("justification"),
        status=status,
        owner=form.text("owner"),
        notes=form.text("notes"),
        actor=page.actor,
    )


def _control_context(page: OrgPage, framework: str, ref: str) -> dict[str, Any]:
    fw = soa_framework(framework)
    control = annex_a_control(fw, ref)
    entry = soa_entry(page.session, page.org.id, framework, control.ref)
    return {
        "page": page,
        "nav": "soa",
        "framework": framework,
        "framework_name": fw.name,
        "entry": entry,
        "groups": {g.id: g.title for g in fw.groups},
        "statuses": STATUSES,
        "errors": {},
        "values": {},
        "editable": page.can_write,
        "back": query(page.base + "/soa", framework=framework) + f"#soa-{control.ref}",
    }


@router.get("/control/{ref}")
def control_page(page: Reader, ref: str) -> Response:
    framework = _framework(page.request.query_params)
    return render(page.request, "soa_control.html", _control_context(page, framework, ref))


@router.get("/control/{ref}/row")
def control_row(page: Reader, ref: str) -> Response:
    framework = _framework(page.request.query_params)
    context = _control_context(page, framework, ref)
    return render(page.request, "_soa_row.html", context)


@router.get("/control/{ref}/edit")
def control_edit(page: Writer, ref: str) -> Response:
    framework = _framework(page.request.query_params)
    context = _control_context(page, framework, ref)
    if not is_htmx(page.request):
        return RedirectResponse(query(page.url("soa", "control", ref), framework=framework), 303)
    return render(page.request, "_soa_edit_row.html", context)


@router.post("/control/{ref}")
def control_save(page: Writer, ref: str, form: FormData) -> Response:
    framework = _framework(page.request.query_params)
    inline = is_htmx(page.request) and form.get("inline") == "1"
    try:
        with page.writing():
            _decide(page, framework, ref, form)
    except AnnexaError as exc:
        if exc.http_status == 403:
            raise
        context = _control_context(page, framework, ref)
        context["errors"] = errors_of(exc, DECISION_FIELDS, DECISION_ALIASES)
        context["values"] = form.values()
        template = "_soa_edit_row.html" if inline else "soa_control.html"
        return render(page.request, template, context, status_code=422)
    if inline:
        return render(page.request, "_soa_row.html", _control_context(page, framework, ref))
    anchor = annex_a_control(soa_framework(framework), ref).ref
    target = query(page.base + "/soa", framework=framework, notice="saved") + f"#soa-{anchor}"
    return RedirectResponse(target, 303)


# --- several controls at once, publishing --------------------------------------------------


@router.post("/bulk")
def bulk(page: Writer, form: FormData) -> Response:
    params = QueryParams(page.request.query_params)
    framework = _framework(params)
    refs = [r for r in form.getlist("refs") if r.strip()]
    decision = form.text("bulk_decision") or ""
    justification = form.text("bulk_justification")
    status = form.optional("bulk_status")
    values = {
        "refs": refs,
        "bulk_decision": decision,
        "bulk_justification": justification or "",
        "bulk_status": status or "",
    }
    try:
        if not refs:
            raise InvalidInput(
                "select at least one control", field="refs", fix="tick the controls to change"
            )
        if decision not in ("applicable", "not_applicable", "status"):
            raise InvalidInput(
                "choose what to do with the selected controls",
                field="bulk_decision",
                fix="applicable, not applicable, or set status",
            )
        if decision == "status" and status is None:
            raise InvalidInput("choose a status", field="bulk_status", fix="pick one")
        with page.writing():
            for ref in refs:
                try:
                    set_decision(
                        page.session,
                        page.org.id,
                        framework,
                        ref,
                        applicable={"applicable": True, "not_applicable": False}.get(decision),
                        justification=justification,
                        status=status if decision != "not_applicable" else None,
                        actor=page.actor,
                    )
                except AnnexaError as exc:
                    exc.message = f"{ref}: {exc.message}"
                    raise
    except AnnexaError as exc:
        if exc.http_status == 403:
            raise
        aliases = {
            **DECISION_ALIASES,
            "justification": "bulk_justification",
            "status": "bulk_status",
            "decision": "bulk_decision",
        }
        aliases.update({k: "bulk_decision" for k, v in DECISION_ALIASES.items() if v == "decision"})
        errors = errors_of(exc, BULK_FIELDS, aliases)
        return _soa_page(page, params, bulk_errors=errors, bulk_values=values, status_code=422)
    # Free text never travels in the URL: only known notice keys or counts.
    target = query(page.base + "/soa", framework=framework, updated=len(refs))
    return RedirectResponse(target, status_code=303)


@router.post("/publish")
def publish_version(page: Writer, form: FormData) -> Response:
    framework = _framework(page.request.query_params)
    try:
        with page.writing():
            publish(
                page.session,
                page.org.id,
                framework,
                actor=page.actor,
                note=form.optional("note"),
                allow_undecided=form.flag("allow_undecided"),
            )
    except AnnexaError as exc:
        if exc.http_status == 403:
            raise
        errors = errors_of(exc, ("note", "allow_undecided"))
        return _soa_page(page, page.request.query_params, publish_errors=errors, status_code=422)
    return RedirectResponse(
        query(page.base + "/soa/versions", framework=framework, notice="published"), 303
    )


def _sides(rows: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [("current", "Current decisions")] + [
        (str(v["version"]), f"Version {v['version']}") for v in rows
    ]


@router.get("/versions")
def versions(page: Reader) -> Response:
    params = page.request.query_params
    framework = _framework(params)
    rows = [version_summary(v) for v in list_versions(page.session, page.org.id, framework)]
    return render(
        page.request,
        "soa_versions.html",
        {
            "page": page,
            "nav": "soa",
            "framework": framework,
            "framework_name": soa_framework(framework).name,
            "frameworks": [(f, soa_framework(f).name) for f in SOA_FRAMEWORKS],
            "versions": rows,
            "side_options": _sides(rows),
            "notice": NOTICES.get(params.get("notice") or ""),
        },
    )


@router.get("/diff")
def version_diff(page: Reader) -> Response:
    params = page.request.query_params
    framework = _framework(params)
    left = (params.get("from") or "").strip() or "1"
    right = (params.get("to") or "").strip() or "current"
    rows = [version_summary(v) for v in list_versions(page.session, page.org.id, framework)]
    error = None
    result = None
    try:
        result = diff(page.session, page.org.id, framework, left, right)
    except AnnexaError as exc:
        error = exc.message
    return render(
        page.request,
        "soa_diff.html",
        {
            "page": page,
            "nav": "soa",
            "framework": framework,
            "framework_name": soa_framework(framework).name,
            "versions": rows,
            "side_options": _sides(rows),
            "left": left,
            "right": right,
            "result": result,
            "error": error,
        },
        status_code=200 if error is None else 422,
    )
