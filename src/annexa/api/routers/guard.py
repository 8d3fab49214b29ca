"""The guard (A.8.11, A.8.12): scan, redact through the organisation's vault, restore.

Policy: the server's file for the organisation (``$ANNEXA_GUARD_POLICY_DIR/<slug>.yaml``)
when there is one, else every built-in detector with the ``vault`` action. A caller never
sends a policy: the organisation's rules are not theirs to loosen, and building a guard
for an arbitrary policy costs too much to do per request.

Permissions: ``scan`` and ``injection`` any member (they store nothing and answer offsets,
not values);
``redact`` admins, editors and contributors with a write token (it writes the vault);
``restore`` admins and editors with a write token (it reveals what was masked); ``vault/purge``
admins with a write token (as `annexa guard vault purge`: this organisation's expired entries
only). Bodies are bounded: over 1 MiB answers 413 before anything is parsed.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, Request, Response
from fastapi.routing import APIRoute
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from annexa.api.bodies import PayloadTooLarge, read_bounded
from annexa.api.deps import Manager, OrgContext, Permission, Reader, allow
from annexa.api.errors import ErrorResponse
from annexa.errors import AnnexaError, Conflict, InvalidInput
from annexa.guard import Blocked, ScanError
from annexa.guard.service import (
    DEFAULT_TTL,
    MAX_TTL,
    check_destination,
    guard_for,
    master_key,
    org_guard,
    policy_for,
    restore,
)

MAX_BODY = 1 << 20  # bytes of a request body
MAX_TEXT = 1_000_000  # characters of a text


class PolicyBlocked(Conflict):
    code = "blocked"


class NotScanned(AnnexaError):
    code = "not_scanned"
    http_status = 503


class BoundedRoute(APIRoute):
    """Refuses a body over :data:`MAX_BODY` bytes while reading it (a declared length
    first), so a huge upload is neither buffered nor parsed."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def bounded(request: Request) -> Response:
            # what FastAPI's body parsing reads
            request._body = await read_bounded(request, MAX_BODY, _too_large)
            return await handler(request)

        return bounded


def _too_large() -> PayloadTooLarge:
    return PayloadTooLarge(
        f"the request body is over {MAX_BODY} bytes",
        field="body",
        fix="split the text and send the parts one by one",
    )


router = APIRouter(
    prefix="/orgs/{org}/guard",
    tags=["guard"],
    route_class=BoundedRoute,
    responses={
        413: {"model": ErrorResponse, "description": "The body is over 1 MiB."},
        503: {
            "model": ErrorResponse,
            "description": "A detector failed: the text was not fully scanned (never clean).",
        },
    },
)
Redactor = Annotated[OrgContext, allow(Permission.REDACT)]
Revealer = Annotated[OrgContext, allow(Permission.REVEAL)]


def _valid_unicode(value: Any) -> Any:
    """Refuse lone surrogates (``"\\ud800"`` in JSON): not text, and not encodable back."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise ValueError("holds a lone surrogate: not valid Unicode text") from None
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return value


GuardText = Annotated[
    str,
    Field(max_length=MAX_TEXT, description="At most 1,000,000 characters."),
    AfterValidator(_valid_unicode),
]
GuardData = Annotated[Any, AfterValidator(_valid_unicode)]


class ScanIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: GuardText


class RedactIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: GuardText
    destination: str | None = Field(
        default=None, max_length=100, description="A destination named in the policy."
    )
    ttl: int = Field(
        default=DEFAULT_TTL,
        ge=1,
        le=MAX_TTL,
        description="Seconds the originals stay restorable (default 3600, at most 366 days).",
    )


class RestoreIn(BaseModel):
    """Exactly one of ``text`` (plain text) and ``data`` (any JSON: a chat message, a tool
    call; strings are restored at any depth, JSON documents held in strings included)."""

    model_config = ConfigDict(extra="forbid")
    text: GuardText | None = None
    data: GuardData = None


class FindingOut(BaseModel):
    entity_type: str
    start: int = Field(description="Offset in Unicode code points.")
    end: int
    score: float
    detector: str
    classification: str


class RedactedFinding(FindingOut):
    action: str


class ScanOut(BaseModel):
    status: str = Field(description='"ok", or "error": not fully scanned, never clean.')
    errors: list[str]
    findings: list[FindingOut] = Field(description="Where and what; never the values.")


class RedactOut(BaseModel):
    text: str
    findings: list[RedactedFinding]
    ttl: int


class RestoreOut(BaseModel):
    text: str | None = None
    data: Any = None
    restored: int = Field(description="Distinct placeholders put back.")
    unresolved: int = Field(
        description="Distinct placeholders left as they are: unknown, expired, or "
        "another organisation's."
    )


def _finding(finding: Any) -> dict[str, Any]:
    data = finding.to_dict()
    data.pop("text")
    return data


def _master(request: Request, *, create: bool) -> bytes | None:
    """The guard's master key, read (or created) once per application."""
    key = getattr(request.app.state, "guard_master_key", None)
    if key is None:
        key = master_key(request.app.state.database.sqlite_file, create=create)
        if key is not None:
            request.app.state.guard_master_key = key
    return key


