"""Readiness reports are reused only while the records are unchanged."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from annexa.assets import add_asset
from annexa.readiness import readiness
from annexa.readiness.cache import ReadinessCache
from annexa.store.db import Database
from annexa.store.models import Organisation

DAY = dt.date(2026, 11, 23)


def _org(session) -> Organisation:  # type: ignore[no-untyped-def]
    return session.scalars(select(Organisation)).one()


def test_a_report_is_reused_until_a_change_then_recomputed(db: Database) -> None:
    cache = ReadinessCache()
    with db.reading() as session:
        first = cache.report(session, _org(session), DAY)
        again = cache.report(session, _org(session), DAY)
        assert again == first == readiness(session, _org(session), DAY)
    assert (cache.hits, cache.misses) == (1, 1)

    with db.transaction(actor="tester") as session:
        add_asset(session, _org(session), "Laptop", classification="internal")
    with db.reading() as session:
        after = cache.report(session, _org(session), DAY)
        assert after == readiness(session, _org(session), DAY)
    assert after["counts"] != first["counts"]
    assert cache.misses == 2


def test_a_new_day_is_a_new_report_and_callers_cannot_spoil_the_cache(db: Database) -> None:
    cache = ReadinessCache()
    with db.reading() as session:
        report = cache.report(session, _org(session), DAY)
        report["score"] = -1  # a caller changing its copy
        assert cache.report(session, _org(session), DAY)["score"] != -1
        later = cache.report(session, _org(session), DAY + dt.timedelta(days=1))
    assert later["as_of"] == (DAY + dt.timedelta(days=1)).isoformat()
    assert cache.misses == 2


def test_uncommitted_changes_bypass_the_cache(db: Database) -> None:
    cache = ReadinessCache()
    with db.transaction(actor="tester") as session:
        org = _org(session)
        before = cache.report(session, org, DAY)
        add_asset(session, org, "Laptop", classification="internal")
        during = cache.report(session, org, DAY)
        assert during == readiness(session, org, DAY)
        assert during["counts"] != before["counts"]
