"""End to end in a real browser: sign in, add and edit a risk, exclude a control with a
justification, download the SoA and reopen it (on SQLite and PostgreSQL), and an auditor
who cannot write."""

from __future__ import annotations

import re
from pathlib import Path

import openpyxl
from sqlalchemy import select

from annexa.store.models import Organisation, Risk, SoaEntry
from tests.e2e.conftest import ADMIN, AUDITOR, ORG, SQLITE_ONLY, Server

RISK_TITLE = "Board papers summarised with an unapproved AI tool"


def _risk(server: Server, title: str) -> tuple[str | None, str | None, str] | None:
    """(owner, treatment, review date) of the demo organisation's risk with this title."""
    with server.database.reading() as session:
        risk = session.scalar(
            select(Risk).join(Organisation).where(Organisation.slug == ORG, Risk.title == title)
        )
        return None if risk is None else (risk.owner, risk.treatment, str(risk.review_date))


def test_admin_adds_and_edits_a_risk_excludes_a_control_and_downloads_the_soa(
    visit, server: Server, tmp_path: Path
) -> None:
    admin = visit()
    admin.sign_in(ADMIN)
    page = admin.page
    assert page.get_by_role("heading", name="Dashboard").is_visible()
    assert page.locator("table.heatmap").count() == 2

    # Add a risk with the plain form.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Risks").click()
    page.get_by_text("Add a risk").click()
    page.locator("#add-title").fill(RISK_TITLE)
    page.locator("#add-owner").fill("IT Manager")
    page.locator("#add-likelihood").select_option("4")
    page.locator("#add-impact").select_option("4")
    page.get_by_role("button", name="Add risk").click()
    page.wait_for_url(re.compile(r"/risks/R-\d+\?notice=added$"))
    assert page.get_by_text("Risk added.").is_visible()
    ref = page.url.split("/risks/")[1].split("?")[0]

    # Edit it inline in the register (htmx): owner, review date, treatment.
    admin.goto(f"/o/{ORG}/risks?q=unapproved")
    row = page.locator(f"#risk-{ref}")
    row.get_by_role("link", name=f"Edit {ref}").click()
    editing = page.locator(f"tr#risk-{ref}.editing")
    editing.get_by_label(f"Owner of {ref}").fill("Knowledge Lawyer")
    editing.get_by_label(f"Review date of {ref}").fill("2031-03-31")
    editing.get_by_label(f"Treatment of {ref}").select_option("retain")
    editing.get_by_role("button", name=f"Save {ref}").click()
    saved = page.locator(f"tr#risk-{ref}:not(.editing)")
    saved.wait_for()
    assert "Knowledge Lawyer" in saved.inner_text()
    assert "2031-03-31" in saved.inner_text()
    assert _risk(server, RISK_TITLE) == ("Knowledge Lawyer", "retain", "2031-03-31")

    # Exclude a control inline: first without a justification (refused, next to the
    # field), then with one.
    admin.goto(f"/o/{ORG}/soa?applicability=undecided")
    control = page.locator("#soa-A\\.7\\.12")
    control.get_by_role("link", name="Edit A.7.12").click()
    editing = page.locator("tr#soa-A\\.7\\.12.editing")
    editing.get_by_label("Decision").select_option("not_applicable")
    editing.get_by_role("button", name="Save A.7.12").click()
    error = page.locator("#soa-edit-A\\.7\\.12-justification-error")
    error.wait_for()
    assert "needs a justification" in error.inner_text()
    assert editing.get_by_label("Justification").get_attribute("aria-invalid") == "true"
    editing.get_by_label("Justification").fill("All cabling belongs to the landlord's building.")
    editing.get_by_label("Decision").select_option("not_applicable")
    editing.get_by_role("button", name="Save A.7.12").click()
    done = page.locator("tr#soa-A\\.7\\.12:not(.editing)")
    done.wait_for()
    assert "landlord" in done.inner_text()
    with server.database.reading() as session:
        entry = session.scalar(
            select(SoaEntry)
            .join(Organisation, Organisation.id == SoaEntry.org_id)
            .where(Organisation.slug == ORG, SoaEntry.ref == "A.7.12")
        )
        assert (entry.applicable, entry.decided_by) == (False, ADMIN)

    # Download the SoA as XLSX and reopen it.
    admin.goto(f"/o/{ORG}/soa")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Excel (XLSX)").click()
    target = tmp_path / download_info.value.suggested_filename
    download_info.value.save_as(target)
    assert target.name.startswith("soa-harbour-vale-iso27001-2022")
    sheet = openpyxl.load_workbook(target)["Statement of Applicability"]
    rows = {row[0].value: [cell.value for cell in row] for row in sheet.iter_rows(min_row=2)}
    assert rows["A.7.12"][3] == "No"
    assert "landlord" in rows["A.7.12"][5]
    assert sheet.freeze_panes == "C2"

    assert admin.errors == []  # no CSP violation, no script error anywhere on the way


@SQLITE_ONLY
def test_an_auditor_sees_no_write_controls_and_a_forged_post_is_refused(
    visit, server: Server
) -> None:
    auditor = visit()
    auditor.sign_in(AUDITOR)
    page = auditor.page
    for path, absent in (
        ("/risks", "Add a risk"),
        ("/soa", "Decide several controls"),
        ("/assets", "Add an asset"),
        ("/context", "Edit the scope statement"),
    ):
        auditor.goto(f"/o/{ORG}{path}")
        assert page.get_by_text(absent).count() == 0, path
        assert page.locator("form[method=post]").count() == 1, path  # sign-out only
        assert page.get_by_role("link", name=re.compile(r"^Edit ")).count() == 0, path
    auditor.goto(f"/o/{ORG}/audit")
    assert page.get_by_role("heading", name="Audit trail").is_visible()

    # A forged write with the auditor's own cookie and CSRF token is still refused.
    token = page.locator("form[action='/logout'] input[name=csrf_token]").get_attribute("value")
    forged = page.request.post(
        auditor.url(f"/o/{ORG}/risks"),
        form={"title": "Forged by an auditor", "owner": "Otto Auditor", "csrf_token": token},
        max_redirects=0,
    )
    assert forged.status == 403
    forged_soa = page.request.post(
        auditor.url(f"/o/{ORG}/soa/control/A.5.1"),
        form={"decision": "not_applicable", "justification": "x", "csrf_token": token},
        max_redirects=0,
    )
    assert forged_soa.status == 403
    no_token = page.request.post(
        auditor.url(f"/o/{ORG}/risks"), form={"title": "Forged"}, max_redirects=0
    )
    assert no_token.status == 403
    assert _risk(server, "Forged by an auditor") is None
    assert auditor.errors == []


@SQLITE_ONLY
def test_forms_work_without_javascript(visit, server: Server) -> None:
    plain = visit(java_script_enabled=False)
    plain.sign_in(ADMIN)
    page = plain.page
    plain.goto(f"/o/{ORG}/soa/control/A.5.7")
    page.get_by_label("Owner").fill("Threat Intel Lead")
    page.get_by_role("button", name="Save decision").click()
    page.wait_for_url(re.compile(r"/soa\?.*notice=saved#soa-A\.5\.7$"))
    assert "Threat Intel Lead" in page.locator("#soa-A\\.5\\.7").inner_text()
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(plain.url("/login?out=1"))
    plain.goto(f"/o/{ORG}/risks")
    assert "/login?next=" in page.url
