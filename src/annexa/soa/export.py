"""Writing an SoA (the object :func:`annexa.soa.soa_view` returns) as CSV, XLSX or JSON.

The XLSX is what an auditor receives: the table on the first sheet (header frozen,
filterable, printable) and an "About" sheet saying whose SoA it is and which version.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path
from typing import Any

from annexa.errors import InvalidInput

FORMATS = ("xlsx", "csv", "json")

# (header, entry key, column width); the same columns in CSV and XLSX.
COLUMNS: tuple[tuple[str, str, int], ...] = (
    ("Ref", "ref", 10),
    ("Control", "title", 42),
    ("Theme", "group", 15),
    ("Applicable", "applicable", 12),
    ("Reasons for inclusion", "reasons", 22),
    ("Justification", "justification", 60),
    ("Implementation status", "status", 16),
    ("Owner", "owner", 20),
    ("Linked risks", "risks", 30),
    ("Decided by", "decided_by", 16),
    ("Decided at", "decided_at", 20),
    ("Notes", "notes", 40),
)
WRAPPED = {"title", "reasons", "justification", "risks", "notes"}
APPLICABLE_WORDS = {True: "Yes", False: "No", None: "Undecided"}
STATUS_WORDS = {
    "not_started": "Not started",
    "planned": "Planned",
    "partial": "Partially implemented",
    "implemented": "Implemented",
    "not_applicable": "Not applicable",
}
REASON_WORDS = {
    "risk_treatment": "Risk treatment",
    "legal": "Legal",
    "contractual": "Contractual",
    "business": "Business",
}
# Excel holds at most 32,767 characters in a cell.
CELL_LIMIT = 32_000
# A leading = + - @ makes spreadsheet programs run the cell as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

HEADER_COLOUR = "1F3864"
APPLICABLE_COLOURS = {"Yes": "E2EFDA", "No": "EDEDED", "Undecided": "FFF2CC"}


def check_format(fmt: str) -> str:
    cleaned = (fmt or "").strip().lower()
    if cleaned not in FORMATS:
        raise InvalidInput(
            f"{fmt!r} is not an export format",
            field="--format",
            fix=f"use one of: {', '.join(FORMATS)}",
        )
    return cleaned


def check_target(path: str | Path) -> Path:
    """The file to write; its folder must already exist (a typo should not create trees)."""
    target = Path(path).expanduser()
    if target.is_dir():
        raise InvalidInput(
            f"{str(target)!r} is a folder", field="--output", fix="pass a file name, e.g. soa.xlsx"
        )
    if not target.parent.resolve().is_dir():
        raise InvalidInput(
            f"folder {str(target.parent)!r} does not exist",
            field="--output",
            fix="create the folder first or write somewhere else",
        )
    return target


def _cell_text(key: str, value: Any, groups: dict[str, str]) -> str:
    if key == "group":
        return groups.get(value, value or "")
    if key == "applicable":
        return APPLICABLE_WORDS[value]
    if key == "status":
        return STATUS_WORDS.get(value, value or "")
    if key == "reasons":
        return ", ".join(REASON_WORDS.get(r, r) for r in value or [])
    if key == "risks":
        return ", ".join(value or [])
    return "" if value is None else str(value)


def _truncated(text: str) -> str:
    if len(text) <= CELL_LIMIT:
        return text
    return text[:CELL_LIMIT] + f" … ({len(text) - CELL_LIMIT} more characters, see the JSON export)"


def rows(document: dict[str, Any]) -> list[list[str]]:
    """The table as text, one list per control, in :data:`COLUMNS` order."""
    groups = document.get("groups") or {}
    return [
        [_cell_text(key, entry.get(key), groups) for _, key, _ in COLUMNS]
        for entry in document["entries"]
    ]


def write_json(document: dict[str, Any], path: Path) -> None:
    path.write_text(
        json.dumps(document, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8"
    )


def _csv_safe(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def write_csv(document: dict[str, Any], path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([header for header, _, _ in COLUMNS])
        for row in rows(document):
            writer.writerow([_csv_safe(value) for value in row])


def _about(document: dict[str, Any], generated_at: dt.datetime) -> list[tuple[str, str]]:
    summary = document["summary"]
    version = document.get("version")
    filters = {k: v for k, v in (document.get("filters") or {}).items() if v}
    lines = [
        ("Organisation", document.get("organisation") or ""),
        (
            "Framework",
            f"{document.get('framework_name') or document['framework']} ({document['framework']})",
        ),
        ("Version", str(version) if version is not None else "Current (not published)"),
        ("Publication date", document.get("published_at") or "Not published"),
        ("Published by", document.get("published_by") or ""),
        ("Note", document.get("note") or ""),
        ("Generated at", generated_at.isoformat(timespec="seconds") + " UTC"),
        ("Generated by", "Annexa"),
        ("Controls", str(summary["controls"])),
        ("Applicable", str(summary["applicable"])),
        ("Excluded", str(summary["excluded"])),
        ("Undecided", str(summary["undecided"])),
        ("Implemented", str(summary["implemented"])),
    ]
    if filters:
        lines.append(("Filtered by", ", ".join(f"{k}={v}" for k, v in filters.items())))
    return lines


def write_xlsx(
    document: dict[str, Any], path: Path, *, generated_at: dt.datetime | None = None
) -> None:
    # Imported here: every command that imports annexa.soa should not pay for openpyxl.
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    generated_at = generated_at or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    fills = {word: PatternFill("solid", fgColor=c) for word, c in APPLICABLE_COLOURS.items()}
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Statement of Applicability"

    sheet.append([header for header, _, _ in COLUMNS])
    for index, (_, _key, width) in enumerate(COLUMNS, start=1):
        cell = sheet.cell(row=1, column=index)
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = PatternFill("solid", fgColor=HEADER_COLOUR)
        cell.alignment = Alignment(vertical="center", wrap_text=True)
        sheet.column_dimensions[get_column_letter(index)].width = width
    wrap = Alignment(vertical="top", wrap_text=True)
    top = Alignment(vertical="top")
    for row_index, values in enumerate(rows(document), start=2):
        for col_index, (value, (_, key, _)) in enumerate(zip(values, COLUMNS, strict=True), 1):
            cell = sheet.cell(row=row_index, column=col_index)
            cell.value = _truncated(value)
            # Written as text, never as a formula, whatever the user typed.
            cell.data_type = "s"
            cell.alignment = wrap if key in WRAPPED else top
            if key == "applicable":
                cell.fill = fills[value]

    last = get_column_letter(len(COLUMNS))
    # Ref and title stay visible when scrolling right, the header when scrolling down.
    sheet.freeze_panes = "C2"
    sheet.auto_filter.ref = f"A1:{last}{max(1, len(document['entries']) + 1)}"
    sheet.print_title_rows = "1:1"
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True

    about = workbook.create_sheet("About")
    about.append(["Statement of Applicability"])
    about["A1"].font = Font(bold=True, size=14)
    about.append([])
    for label, value in _about(document, generated_at):
        about.append([label, value])
        about.cell(row=about.max_row, column=1).font = Font(bold=True)
        about.cell(row=about.max_row, column=2).data_type = "s"
    about.column_dimensions["A"].width = 20
    about.column_dimensions["B"].width = 70

    workbook.properties.title = f"Statement of Applicability — {document['framework']}"
    workbook.properties.creator = "Annexa"
    workbook.save(path)


def export(document: dict[str, Any], fmt: str, path: str | Path) -> Path:
    """Write ``document`` in ``fmt`` to ``path``; returns the path written."""
    chosen = check_format(fmt)
    target = check_target(path)
    writer = {"json": write_json, "csv": write_csv, "xlsx": write_xlsx}[chosen]
    writer(document, target)
    return target
