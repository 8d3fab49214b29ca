"""Readiness reports reused while nothing has changed.

Every change to an organisation's records appends an audit event in the same transaction
(see :mod:`annexa.audit.log`), so the newest event's sequence number names the state of the
records. A report computed at that state, on the same day, is still right; any change,
anywhere, makes a new one. The dashboard of a 50,000-risk register then costs one indexed
lookup per view instead of a scan of the register.
"""

from __future__ import annotations

import copy
import datetime as dt
import threading
from collections import OrderedDict
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from annexa.readiness.service import readiness
from annexa.store.models import AuditEvent, Organisation


class ReadinessCache:
    """A small LRU of readiness reports keyed by organisation, day and log position."""

    def __init__(self, size: int = 32) -> None:
        self.size = size
        self._reports: OrderedDict[tuple[int, dt.date, int], dict[str, Any]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def report(
        self, session: Session, org: Organisation, today: dt.date | None = None
    ) -> dict[str, Any]:
        today = today or dt.date.today()
        if session.new or session.dirty or session.deleted or session.info.get("audit_pending"):
            # Changes not yet in the log: the log position does not describe them.
            return readiness(session, org, today)
        # Read before the report, so a report is never filed under a newer position.
        position = session.scalar(select(func.max(AuditEvent.seq))) or 0
        key = (org.id, today, int(position))
        with self._lock:
            found = self._reports.get(key)
            if found is not None:
                self._reports.move_to_end(key)
                self.hits += 1
                return copy.deepcopy(found)
        report = readiness(session, org, today)
        with self._lock:
            self.misses += 1
            self._reports[key] = copy.deepcopy(report)
            while len(self._reports) > self.size:
                self._reports.popitem(last=False)
        return report