@router.post("/scan", summary="Find sensitive data in a text")
def scan(ctx: Reader, body: ScanIn) -> ScanOut:
    result = guard_for(policy_for(ctx.org.slug)).scan(body.text)
    return ScanOut(
        status=result.status,
        errors=result.errors,
        findings=[FindingOut(**_finding(f)) for f in result],
    )


class InjectionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: GuardText
    threshold: float = Field(
        default=0.5,
        gt=0,
        le=1,
        description="Score from which the text counts as suspicious (0.5: one strong signal "
        "or two weaker ones).",
    )


class SignalOut(BaseModel):
    rule: str
    start: int = Field(description="Offset in Unicode code points.")
    end: int
    weight: float
    detail: str


class InjectionOut(BaseModel):
    score: float = Field(description="0 to 1: the weights of the distinct signals, added up.")
    suspicious: bool
    threshold: float
    reasons: list[str]
    signals: list[SignalOut] = Field(description="Where and which rule; never the text.")


@router.post("/injection", summary="Score a text for prompt injection and jailbreak attempts")
def injection(ctx: Reader, body: InjectionIn) -> InjectionOut:
    from annexa.guard import detect_injection

    report = detect_injection(body.text, threshold=body.threshold)
    return InjectionOut.model_validate(report.to_dict())


@router.post("/redact", summary="Mask sensitive data, vaulting what can be restored")
def redact(ctx: Redactor, body: RedactIn) -> RedactOut:
    policy = policy_for(ctx.org.slug)
    check_destination(policy, body.destination)
    guard = guard_for(policy)
    key = _master(ctx.request, create=True)
    assert key is not None
    vaulted = org_guard(ctx.session.connection(), ctx.org.id, key, ttl=body.ttl)
    try:
        result = guard.redact(body.text, destination=body.destination, state=vaulted.state())
    except Blocked as exc:
        raise PolicyBlocked(str(exc), field="text", fix="remove what the policy blocks") from None
    except ScanError as exc:
        raise NotScanned(str(exc), field="text", fix="treat the text as unsafe") from None
    ctx.session.commit()  # the vault entries; nothing here goes to the audit log
    return RedactOut(
        text=result.text,
        findings=[
            RedactedFinding(**_finding(f), action=a)
            for f, a in zip(result.findings, result.actions, strict=True)
        ],
        ttl=body.ttl,
    )


@router.post(
    "/restore",
    summary="Put the originals back for the organisation's vault placeholders",
    response_model_exclude_unset=True,
)
def restore_placeholders(ctx: Revealer, body: RestoreIn) -> RestoreOut:
    given = body.model_fields_set & {"text", "data"}
    if len(given) != 1 or ("text" in given and body.text is None):
        raise InvalidInput(
            "send exactly one of text and data",
            field="text",
            fix='{"text": "…"} for plain text, {"data": …} for JSON',
        )
    key = _master(ctx.request, create=False)
    vault = org_guard(ctx.session.connection(), ctx.org.id, key).vault if key else None
    if "text" in given:
        done = restore(vault, body.text, as_json=False)
        return RestoreOut(text=done.data, restored=done.restored, unresolved=done.unresolved)
    done = restore(vault, body.data, as_json=True)
    return RestoreOut(data=done.data, restored=done.restored, unresolved=done.unresolved)


class PurgeOut(BaseModel):
    purged: int = Field(description="Expired vault entries deleted (numbers are not reused).")


@router.post("/vault/purge", summary="Delete the organisation's expired vault entries")
def vault_purge(ctx: Manager) -> PurgeOut:
    import time

    from annexa.guard.vault_db import purge_expired

    purged = purge_expired(ctx.session.connection(), time.time(), org_id=ctx.org.id)
    ctx.session.commit()  # vault entries: nothing here goes to the audit log
    return PurgeOut(purged=purged)
