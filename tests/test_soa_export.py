"""SoA exports: an auditor's XLSX, a CSV and the JSON of `soa show --json`."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import openpyxl
from sqlalchemy import select

from annexa.soa.export import COLUMNS
from annexa.store.models import Organisation, Risk, RiskControl

HEADERS = [header for header, _, _ in COLUMNS]


def _prepare(cli, db) -> None:
    with db.transaction() as session:
        org_id = session.scalars(select(Organisation.id)).one()
        risk = Risk(org_id=org_id, ref="R-0001", title="Data leak")
        risk.controls = [RiskControl(org_id=org_id, framework="iso27001-2022", ref="A.8.12")]
        session.add(risk)
    steps = [
        ("A.7.1", "--not-applicable", "--justification", '=HYPERLINK("x") Remote; no offices'),
        (
            "A.5.31",
            "--applicable",
            "--reason",
            "legal",
            "--status",
            "implemented",
            "--owner",
            "DPO",
        ),
    ]
    for step in steps:
        result = cli("soa", "set", *step)
        assert result.exit_code == 0, result.output


def test_xlsx_is_formatted_for_an_auditor(cli, db, tmp_path: Path) -> None:
    _prepare(cli, db)
    target = tmp_path / "soa.xlsx"
    result = cli("soa", "export", "--format", "xlsx", "-o", str(target))
    assert result.exit_code == 0, result.output
    workbook = openpyxl.load_workbook(target)
    assert workbook.sheetnames == ["Statement of Applicability", "About"]
    sheet = workbook["Statement of Applicability"]
    assert sheet.freeze_panes == "C2"
    assert sheet.auto_filter.ref == "A1:L94"
    assert [c.value for c in sheet[1]] == HEADERS
    assert sheet["A1"].font.bold
    assert sheet["A1"].fill.fgColor.rgb.endswith("1F3864")
    assert sheet.max_row == 94  # header + 93 controls
    assert sheet.column_dimensions["F"].width >= 40
    by_ref = {row[0].value: row for row in sheet.iter_rows(min_row=2)}
    excluded = [c.value for c in by_ref["A.7.1"]]
    assert excluded[3] == "No"
    # stored as text, never as a formula
    assert excluded[5] == '=HYPERLINK("x") Remote; no offices'
    assert by_ref["A.7.1"][5].data_type == "s"
    assert by_ref["A.7.1"][5].alignment.wrap_text
    assert excluded[6] == "Not applicable"
    included = [c.value for c in by_ref["A.5.31"]]
    assert included[3:8] == ["Yes", "Legal", None, "Implemented", "DPO"]
    assert by_ref["A.8.12"][8].value == "R-0001"
    assert by_ref["A.8.12"][4].value == "Risk treatment"
    assert by_ref["A.5.1"][3].value == "Undecided"
    assert by_ref["A.8.12"][2].value == "Technological controls (A.8)"
    about = dict(workbook["About"].iter_rows(min_row=3, values_only=True))
    assert about["Organisation"] == "Test Org"
    assert "iso27001-2022" in about["Framework"]
    assert about["Version"] == "Current (not published)"
    assert about["Generated at"].endswith("UTC")
    assert about["Excluded"] == "1"


def test_xlsx_of_a_published_version(cli, db, tmp_path: Path) -> None:
    _prepare(cli, db)
    assert cli("soa", "publish", "--allow-undecided", "--note", "Stage 2").exit_code == 0
    assert cli("soa", "set", "A.5.31", "--status", "partial").exit_code == 0
    target = tmp_path / "v1.xlsx"
    result = cli("soa", "export", "--format", "xlsx", "-o", str(target), "--version", "1")
    assert result.exit_code == 0, result.output
    workbook = openpyxl.load_workbook(target)
    about = dict(workbook["About"].iter_rows(min_row=3, values_only=True))
    assert about["Version"] == "1"
    assert about["Note"] == "Stage 2"
    assert about["Publication date"][:4].isdigit()
    by_ref = {row[0]: row for row in workbook.active.iter_rows(min_row=2, values_only=True)}
    assert by_ref["A.5.31"][6] == "Implemented"  # as published, not as changed since


def test_csv_round_trips(cli, db, tmp_path: Path) -> None:
    _prepare(cli, db)
    target = tmp_path / "soa.csv"
    result = cli(
        "soa", "export", "--format", "csv", "-o", str(target), "--framework", "iso27001-2022"
    )
    assert result.exit_code == 0, result.output
    with target.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == HEADERS
    assert len(rows) == 93
    by_ref = {row["Ref"]: row for row in rows}
    assert by_ref["A.5.31"]["Applicable"] == "Yes"
    assert by_ref["A.5.31"]["Owner"] == "DPO"
    assert by_ref["A.7.1"]["Applicable"] == "No"
    # a leading "=" is neutralised so spreadsheet programs do not run it
    assert by_ref["A.7.1"]["Justification"] == '\'=HYPERLINK("x") Remote; no offices'
    assert by_ref["A.8.12"]["Linked risks"] == "R-0001"


def test_json_export_equals_show_json(cli, db, tmp_path: Path) -> None:
    _prepare(cli, db)
    target = tmp_path / "soa.json"
    result = cli("soa", "export", "--format", "json", "-o", str(target))
    assert result.exit_code == 0, result.output
    exported = json.loads(target.read_text(encoding="utf-8"))
    shown = json.loads(cli("soa", "show", "--json").stdout)
    assert exported == shown
    assert len(exported["entries"]) == 93


def test_42001_export(cli, tmp_path: Path) -> None:
    target = tmp_path / "ai.csv"
    result = cli(
        "soa", "export", "--format", "csv", "-o", str(target), "--framework", "iso42001-2023"
    )
    assert result.exit_code == 0, result.output
    with target.open(encoding="utf-8", newline="") as handle:
        assert len(list(csv.DictReader(handle))) == 38


def test_export_refuses_bad_format_folder_and_version(cli, tmp_path: Path) -> None:
    bad_format = cli("soa", "export", "--format", "pdf", "-o", str(tmp_path / "x.pdf"))
    assert bad_format.exit_code == 2
    assert "--format" in bad_format.stderr
    missing = tmp_path / "no" / "such" / "soa.xlsx"
    no_folder = cli("soa", "export", "--format", "xlsx", "-o", str(missing))
    assert no_folder.exit_code == 2
    assert "--output" in no_folder.stderr
    assert not missing.parent.exists()
    no_version = cli(
        "soa", "export", "--format", "json", "-o", str(tmp_path / "v.json"), "--version", "4"
    )
    assert no_version.exit_code == 2
    assert not (tmp_path / "v.json").exists()
    framework = cli(
        "soa", "export", "--format", "json", "-o", str(tmp_path / "f.json"), "--framework", "x"
    )
    assert framework.exit_code == 2
    assert "--framework" in framework.stderr
