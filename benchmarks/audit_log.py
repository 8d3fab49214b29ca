"""Audit log benchmark: append rate, full verification and proof cost, on SQLite.

    .venv/bin/python benchmarks/audit_log.py [--single 2000] [--batches 10] [--events 1000000]

1. appends with one change per transaction: an ORM insert of a supplier and its event,
   committed (--single transactions);
2. appends batched, 1,000 changes per transaction (--batches transactions);
   each of 1 and 2 runs interleaved with the same ORM inserts in a session without the
   audit listener, the baseline, so that both see the same machine load;
3. a log of --events events built with bulk inserts of canonical bytes and the
   incremental tree (the code path of commits, minus the ORM), then the time of a full
   verification (`annexa audit verify`'s function: re-hash every event, check order,
   columns, every stored tree node, the head and the checkpoints);
4. inclusion and consistency proof size and time at that size (200 of each).

Rates are changes per second of wall-clock time. On a shared machine they move with the
load: compare the audited rate with the baseline printed next to it.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import sqlean  # the driver annexa.store.db opens SQLite with

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import sqlalchemy  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from annexa.audit import merkle  # noqa: E402
from annexa.audit.keys import Signer, parse_checkpoint  # noqa: E402
from annexa.audit.log import (  # noqa: E402
    bulk_append_bodies,
    consistency_proof,
    inclusion_proof,
    issue_checkpoint,
    new_request_id,
    tree_head,
    verify_log,
)
from annexa.orgs import create_organisation  # noqa: E402
from annexa.store.db import Database  # noqa: E402
from annexa.store.models import Supplier  # noqa: E402

BATCH = 1000


def fresh(folder: Path, name: str) -> Database:
    db = Database(f"sqlite:///{folder / name}")
    db.upgrade()
    with db.transaction() as session:
        create_organisation(session, "Bench Org", slug="bench")
    return db


def _audited(db: Database, names: list[str]) -> None:
    with db.transaction(actor="bench") as session:
        session.add_all(Supplier(org_id=1, name=name, criticality="low") for name in names)


def _plain(db: Database, names: list[str]) -> None:
    with Session(db.engine) as session:
        session.add_all(Supplier(org_id=1, name=name, criticality="low") for name in names)
        session.commit()


def _timed(run: Callable[[Database, list[str]], None], db: Database, names: list[str]) -> float:
    start = time.perf_counter()
    run(db, names)
    return time.perf_counter() - start


def _rate(changes: int, seconds: float) -> str:
    return f"{changes / seconds:,.0f} changes/s"


def appends(folder: Path, single: int, batches: int) -> None:
    db = fresh(folder, "appends.db")
    for kind, run in (("warm-up audited", _audited), ("warm-up plain", _plain)):
        run(db, [f"{kind} {i}" for i in range(BATCH)])

    # 1. One change per transaction, alternating audited and plain transactions.
    audited = plain = 0.0
    for i in range(single):
        audited += _timed(_audited, db, [f"single {i}"])
        plain += _timed(_plain, db, [f"single plain {i}"])
    print(
        f"1 change per transaction:       {_rate(single, audited):>18}"
        f"   baseline without the audit log {_rate(single, plain)}"
        f"   ({single:,} transactions each)"
    )

    # 2. Batched, alternating audited and plain transactions of BATCH changes.
    audited_times, plain_times = [], []
    for b in range(batches):
        audited_times.append(_timed(_audited, db, [f"batch {b}-{i}" for i in range(BATCH)]))
        plain_times.append(_timed(_plain, db, [f"plain {b}-{i}" for i in range(BATCH)]))
    total = batches * BATCH
    audited_median = BATCH / statistics.median(audited_times)
    plain_median = BATCH / statistics.median(plain_times)
    print(
        f"{BATCH:,} changes per transaction: {_rate(total, sum(audited_times)):>18}"
        f"   baseline without the audit log {_rate(total, sum(plain_times))}"
        f"   ({batches} transactions each)"
    )
    print(
        f"  per transaction, median: audited {audited_median:,.0f}/s"
        f" (slowest {BATCH / max(audited_times):,.0f}, fastest {BATCH / min(audited_times):,.0f}),"
        f" baseline {plain_median:,.0f}/s: the audit log takes"
        f" {1 - audited_median / plain_median:.0%} off the plain ORM rate"
    )
    with db.engine.connect() as connection:
        result = verify_log(connection, None)
    assert result.ok, result.problem
    db.dispose()


def bodies(count: int) -> Iterator[dict[str, Any]]:
    rng = random.Random(7)
    request = new_request_id()
    for i in range(count):
        if i % 1000 == 0:
            request = new_request_id()
        yield {
            "v": 1,
            "time": "2026-11-23T12:00:00.000000Z",
            "actor": "bench",
            "request_id": request,
            "action": "update",
            "type": "risk",
            "id": str(i % 50000),
            "ref": f"R-{i % 50000:04d}",
            "org_id": 1,
            "org": "bench",
            "changes": {
                "residual_likelihood": {"before": rng.randint(1, 5), "after": rng.randint(1, 5)},
                "treatment_plan": {"before": None, "after": "Roll out DLP to all laptops"},
            },
        }


def _times(times: list[float]) -> str:
    ordered = sorted(times)
    p95 = ordered[int(len(ordered) * 0.95) - 1]
    return (
        f"median {statistics.median(times) * 1000:.2f} ms, 95th percentile {p95 * 1000:.2f} ms,"
        f" max {max(times) * 1000:.2f} ms"
    )


def big_log(folder: Path, events: int) -> None:
    db = fresh(folder, "big.db")
    signer = Signer.generate("bench-audit")
    start = time.perf_counter()
    with db.engine.begin() as connection:
        step = max(events // 4, 1)
        done = 1  # the organisation's event
        while done < events:
            bulk_append_bodies(connection, bodies(min(step, events - done)))
            done = tree_head(connection)[0]
            issue_checkpoint(connection, signer)
    print(f"built a log of {events:,} events in {time.perf_counter() - start:.1f}s "
          f"({os.path.getsize(folder / 'big.db') / 2**20:,.0f} MiB)")  # fmt: skip
    with db.engine.connect() as connection:
        start = time.perf_counter()
        result = verify_log(connection, signer.verifier)
        elapsed = time.perf_counter() - start
    assert result.ok, result.problem
    print(
        f"full verification of {result.events:,} events and {result.checkpoints} checkpoints"
        f" (every event re-hashed, every stored tree node compared): {elapsed:.2f}s"
        f" ({result.events / elapsed:,.0f} events/s)"
    )
    size = result.events
    rng = random.Random(1)
    with db.engine.connect() as connection:
        note = issue_checkpoint(connection, signer)
        root = parse_checkpoint(note).root
        times, sizes = [], []
        for _ in range(200):
            index = rng.randrange(size)
            t = time.perf_counter()
            leaf, path = inclusion_proof(connection, index, size)
            times.append(time.perf_counter() - t)
            sizes.append(32 * len(path))
            assert merkle.verify_inclusion(index, size, leaf, path, root)
        print(
            f"inclusion proof at {size:,}: up to {max(sizes)} bytes of hashes"
            f" ({max(sizes) // 32} hashes; {max(sizes) * 2} hex chars); {_times(times)}"
        )
        times, sizes = [], []
        for _ in range(200):
            first = rng.randrange(1, size)
            t = time.perf_counter()
            proof = consistency_proof(connection, first, size)
            times.append(time.perf_counter() - t)
            sizes.append(32 * len(proof))
        print(f"consistency proof to {size:,}: up to {max(sizes)} bytes of hashes; {_times(times)}")
    db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--single", type=int, default=2000, help="one-change transactions")
    parser.add_argument("--batches", type=int, default=10, help=f"{BATCH:,}-change transactions")
    parser.add_argument("--events", type=int, default=1_000_000, help="events in the big log")
    args = parser.parse_args()
    print(
        f"Audit log on SQLite {sqlean.sqlite_version} (sqlean.py, WAL),"
        f" Python {platform.python_version()}, SQLAlchemy {sqlalchemy.__version__},"
        f" {os.cpu_count()} CPUs"
    )
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        appends(folder, args.single, args.batches)
        big_log(folder, args.events)


if __name__ == "__main__":
    main()
