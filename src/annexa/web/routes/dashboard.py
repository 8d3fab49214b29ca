"""The dashboard: readiness per clause and Annex A theme, the risk heat maps, the SoA at a
glance and the reviews that are overdue."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from fastapi import APIRouter
from starlette.responses import Response

from annexa.catalog import get_framework
from annexa.web.deps import Reader
from annexa.web.queries import heat_maps, risks_by_ref
from annexa.web.render import render

router = APIRouter(prefix="/o/{slug}")

SOA_COUNTS = ("controls", "applicable", "excluded", "undecided", "implemented")


def soa_status(themes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per framework: controls, applicable, excluded, undecided, implemented."""
    totals: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(SOA_COUNTS, 0))
    for theme in themes:
        for key in SOA_COUNTS:
            totals[theme["framework"]][key] += theme[key]
    return [
        {"framework": fw, "name": get_framework(fw).name, **counts} for fw, counts in totals.items()
    ]


@router.get("/")
def dashboard(page: Reader) -> Response:
    report = page.request.app.state.readiness_cache.report(page.session, page.org)
    groups = {}
    for theme in report["themes"]:
        framework = get_framework(theme["framework"])
        title = next((g.title for g in framework.groups if g.id == theme["group"]), theme["group"])
        groups[(theme["framework"], theme["group"])] = title
    # The readiness report already counted overdue reviews and named a few: show those.
    overdue_finding = next(
        (f for f in report["findings"] if f["code"] == "RISK_REVIEW_OVERDUE"), None
    )
    overdue_total = overdue_finding["count"] if overdue_finding else 0
    overdue = risks_by_ref(
        page.session, page.org, overdue_finding["examples"] if overdue_finding else []
    )
    return render(
        page.request,
        "dashboard.html",
        {
            "page": page,
            "nav": "dashboard",
            "report": report,
            "group_titles": groups,
            "maps": heat_maps(page.session, page.org),
            "soa": soa_status(report["themes"]),
            "overdue": overdue,
            "overdue_total": overdue_total,
        },
    )
