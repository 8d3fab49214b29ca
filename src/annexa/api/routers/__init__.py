"""One router per domain; ``ROUTERS`` is what the app mounts under ``/api/v1``."""

from annexa.api.routers import (
    admin,
    assets,
    audit,
    catalogs,
    context,
    guard,
    meta,
    risks,
    soa,
    status,
    suppliers,
)

ROUTERS = [
    meta.router,
    catalogs.router,
    context.router,
    suppliers.router,
    assets.router,
    risks.router,
    soa.router,
    status.router,
    audit.router,
    admin.router,
    guard.router,
]
