"""Scope and context (clauses 4.1–4.3): the scope statement, what is in and out of scope,
internal and external issues, interested parties. Admins and editors change them."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.responses import RedirectResponse, Response

from annexa.context import (
    ISSUE_KINDS,
    PARTY_CATEGORIES,
    PESTLE_CATEGORIES,
    SCOPE_KINDS,
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
from annexa.errors import AnnexaError, InvalidInput
from annexa.web.deps import OrgPage, Reader, Writer
from annexa.web.export import Column, column, table_response
from annexa.web.forms import FormData, errors_of
from annexa.web.render import render

router = APIRouter(prefix="/o/{slug}/context")

FORMS = {
    "statement": ("statement",),
    "scope": ("kind", "name", "description", "in_scope", "reason"),
    "issue": ("title", "kind", "category", "description"),
    "party": ("name", "category", "requirements", "addressed_in_isms"),
}
NOTICES = {
    "statement": "Scope statement saved.",
    "scope": "Scope register updated.",
    "issue": "Issues updated.",
    "party": "Interested parties updated.",
}


def _page(
    page: OrgPage,
    *,
    errors: dict[str, dict[str, str]] | None = None,
    values: dict[str, dict[str, Any]] | None = None,
    status: int = 200,
) -> Response:
    notice = NOTICES.get(page.request.query_params.get("notice") or "") if status == 200 else None
    return render(
        page.request,
        "context.html",
        {
            "page": page,
            "nav": "context",
            "scope": get_scope(page.session, page.org),
            "issues": [issue_to_dict(i) for i in list_issues(page.session, page.org)],
            "parties": [party_to_dict(p) for p in list_parties(page.session, page.org)],
            "scope_kinds": SCOPE_KINDS,
            "issue_kinds": ISSUE_KINDS,
            "pestle": PESTLE_CATEGORIES,
            "party_categories": PARTY_CATEGORIES,
            "errors": errors or {},
            "values": values or {},
            "notice": notice,
        },
        status_code=status,
    )


@router.get("")
def context_page(page: Reader) -> Response:
    return _page(page)


def _write(page: OrgPage, form_name: str, form: Any, action: Any) -> Response:
    try:
        with page.writing():
            action()
    except AnnexaError as exc:
        if exc.http_status == 403:
            raise
        errors = {form_name: errors_of(exc, FORMS[form_name], {"title": "title"})}
        return _page(page, errors=errors, values={form_name: form.values()}, status=422)
    return RedirectResponse(f"{page.base}/context?notice={form_name}#{form_name}", 303)


@router.post("/statement")
def statement(page: Writer, form: FormData) -> Response:
    return _write(
        page,
        "statement",
        form,
        lambda: set_scope_statement(page.session, page.org, form.text("statement") or ""),
    )


@router.post("/scope")
def scope_add(page: Writer, form: FormData) -> Response:
    def action() -> None:
        add_scope_item(
            page.session,
            page.org,
            form.text("kind") or "",
            form.text("name") or "",
            description=form.optional("description"),
            in_scope=form.get("in_scope", "1") != "0",
            exclusion_reason=form.optional("reason"),
        )

    return _write(page, "scope", form, action)


@router.post("/scope/remove")
def scope_remove(page: Writer, form: FormData) -> Response:
    return _write(
        page,
        "scope",
        form,
        lambda: remove_scope_item(
            page.session, page.org, form.text("kind") or "", form.text("name") or ""
        ),
    )


@router.post("/issues")
def issue_add(page: Writer, form: FormData) -> Response:
    def action() -> None:
        add_issue(
            page.session,
            page.org,
            form.text("title") or "",
            kind=form.text("kind") or "",
            category=form.optional("category"),
            description=form.optional("description"),
        )

    return _write(page, "issue", form, action)


@router.post("/issues/remove")
def issue_remove(page: Writer, form: FormData) -> Response:
    return _write(
        page, "issue", form, lambda: remove_issue(page.session, page.org, form.text("title") or "")
    )


@router.post("/parties")
def party_add(page: Writer, form: FormData) -> Response:
    def action() -> None:
        add_party(
            page.session,
            page.org,
            form.text("name") or "",
            category=form.optional("category"),
            requirements=form.optional("requirements"),
            addressed_in_isms=form.get("addressed_in_isms", "1") != "0",
        )

    return _write(page, "party", form, action)


@router.post("/parties/remove")
def party_remove(page: Writer, form: FormData) -> Response:
    return _write(
        page, "party", form, lambda: remove_party(page.session, page.org, form.text("name") or "")
    )


# --- downloads -----------------------------------------------------------------------------

TABLES: dict[str, tuple[str, tuple[Column, ...]]] = {
    "scope": (
        "Scope",
        (
            column("Kind", "kind", 16),
            column("Name", "name", 30),
            column("Description", "description", 50),
            column("In scope", "in_scope", 10),
            column("Reason for exclusion", "exclusion_reason", 50),
        ),
    ),
    "issues": (
        "Issues",
        (
            column("Title", "title", 40),
            column("Kind", "kind", 12),
            column("Category", "category", 16),
            column("Description", "description", 60),
        ),
    ),
    "parties": (
        "Interested parties",
        (
            column("Name", "name", 30),
            column("Category", "category", 16),
            column("Requirements", "requirements", 60),
            column("Addressed in the ISMS", "addressed_in_isms", 12),
        ),
    ),
}


@router.get("/{table}/export.{fmt}")
def export(page: Reader, table: str, fmt: str) -> Response:
    if table not in TABLES or fmt not in ("csv", "xlsx"):
        raise InvalidInput(f"no download {table}.{fmt}", field="format", fix="csv or xlsx")
    if table == "scope":
        rows = [scope_item_to_dict(i) for i in list_scope_items(page.session, page.org)]
    elif table == "issues":
        rows = [issue_to_dict(i) for i in list_issues(page.session, page.org)]
    else:
        rows = [party_to_dict(p) for p in list_parties(page.session, page.org)]
    title, columns = TABLES[table]
    return table_response(fmt, f"{table}-{page.slug}", title, columns, rows)
