"""Health, the caller and the organisations they belong to."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import select

from annexa.accounts import user_to_dict
from annexa.api.deps import Authenticated, Reader
from annexa.store.models import Membership, Organisation

router = APIRouter(tags=["meta"])


@router.get("/health", summary="Liveness and database reachability (no authentication)")
def health(request: Request) -> dict[str, Any]:
    request.app.state.database.ping()
    return {"status": "ok"}


@router.get("/me", summary="The authenticated user, their roles and this token's scope")
def me(caller: Authenticated) -> dict[str, Any]:
    data = user_to_dict(caller.user)
    data["token"] = {
        "id": caller.token.id,
        "scope": caller.token.scope,
        "expires_at": caller.token.expires_at.isoformat(),
    }
    return data


@router.get("/orgs", summary="Organisations you are a member of")
def orgs(caller: Authenticated) -> dict[str, Any]:
    rows = caller.session.execute(
        select(Organisation, Membership.role)
        .join(Membership, Membership.org_id == Organisation.id)
        .where(Membership.user_id == caller.user.id)
        .order_by(Organisation.slug)
    ).all()
    items = [{"slug": o.slug, "name": o.name, "role": role} for o, role in rows]
    return {"items": items, "total": len(items), "limit": len(items), "offset": 0}


@router.get("/orgs/{org}", summary="One organisation and your role in it")
def org(ctx: Reader) -> dict[str, Any]:
    o = ctx.org
    return {
        "slug": o.slug,
        "name": o.name,
        "sector": o.sector,
        "headcount": o.headcount,
        "role": ctx.role,
    }
