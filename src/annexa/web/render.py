"""Jinja2 templates (autoescaped) and the helpers they share."""

from __future__ import annotations

import datetime as dt
from functools import cache
from typing import Any
from urllib.parse import quote, urlencode

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from annexa import __version__

HTML = "text/html; charset=utf-8"


def path_part(value: Any) -> str:
    """One URL path segment (names may hold spaces, slashes, anything)."""
    return quote(str(value), safe="")


def query(base: str, params: dict[str, Any] | None = None, **more: Any) -> str:
    """``base`` with the non-empty ``params`` as its query string."""
    merged = {**(params or {}), **more}
    pairs: list[tuple[str, str]] = []
    for key, value in merged.items():
        if value is None or value == "" or value is False:
            continue
        if isinstance(value, list | tuple):
            pairs.extend((key, str(v)) for v in value if v not in (None, ""))
        else:
            pairs.append((key, "1" if value is True else str(value)))
    return base + ("?" + urlencode(pairs) if pairs else "")


def words(value: Any) -> str:
    """``not_started`` → ``Not started``."""
    if value is None:
        return ""
    text = str(value).replace("_", " ")
    return text[:1].upper() + text[1:]


def day(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value)
    return text.replace("T", " ")[:16] if "T" in text else text


def show(value: Any) -> str:
    """Any value as a table cell: lists joined, booleans in words, nothing as a dash."""
    if value is None or value == [] or value == "":
        return "—"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value)


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("annexa.web", "templates"),
        autoescape=select_autoescape(["html"], default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["words"] = words
    env.filters["day"] = day
    env.filters["part"] = path_part
    env.filters["show"] = show
    env.globals["query"] = query
    env.globals["version"] = __version__
    return env


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    values: dict[str, Any] = {"request": request, "page": None, "csrf": None, "notice": None}
    values.update(context or {})
    page = values.get("page")
    if page is not None and values.get("csrf") is None:
        values["csrf"] = page.csrf
    body = environment().get_template(template).render(values)
    return HTMLResponse(body, status_code=status_code, headers=headers, media_type=HTML)


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"
