"""The database-built register JSON is the same document as the Python-built one."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select

from annexa.demo import load_demo
from annexa.risk.register_json import register_json
from annexa.risk.service import add_risk, list_risks
from annexa.store.db import Database
from annexa.store.models import Organisation

FILTERS = [
    {},
    {"status": "accepted"},
    {"status": "expired"},
    {"status": "identified"},
    {"overdue": True},
    {"overdue": False},
    {"treatment": "none"},
    {"treatment": "modify"},
    {"level": "high"},
    {"owner": "it manager"},
]


@pytest.fixture
def demo_db(empty_db_url: str) -> Database:
    db = Database(empty_db_url)
    with db.transaction() as session:
        org = load_demo(session)
        # Edge cases the demo lacks: no assets, no rating, quotes and unicode in text.
        add_risk(session, org, title='Unrated "edge" risk — ünïcode', description="a\nb")
    return db


@pytest.mark.parametrize(
    "filters", FILTERS, ids=lambda f: ",".join(f"{k}={v}" for k, v in f.items()) or "all"
)
def test_register_json_matches_list_risks(demo_db: Database, filters: dict) -> None:
    for today in (dt.date.today(), dt.date.today() + dt.timedelta(days=400)):
        with demo_db.reading() as session:
            org = session.scalars(select(Organisation)).one()
            expected = list_risks(session, org, today=today, **filters)
            document = json.loads(b"".join(register_json(session, org.id, today=today, **filters)))
        assert document["risks"] == expected


def test_register_json_of_an_empty_register(db_url: str) -> None:
    db = Database(db_url)
    with db.reading() as session:
        org = session.scalars(select(Organisation)).one()
        assert json.loads(b"".join(register_json(session, org.id))) == {"risks": []}
