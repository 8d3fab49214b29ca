"""The page routers, in the order the web app mounts them."""

from annexa.web.routes import audit, auth, catalog, context, dashboard, inventory, risks, soa

ROUTERS = [
    auth.router,
    dashboard.router,
    risks.router,
    soa.router,
    inventory.router,
    context.router,
    catalog.router,
    audit.router,
]
