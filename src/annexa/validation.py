"""Small checks shared by every service, each raising an error that names the field."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable

from annexa.errors import InvalidInput

_SLUG_UNSAFE = re.compile(r"[^a-z0-9]+")


def only_ascii_digits(text: str) -> bool:
    """Whether ``text`` is one or more of 0-9 and nothing else.

    ``str.isdigit`` alone also accepts digits that ``int`` refuses, such as superscripts
    ("²"): that turned bad input into a crash.
    """
    return text.isascii() and text.isdigit()


def plain_number(text: str, *, max_digits: int = 9) -> int | None:
    """``text`` as an integer when it is ASCII digits only, at most ``max_digits`` of them
    (9 fit a database INTEGER; ``int`` refuses more than 4,300); otherwise None."""
    if only_ascii_digits(text) and len(text) <= max_digits:
        return int(text)
    return None


def slugify(name: str) -> str:
    return _SLUG_UNSAFE.sub("-", name.lower()).strip("-")[:64] or "org"


def require_text(value: str | None, field: str, *, max_length: int = 200) -> str:
    cleaned = (value or "").strip()
    if not cleaned:
        raise InvalidInput("must not be empty", field=field, fix=f"pass a value for {field}")
    if len(cleaned) > max_length:
        raise InvalidInput(
            f"is {len(cleaned)} characters long, the limit is {max_length}",
            field=field,
            fix="shorten it",
        )
    return cleaned


def optional_text(value: str | None, field: str, *, max_length: int = 10_000) -> str | None:
    if value is None or not value.strip():
        return None
    return require_text(value, field, max_length=max_length)


def choice(value: str | None, field: str, allowed: Iterable[str]) -> str:
    options = list(allowed)
    normalised = (value or "").strip().lower().replace("-", "_")
    if normalised not in options:
        raise InvalidInput(
            f"{value!r} is not one of {', '.join(options)}",
            field=field,
            fix=f"use one of: {', '.join(options)}",
        )
    return normalised


def int_range(value: int | None, field: str, low: int, high: int) -> int:
    if value is None or not (low <= value <= high):
        raise InvalidInput(
            f"{value!r} is out of range {low}–{high}",
            field=field,
            fix=f"pass a whole number from {low} to {high}",
        )
    return value


def parse_date(value: str | dt.date | None, field: str) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise InvalidInput(
            f"{value!r} is not a date", field=field, fix="write it as YYYY-MM-DD"
        ) from exc


def parse_datetime(value: str | dt.datetime | None, field: str) -> dt.datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value
    try:
        return dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise InvalidInput(
            f"{value!r} is not a date-time", field=field, fix="write it as YYYY-MM-DDTHH:MM"
        ) from exc


def tag_list(values: Iterable[str] | str | None, field: str) -> list[str]:
    if values is None:
        return []
    if isinstance(values, str):
        values = values.split(",")
    tags: list[str] = []
    for raw in values:
        tag = raw.strip().lower()
        if not tag:
            continue
        if not re.fullmatch(r"[a-z0-9][a-z0-9_\-]{0,39}", tag):
            raise InvalidInput(
                f"{raw!r} is not a valid tag",
                field=field,
                fix="use lowercase letters, digits, '-' and '_' (at most 40 characters)",
            )
        if tag not in tags:
            tags.append(tag)
    return tags
