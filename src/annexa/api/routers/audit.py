"""The audit trail (admins and auditors): events, signed checkpoints, Merkle proofs, the
verifier key and a full verification of the log (as `annexa audit verify`).

Events are listed per organisation. The log itself is one Merkle tree for the whole
database, so checkpoints and consistency proofs describe that tree (sizes and hashes only);
an inclusion proof is given only for an event of the caller's organisation.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, or_, select

from annexa.api.deps import Auditor, Paging
from annexa.errors import InvalidInput, NotFound
from annexa.store.models import AuditEvent
from annexa.validation import parse_datetime

MAX_TREE_SIZE = 2**53  # far beyond any log; larger numbers fit no database integer
MAX_NOTE = 10_000  # characters of a checkpoint or key
MAX_HELD = 20  # checkpoints held against the log in one request

router = APIRouter(prefix="/orgs/{org}/audit", tags=["audit"])


@router.get("/events", summary="Audit events of this organisation, oldest first")
def events(
    ctx: Auditor,
    paging: Paging,
    since: Annotated[str | None, Query(max_length=40, description="UTC date-time")] = None,
    object: Annotated[
        str | None, Query(max_length=300, description="TYPE:ID, e.g. risk:R-0001")
    ] = None,
    actor: Annotated[str | None, Query(max_length=200)] = None,
) -> dict[str, Any]:
    conditions = [AuditEvent.org_id == ctx.org.id]
    start = parse_datetime(since, "since")
    if start is not None:
        if start.tzinfo is not None:
            start = start.astimezone(dt.UTC).replace(tzinfo=None)
        conditions.append(AuditEvent.recorded_at >= start)
    if object:
        kind, sep, ident = object.partition(":")
        if not sep or not kind or not ident:
            raise InvalidInput(
                f"{object!r} is not TYPE:ID", field="object", fix="e.g. object=risk:R-0001"
            )
        conditions.append(AuditEvent.object_type == kind)
        conditions.append(or_(AuditEvent.object_id == ident, AuditEvent.object_ref == ident))
    if actor:
        conditions.append(AuditEvent.actor == actor)
    if paging.sort not in (None, "seq", "-seq"):
        raise InvalidInput(f"cannot sort by {paging.sort!r}", field="sort", fix="use seq or -seq")
    order = AuditEvent.seq.desc() if paging.sort == "-seq" else AuditEvent.seq
    total = ctx.session.scalar(select(func.count()).select_from(AuditEvent).where(*conditions))
    bodies = ctx.session.scalars(
        select(AuditEvent.body)
        .where(*conditions)
        .order_by(order)
        .limit(paging.limit)
        .offset(paging.offset)
    )
    return {
        "items": [orjson.loads(bytes(body)) for body in bodies],
        "total": total or 0,
        "limit": paging.limit,
        "offset": paging.offset,
    }


def _signer(ctx: Auditor):  # type: ignore[no-untyped-def]
    signer = ctx.request.app.state.signer
    if signer is None:
        raise NotFound(
            "this server has no audit signing key",
            field="ANNEXA_AUDIT_KEY",
            fix="run `annexa init` where the server runs, or set ANNEXA_AUDIT_KEY(_FILE)",
        )
    return signer


@router.get("/checkpoint", summary="The newest signed checkpoint (C2SP signed note)")
def checkpoint(ctx: Auditor) -> dict[str, Any]:
    from annexa.audit.keys import parse_checkpoint
    from annexa.audit.log import issue_checkpoint

    signer = _signer(ctx)
    with ctx.request.app.state.database.engine.begin() as connection:
        note = issue_checkpoint(connection, signer)
    parsed = parse_checkpoint(note)
    return {
        "tree_size": parsed.size,
        "checkpoint": note,
        "public_key": signer.verifier.encode(),
    }


@router.get("/proof", summary="Inclusion proof of one of this organisation's events")
def proof(ctx: Auditor, index: Annotated[int, Query(ge=0, le=MAX_TREE_SIZE)]) -> dict[str, Any]:
    from annexa.audit.keys import parse_checkpoint
    from annexa.audit.log import inclusion_proof, issue_checkpoint, latest_checkpoint

    mine = ctx.session.scalar(
        select(AuditEvent.seq).where(AuditEvent.seq == index, AuditEvent.org_id == ctx.org.id)
    )
    if mine is None:
        raise NotFound(f"no event {index} in this organisation", field="index")
    with ctx.request.app.state.database.engine.begin() as connection:
        latest = latest_checkpoint(connection)
        if latest is None or latest.tree_size <= index:
            note = issue_checkpoint(connection, _signer(ctx))
        else:
            note = latest.note
        tree_size = parse_checkpoint(note).size
        leaf, path = inclusion_proof(connection, index, tree_size)
    return {
        "leaf_index": index,
        "tree_size": tree_size,
        "leaf_hash": leaf.hex(),
        "inclusion_path": [h.hex() for h in path],
        "checkpoint": note,
    }


@router.get("/consistency", summary="Consistency proof between two tree sizes (RFC 9162)")
def consistency(
    ctx: Auditor,
    from_: Annotated[int, Query(alias="from", ge=1, le=MAX_TREE_SIZE)],
    to: Annotated[int, Query(ge=1, le=MAX_TREE_SIZE)],
) -> dict[str, Any]:
    from annexa.audit.log import consistency_proof, tree_head

    with ctx.request.app.state.database.engine.connect() as connection:
        size, _ = tree_head(connection)
        if not 0 < from_ <= to <= size:
            raise InvalidInput(
                f"need 0 < from ≤ to ≤ {size} (the log's size), got {from_} and {to}",
                field="from",
                fix="pick sizes of checkpoints you hold",
            )
        path = consistency_proof(connection, from_, to)
    return {"first_size": from_, "second_size": to, "proof": [h.hex() for h in path]}


@router.get("/public-key", summary="The verifier key for checkpoints (C2SP note key)")
def public_key(ctx: Auditor) -> dict[str, str]:
    """The key `annexa audit public-key` prints: ``name+hexkeyid+base64``."""
    return {"public_key": _signer(ctx).verifier.encode()}


class VerifyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    checkpoints: list[Annotated[str, Field(max_length=MAX_NOTE)]] = Field(
        default=[],
        max_length=MAX_HELD,
        description="Checkpoints (signed notes) kept earlier: the log must extend each.",
    )
    key: str | None = Field(
        default=None,
        max_length=MAX_NOTE,
        description="A verifier key (name+hexid+base64) instead of the server's.",
    )


class VerifyOut(BaseModel):
    ok: bool = Field(description="True when the log is intact (and extends every held one).")
    events: int = Field(description="Events checked (of the whole log).")
    checkpoints: int = Field(description="Stored checkpoints checked.")
    held_checkpoints: int = Field(description="Held checkpoints the log was shown to extend.")
    root: str = Field(description="The recomputed tree head, hex.")
    signed: bool = Field(description="Whether checkpoint signatures were checked.")
    problem: str | None = Field(description="The first problem found, when not ok.")


def _verify(ctx: Auditor, key: str | None, notes: list[str]) -> VerifyOut:
    """What `annexa audit verify` reports (and the web viewer shows), over the whole log."""
    from annexa.audit.keys import Verifier, parse_checkpoint
    from annexa.audit.log import verify_log

    if key:
        try:
            verifier = Verifier.decode(key)
        except ValueError as exc:
            raise InvalidInput(str(exc), field="key", fix="use GET …/audit/public-key") from None
    else:
        signer = ctx.request.app.state.signer
        verifier = signer.verifier if signer is not None else None
    held = []
    for index, note in enumerate(notes):
        try:
            held.append(parse_checkpoint(note))
        except ValueError as exc:  # binascii.Error included
            raise InvalidInput(
                f"held checkpoint {index} is malformed: {exc}",
                field=f"checkpoints.{index}",
                fix="send the checkpoint text exactly as GET …/audit/checkpoint gave it",
            ) from None
    result = verify_log(ctx.session.connection(), verifier, held)
    return VerifyOut(
        ok=result.ok,
        events=result.events,
        checkpoints=result.checkpoints,
        held_checkpoints=len(result.held),
        root=result.root.hex(),
        signed=verifier is not None,
        problem=result.problem,
    )


@router.get("/verify", summary="Recompute the log from its events and check every checkpoint")
def verify(
    ctx: Auditor,
    key: Annotated[
        str | None,
        Query(max_length=MAX_NOTE, description="A verifier key instead of the server's."),
    ] = None,
) -> VerifyOut:
    return _verify(ctx, key, [])


@router.post("/verify", summary="Verify the log, and that it extends checkpoints you kept earlier")
def verify_held(ctx: Auditor, body: VerifyIn) -> VerifyOut:
    return _verify(ctx, body.key, body.checkpoints)
