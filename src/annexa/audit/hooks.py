"""The session hooks that put every committed change in the audit log.

Kept apart from :mod:`annexa.audit.log`, which loads on the first flush: a command that
only reads never flushes, so it never pays for the log, its Merkle tree and its signing
keys at start-up.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

PENDING = "audit_pending"
CASCADE = "audit_cascade"
SAVEPOINTS = "audit_savepoints"
BEFORES = "audit_befores"
ORG_SLUGS = "audit_org_slugs"


def install(factory: sessionmaker[Session]) -> None:
    event.listen(factory, "before_flush", _before_flush)
    event.listen(factory, "after_flush", _after_flush)
    event.listen(factory, "before_commit", _before_commit)
    event.listen(factory, "after_transaction_create", _transaction_started)
    event.listen(factory, "after_soft_rollback", _soft_rollback)
    event.listen(factory, "after_transaction_end", _transaction_ended)


def _before_flush(session: Session, context: Any, instances: Any) -> None:
    from annexa.audit import log

    log.before_flush(session, context, instances)


def _after_flush(session: Session, context: Any) -> None:
    from annexa.audit import log

    log.after_flush(session, context)


def _before_commit(session: Session) -> None:
    from annexa.audit import log

    log.before_commit(session)


def forget(session: Session) -> None:
    for key in (PENDING, CASCADE, BEFORES, ORG_SLUGS):
        session.info.pop(key, None)


def _transaction_started(session: Session, transaction: Any) -> None:
    if transaction.nested:  # a savepoint: remember where its events start
        marks = session.info.setdefault(SAVEPOINTS, {})
        marks[id(transaction)] = len(session.info.get(PENDING, ()))


def _soft_rollback(session: Session, previous: Any) -> None:
    if previous.nested:  # the savepoint's changes are gone: so are their events
        mark = session.info.get(SAVEPOINTS, {}).pop(id(previous), None)
        pending = session.info.get(PENDING)
        if mark is not None and pending is not None:
            del pending[mark:]


def _transaction_ended(session: Session, transaction: Any) -> None:
    if transaction.parent is None and not transaction.nested:
        forget(session)
        session.info.pop(SAVEPOINTS, None)
