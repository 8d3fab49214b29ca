"""Table downloads: the rows a page shows (all of them, as filtered) as CSV or XLSX.

Same conventions as the SoA export (:mod:`annexa.soa.export`): cells that a spreadsheet
would run as a formula are neutralised, text longer than a cell can hold is cut with a
note, and the XLSX has a frozen, filterable header and set column widths.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.responses import Response

from annexa.soa.export import CELL_LIMIT, FORMULA_STARTS, HEADER_COLOUR

MEDIA = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
FORMATS = tuple(MEDIA)


@dataclass(frozen=True)
class Column:
    header: str
    value: Callable[[dict[str, Any]], Any]
    width: int = 16


def column(header: str, key: str, width: int = 16) -> Column:
    def value(row: dict[str, Any]) -> Any:
        return row.get(key)

    return Column(header, value, width)


def cell_text(value: Any) -> Any:
    """Numbers stay numbers; lists are joined; None is empty; everything else is text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, int | float):
        return value
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    text = str(value)
    if len(text) > CELL_LIMIT:
        text = text[:CELL_LIMIT] + f" … ({len(text) - CELL_LIMIT} more characters)"
    return text


def _csv_safe(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def filename_part(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-") or "export"


def _attachment(content: bytes, fmt: str, filename: str) -> Response:
    return Response(
        content,
        media_type=MEDIA[fmt],
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def table_response(
    fmt: str,
    name: str,
    title: str,
    columns: Sequence[Column],
    rows: Iterable[dict[str, Any]],
) -> Response:
    """``rows`` as ``name.csv`` or ``name.xlsx`` (sheet ``title``)."""
    values = ([cell_text(c.value(row)) for c in columns] for row in rows)
    filename = f"{filename_part(name)}.{fmt}"
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow([c.header for c in columns])
        for row in values:
            writer.writerow([_csv_safe(v) for v in row])
        return _attachment(buffer.getvalue().encode("utf-8"), fmt, filename)
    return _attachment(xlsx_bytes(title, columns, values), fmt, filename)


def xlsx_bytes(title: str, columns: Sequence[Column], values: Iterable[list[Any]]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title[:31] or "Sheet")
    for index, col in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = col.width
    sheet.freeze_panes = "A2"
    header_font = Font(bold=True, color="FFFFFF")
    header_fill = PatternFill("solid", fgColor=HEADER_COLOUR)
    header = []
    for col in columns:
        cell = WriteOnlyCell(sheet, col.header)
        cell.font = header_font
        cell.fill = header_fill
        cell.alignment = Alignment(vertical="center", wrap_text=True)
        header.append(cell)
    sheet.append(header)
    count = 0
    for row in values:
        out: list[Any] = []
        for value in row:
            if isinstance(value, str) and value.startswith("="):
                cell = WriteOnlyCell(sheet, value)
                cell.data_type = "s"  # text, never a formula, whatever the user typed
                out.append(cell)
            else:
                out.append(value)
        sheet.append(out)
        count += 1
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{count + 1}"
    workbook.properties.title = title
    workbook.properties.creator = "Annexa"
    with tempfile.TemporaryDirectory(prefix="annexa-export-") as folder:
        target = Path(folder) / "export.xlsx"
        workbook.save(target)
        return target.read_bytes()


def soa_response(document: dict[str, Any], fmt: str, slug: str) -> Response:
    """The SoA through its own exporter (:func:`annexa.soa.export.export`)."""
    from annexa.soa.export import export

    with tempfile.TemporaryDirectory(prefix="annexa-soa-") as folder:
        target = Path(folder) / f"soa.{fmt}"
        export(document, fmt, target)
        content = target.read_bytes()
    label = f"v{document['version']}" if document.get("version") else "current"
    filename = filename_part(f"soa-{slug}-{document['framework']}-{label}") + f".{fmt}"
    return _attachment(content, fmt, filename)
