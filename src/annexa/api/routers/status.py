"""Readiness per clause and Annex A theme."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from annexa.api.deps import Reader

router = APIRouter(prefix="/orgs/{org}", tags=["status"])


@router.get("/status", summary="Readiness: what the records show and what is missing")
def status(ctx: Reader) -> dict[str, Any]:
    return ctx.request.app.state.readiness_cache.report(ctx.session, ctx.org)
