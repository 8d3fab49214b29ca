"""The risk register: a paged, filtered, sortable table with inline edits (htmx), a form to
add a risk, and a page per risk to rate, treat and accept it.

The same rules as the API: contributors add and change the risks they own; formal
acceptance is for admins and editors.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter
from starlette.responses import RedirectResponse, Response

from annexa.errors import AnnexaError, Forbidden
from annexa.risk import (
    STATUSES,
    TREATMENTS,
    accept,
    add_risk,
    assess,
    get_matrix,
    get_risk,
    list_risks,
    list_threats,
    risk_to_dict,
    treat,
    update_risk,
)
from annexa.risk.service import normalise_ref
from annexa.validation import plain_number
from annexa.web.deps import OrgPage, OwnerWriter, Reader, Writer
from annexa.web.export import Column, column, table_response
from annexa.web.forms import GENERAL, FormData, errors_of
from annexa.web.queries import (
    PAGE_SIZES,
    RISK_SORTS,
    RiskQuery,
    risk_page,
    risk_row,
    severity_classes,
)
from annexa.web.render import is_htmx, render

router = APIRouter(prefix="/o/{slug}/risks")

NOTICES = {
    "added": "Risk added.",
    "saved": "Changes saved.",
    "assessed": "Rating saved.",
    "treated": "Treatment saved.",
    "accepted": "Acceptance recorded.",
}
ADD_FIELDS = ("title", "description", "owner", "threat_id", "likelihood", "impact", "review_date")
INLINE_FIELDS = ("owner", "review_date", "description", "likelihood", "impact", "treatment")


def _query(params: Any, page: OrgPage) -> RiskQuery:
    """The filters from the query string; values the page does not offer are dropped."""
    matrix = get_matrix(page.org)
    levels = {band.name.casefold(): band.name for band in matrix.levels}
    sort = params.get("sort") or "ref"
    if sort.lstrip("-") not in RISK_SORTS:
        sort = "ref"
    treatment = params.get("treatment") or None
    status = params.get("status") or None
    owner = (params.get("owner") or "").strip()[:200] or None
    q = (params.get("q") or "").strip()[:200] or None
    return RiskQuery(
        owner=owner,
        level=levels.get((params.get("level") or "").casefold()),
        treatment=treatment if treatment in (*TREATMENTS, "none") else None,
        status=status if status in STATUSES else None,
        q=q,
        overdue=params.get("overdue") == "1",
        sort=sort,
    )


def scale_options(matrix: Any) -> dict[str, list[tuple[int, str]]]:
    return {
        "likelihood_options": [(n, f"{n} – {text}") for n, text in enumerate(matrix.likelihood, 1)],
        "impact_options": [(n, f"{n} – {text}") for n, text in enumerate(matrix.impact, 1)],
    }


def _list_context(page: OrgPage, wanted: RiskQuery, number: Any, size: Any) -> dict[str, Any]:
    rows, pager = risk_page(page.session, page.org, wanted, number, size)
    matrix = get_matrix(page.org)
    params = wanted.params()
    if pager.size != 50:
        params["per"] = pager.size
    return {
        "page": page,
        "nav": "risks",
        "rows": rows,
        "pager": pager,
        "wanted": wanted,
        "params": params,
        "filter_params": {k: v for k, v in params.items() if k != "sort"},
        "sort": wanted.sort,
        "levels": [band.name for band in sorted(matrix.levels, key=lambda b: b.min)],
        "severity": severity_classes(matrix),
        "matrix": matrix,
        "treatments": TREATMENTS,
        "treatment_filter_options": [*((t, t.title()) for t in TREATMENTS), ("none", "None yet")],
        "statuses": STATUSES,
        "page_sizes": PAGE_SIZES,
        "threat_options": [(t.id, f"{t.id} — {t.name}") for t in list_threats()],
        **scale_options(matrix),
        "add_errors": {},
        "add_values": {},
        "add_open": False,
    }


@router.get("")
def risks(page: Reader) -> Response:
    params = page.request.query_params
    wanted = _query(params, page)
    context = _list_context(page, wanted, params.get("page"), params.get("per"))
    context["notice"] = NOTICES.get(params.get("notice") or "")
    return render(page.request, "risks.html", context)


@router.post("")
def risk_add(page: OwnerWriter, form: FormData) -> Response:
    values = {name: form.text(name) or "" for name in ADD_FIELDS}
    try:
        page.require_owner(values["owner"] or None)
        with page.writing():
            risk = add_risk(
                page.session,
                page.org,
                title=values["title"],
                description=values["description"] or None,
                owner=values["owner"] or None,
                threat_id=values["threat_id"] or None,
                likelihood=form.number("likelihood", "--likelihood"),
                impact=form.number("impact", "--impact"),
                review_date=values["review_date"] or None,
            )
            ref = risk.ref
    except Forbidden:
        raise
    except AnnexaError as exc:
        wanted = _query({}, page)
        context = _list_context(page, wanted, 1, None)
        context.update(
            add_errors=errors_of(exc, ADD_FIELDS, {"threat": "threat_id"}),
            add_values=values,
            add_open=True,
        )
        return render(page.request, "risks.html", context, status_code=422)
    return RedirectResponse(page.url("risks", ref) + "?notice=added", status_code=303)


# --- exports -------------------------------------------------------------------------------

EXPORT_COLUMNS: tuple[Column, ...] = (
    column("Ref", "ref", 10),
    column("Title", "title", 40),
    column("Description", "description", 50),
    column("Owner", "owner", 20),
    column("Threat", "threat", 30),
    column("Vulnerability", "vulnerability", 30),
    column("Assets", "assets", 30),
    Column("Inherent likelihood", lambda r: r["inherent"]["likelihood"], 10),
    Column("Inherent impact", lambda r: r["inherent"]["impact"], 10),
    Column("Inherent score", lambda r: r["inherent"]["score"], 10),
    Column("Inherent level", lambda r: r["inherent"]["level"], 12),
    Column("Residual likelihood", lambda r: r["residual"]["likelihood"], 10),
    Column("Residual impact", lambda r: r["residual"]["impact"], 10),
    Column("Residual score", lambda r: r["residual"]["score"], 10),
    Column("Residual level", lambda r: r["residual"]["level"], 12),
    column("Treatment", "treatment", 12),
    column("Treatment plan", "treatment_plan", 40),
    column("Controls", "controls", 30),
    column("Status", "status", 12),
    column("Due date", "due_date", 12),
    column("Review date", "review_date", 12),
)


def _python_sort_key(sort: str) -> Any:
    key = sort.lstrip("-")

    def value(row: dict[str, Any]) -> Any:
        if key == "ref":
            number = row["ref"].removeprefix("R-")
            value = plain_number(number, max_digits=18)
            return (0, value) if value is not None else (1, row["ref"])
        if key in ("inherent", "level"):
            score = row["inherent"]["score"]
            if key == "level":
                score = row["residual"]["score"] or score
            return (score is None, score or 0)
        found = row.get(key)
        return (found is None, str(found or "").casefold())

    return value


@router.get("/export.{fmt}")
def export(page: Reader, fmt: str) -> Response:
    if fmt not in ("csv", "xlsx"):
        raise AnnexaError("unknown export format", field="format")
    wanted = _query(page.request.query_params, page)
    rows = list_risks(
        page.session,
        page.org,
        level=wanted.level,
        owner=wanted.owner,
        status=wanted.status,
        treatment=wanted.treatment,
        overdue=True if wanted.overdue else None,
    )
    if wanted.q:
        needle = wanted.q.casefold()
        rows = [
            r
            for r in rows
            if needle in r["ref"].casefold()
            or needle in r["title"].casefold()
            or needle in (r["description"] or "").casefold()
        ]
    rows.sort(key=_python_sort_key(wanted.sort), reverse=wanted.sort.startswith("-"))
    return table_response(fmt, f"risks-{page.slug}", "Risk register", EXPORT_COLUMNS, rows)


# --- one risk: inline edit (htmx) ------------------------------------------------------------


def _row_response(page: OrgPage, ref: str, *, editing: bool, errors=None, values=None, status=200):  # type: ignore[no-untyped-def]
    row = risk_row(page.session, page.org, ref)
    if row is None:
        get_risk(page.session, page.org, ref)  # raises NotFound
    matrix = get_matrix(page.org)
    return render(
        page.request,
        "_risk_edit_row.html" if editing else "_risk_row.html",
        {
            "page": page,
            "risk": row,
            "severity": severity_classes(matrix),
            "matrix": matrix,
            "treatments": TREATMENTS,
            "errors": errors or {},
            "values": values or {},
        },
        status_code=status,
    )


@router.get("/{ref}/row")
def risk_row_fragment(page: Reader, ref: str) -> Response:
    return _row_response(page, normalise_ref(ref), editing=False)


@router.get("/{ref}/edit")
def risk_edit_fragment(page: OwnerWriter, ref: str) -> Response:
    risk = get_risk(page.session, page.org, ref)
    page.require_owner(risk.owner)
    if not is_htmx(page.request):
        return RedirectResponse(page.url("risks", risk.ref), status_code=303)
    return _row_response(page, risk.ref, editing=True)


@router.post("/{ref}/inline")
def risk_inline_save(page: OwnerWriter, ref: str, form: FormData) -> Response:
    risk = get_risk(page.session, page.org, ref)
    page.require_owner(risk.owner)
    ref = risk.ref
    values = {name: form.text(name) for name in INLINE_FIELDS}
    try:
        with page.writing():
            changes: dict[str, Any] = {}
            if values["owner"] is not None and values["owner"] != (risk.owner or ""):
                page.require_owner(values["owner"] or None)
                changes["owner"] = values["owner"]
            current_review = risk.review_date.isoformat() if risk.review_date else ""
            if values["review_date"] is not None and values["review_date"] != current_review:
                changes["review_date"] = values["review_date"]
            if values["description"] is not None and values["description"] != (
                risk.description or ""
            ):
                changes["description"] = values["description"]
            if changes:
                update_risk(page.session, page.org, ref, **changes)
            likelihood = form.number("likelihood", "--likelihood")
            impact = form.number("impact", "--impact")
            if (likelihood, impact) != (risk.inherent_likelihood, risk.inherent_impact) and (
                likelihood is not None or impact is not None
            ):
                assess(page.session, page.org, ref, likelihood, impact)
            option = values["treatment"]
            if option and option != risk.treatment:
                treat(page.session, page.org, ref, option, actor=page.actor)
    except Forbidden:
        raise
    except AnnexaError as exc:
        errors = errors_of(exc, INLINE_FIELDS, {"control": "treatment", "option": "treatment"})
        return _row_response(page, ref, editing=True, errors=errors, values=values, status=422)
    if not is_htmx(page.request):
        return RedirectResponse(page.url("risks", ref) + "?notice=saved", status_code=303)
    return _row_response(page, ref, editing=False)


# --- one risk: its page ----------------------------------------------------------------------

DETAIL_FORMS = {
    "details": ("owner", "review_date", "description", "threat", "vulnerability"),
    "assess": ("likelihood", "impact"),
    "residual": ("residual_likelihood", "residual_impact"),
    "treat": ("option", "plan", "controls", "due", "residual_likelihood", "residual_impact"),
    "accept": ("approver", "expires", "rationale"),
}


def _detail(
    page: OrgPage,
    ref: str,
    *,
    errors: dict[str, dict[str, str]] | None = None,
    values: dict[str, dict[str, Any]] | None = None,
    status: int = 200,
) -> Response:
    risk = get_risk(page.session, page.org, ref)
    data = risk_to_dict(page.session, risk)
    matrix = get_matrix(page.org)
    notice = NOTICES.get(page.request.query_params.get("notice") or "") if status == 200 else None
    return render(
        page.request,
        "risk.html",
        {
            "page": page,
            "nav": "risks",
            "risk": data,
            "matrix": matrix,
            "severity": severity_classes(matrix),
            "treatments": TREATMENTS,
            **scale_options(matrix),
            "may_change": page.may_change(risk.owner),
            "errors": errors or {},
            "values": values or {},
            "notice": notice,
            "today": dt.date.today().isoformat(),
        },
        status_code=status,
    )


@router.get("/{ref}")
def risk_detail(page: Reader, ref: str) -> Response:
    return _detail(page, ref)


def _detail_write(
    page: OrgPage, ref: str, form_name: str, action: Any, notice: str, form: Any
) -> Response:
    fields = DETAIL_FORMS[form_name]
    try:
        with page.writing():
            action()
    except Forbidden:
        raise
    except AnnexaError as exc:
        aliases = {"control": "controls", "residual": GENERAL}
        if form_name == "residual":
            aliases.update(likelihood="residual_likelihood", impact="residual_impact")
        errors = {form_name: errors_of(exc, fields, aliases)}
        return _detail(page, ref, errors=errors, values={form_name: form.values()}, status=422)
    return RedirectResponse(page.url("risks", normalise_ref(ref)) + f"?notice={notice}", 303)


@router.post("/{ref}")
def risk_update(page: OwnerWriter, ref: str, form: FormData) -> Response:
    risk = get_risk(page.session, page.org, ref)
    page.require_owner(risk.owner)
    changes = {name: form.text(name) for name in DETAIL_FORMS["details"] if name in form}
    if changes.get("owner") is not None and changes["owner"] != (risk.owner or ""):
        page.require_owner(changes["owner"] or None)

    def action() -> None:
        update_risk(page.session, page.org, risk.ref, **changes)

    return _detail_write(page, risk.ref, "details", action, "saved", form)


@router.post("/{ref}/assess")
def risk_assess(page: OwnerWriter, ref: str, form: FormData) -> Response:
    risk = get_risk(page.session, page.org, ref)
    page.require_owner(risk.owner)
    residual = form.flag("residual")
    prefix = "residual_" if residual else ""

    def action() -> None:
        assess(
            page.session,
            page.org,
            risk.ref,
            form.number(prefix + "likelihood", "--likelihood"),
            form.number(prefix + "impact", "--impact"),
            residual=residual,
        )

    form_name = "residual" if residual else "assess"
    return _detail_write(page, risk.ref, form_name, action, "assessed", form)


@router.post("/{ref}/treat")
def risk_treat(page: OwnerWriter, ref: str, form: FormData) -> Response:
    risk = get_risk(page.session, page.org, ref)
    page.require_owner(risk.owner)
    controls = [c for c in (form.text("controls") or "").replace(",", " ").split() if c]

    def action() -> None:
        treat(
            page.session,
            page.org,
            risk.ref,
            form.text("option") or "",
            plan=form.optional("plan"),
            controls=controls,
            due_date=form.optional("due"),
            residual_likelihood=form.number("residual_likelihood", "--residual-likelihood"),
            residual_impact=form.number("residual_impact", "--residual-impact"),
            actor=page.actor,
        )

    return _detail_write(page, risk.ref, "treat", action, "treated", form)


@router.post("/{ref}/accept")
def risk_accept(page: Writer, ref: str, form: FormData) -> Response:
    risk = get_risk(page.session, page.org, ref)

    def action() -> None:
        accept(
            page.session,
            page.org,
            risk.ref,
            form.text("approver"),
            form.optional("expires"),
            form.optional("rationale"),
        )

    return _detail_write(page, risk.ref, "accept", action, "accepted", form)
