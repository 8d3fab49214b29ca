"""Reading HTML form posts (URL-encoded; the pages upload no files), size-limited."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import Depends, Request

from annexa.errors import AnnexaError, InvalidInput
from annexa.validation import plain_number
from annexa.web.errors import PageError

MAX_FORM_BYTES = 1_000_000
MAX_FIELDS = 2_000
_CACHE = "annexa_form"


class Fields:
    """The fields of one form post: ``get`` the first value, ``getlist`` all of them."""

    def __init__(self, pairs: list[tuple[str, str]]):
        self.pairs = pairs

    def get(self, name: str, default: str | None = None) -> str | None:
        for key, value in self.pairs:
            if key == name:
                return value
        return default

    def getlist(self, name: str) -> list[str]:
        return [value for key, value in self.pairs if key == name]

    def __contains__(self, name: object) -> bool:
        return any(key == name for key, _ in self.pairs)

    def text(self, name: str) -> str | None:
        """The stripped value; None when the field is absent."""
        value = self.get(name)
        return None if value is None else value.strip()

    def optional(self, name: str) -> str | None:
        """The stripped value; None when absent or empty."""
        value = self.text(name)
        return value or None

    def number(self, name: str, field: str | None = None) -> int | None:
        """A whole number, or None when absent or empty; a bad one names ``field``."""
        value = self.optional(name)
        if value is None:
            return None
        try:
            return int(value)
        except ValueError:
            raise InvalidInput(
                f"{value!r} is not a whole number", field=field or name, fix="e.g. 3"
            ) from None

    def flag(self, name: str) -> bool:
        return (self.get(name) or "").lower() in {"1", "on", "true", "yes"}

    def values(self) -> dict[str, Any]:
        return {key: value for key, value in self.pairs}


async def read_form(request: Request) -> Fields:
    """The posted form, parsed once per request (the CSRF check and the route share it)."""
    cached = getattr(request.state, _CACHE, None)
    if cached is not None:
        return cached
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in ("", "application/x-www-form-urlencoded"):
        raise PageError(415, "Unsupported form", "Send the form as a normal web form.")
    declared = request.headers.get("content-length", "")
    declared_size = plain_number(declared, max_digits=18)
    if declared_size is not None and declared_size > MAX_FORM_BYTES:
        raise PageError(413, "Too much data", "The form is too large.")
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > MAX_FORM_BYTES:
            raise PageError(413, "Too much data", "The form is too large.")
    try:
        text = body.decode("utf-8")
        pairs = parse_qsl(
            text, keep_blank_values=True, strict_parsing=False, max_num_fields=MAX_FIELDS
        )
    except (UnicodeDecodeError, ValueError):
        raise PageError(400, "Bad form", "The form could not be read.") from None
    fields = Fields(pairs)
    setattr(request.state, _CACHE, fields)
    return fields


FormData = Annotated[Fields, Depends(read_form)]


GENERAL = "_form"


def form_field(service_field: str | None, aliases: dict[str, str] | None = None) -> str:
    """The form field a service error names: ``--review-date`` → ``review_date``."""
    if not service_field:
        return GENERAL
    name = service_field.removeprefix("--").replace("-", "_").lower()
    return (aliases or {}).get(name, name)


def errors_of(
    exc: AnnexaError, fields: Iterable[str], aliases: dict[str, str] | None = None
) -> dict[str, str]:
    """``{field: message}`` for a service error: next to its field when the form has it,
    else at the top of the form (``_form``)."""
    name = form_field(exc.field, aliases)
    message = error_message(exc)
    if name not in set(fields):
        name = GENERAL
    return {name: message}


def error_message(exc: AnnexaError) -> str:
    """The service's message, with its fix unless the fix is a CLI command line."""
    fix = exc.fix or ""
    if fix and "`" not in fix and "annexa " not in fix and "--" not in fix:
        return f"{exc.message} — {fix}"
    return exc.message
