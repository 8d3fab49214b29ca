"""Audit log benchmark: append rate, full verification and proof cost, on SQLite.

    .venv/bin/python benchmarks/audit_log.py [--single 2000] [--batches 10] [--events 1000000]

1. appends/s with one change per transaction (ORM insert of a supplier + its event),
2. changes/s batched, 1,000 changes per transaction,
3. a log of --events events built with bulk inserts of canonical bytes and the
   incremental tree (the same code path as commits, minus the ORM), then the time of a
   full verification (`annexa audit verify`'s function: re-hash every event, check
   order, columns, stored leaves, head and checkpoints),
4. inclusion and consistency proof size and time at that size.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

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


def fresh(folder: Path, name: str) -> Database:
    db = Database(f"sqlite:///{folder / name}")
    db.upgrade()
    with db.transaction() as session:
        create_organisation(session, "Bench Org", slug="bench")
    return db


def appends(folder: Path, single: int, batches: int) -> None:
    db = fresh(folder, "appends.db")
    start = time.perf_counter()
    for i in range(single):
        with db.transaction(actor="bench") as session:
            session.add(Supplier(org_id=1, name=f"single {i}", criticality="high"))
    elapsed = time.perf_counter() - start
    print(f"one change per transaction: {single / elapsed:,.0f} changes/s ({single} transactions)")
    start = time.perf_counter()
    for b in range(batches):
        with db.transaction(actor="bench") as session:
            session.add_all(
                Supplier(org_id=1, name=f"batch {b}-{i}", criticality="low") for i in range(1000)
            )
    elapsed = time.perf_counter() - start
    print(
        f"1,000 changes per transaction: {batches * 1000 / elapsed:,.0f} changes/s "
        f"({batches} transactions)"
    )
    # Baseline: the same batched ORM inserts in a plain session (no audit listener).
    start = time.perf_counter()
    for b in range(batches):
        with Session(db.engine) as session:
            session.add_all(
                Supplier(org_id=1, name=f"plain {b}-{i}", criticality="low") for i in range(1000)
            )
            session.commit()
    elapsed = time.perf_counter() - start
    print(
        f"  (baseline, same ORM batches without the audit log: {batches * 1000 / elapsed:,.0f}/s)"
    )
    with db.engine.connect() as connection:
        result = verify_log(connection, None)
    assert result.ok, result.problem
    db.dispose()


def bodies(count: int):  # type: ignore[no-untyped-def]
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
    print(f"built {events:,} events in {time.perf_counter() - start:.1f}s "
          f"({os.path.getsize(folder / 'big.db') / 2**20:,.0f} MiB)")  # fmt: skip
    with db.engine.connect() as connection:
        start = time.perf_counter()
        result = verify_log(connection, signer.verifier)
        elapsed = time.perf_counter() - start
    assert result.ok, result.problem
    print(
        f"full verification of {result.events:,} events and {result.checkpoints} checkpoints: "
        f"{elapsed:.2f}s"
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
            f"inclusion proof at {size:,}: {max(sizes)} bytes of hashes "
            f"({max(sizes) // 32} hashes; {max(sizes) * 2} hex chars), "
            f"median {statistics.median(times) * 1000:.2f} ms, max {max(times) * 1000:.2f} ms"
        )
        times, sizes = [], []
        for _ in range(200):
            first = rng.randrange(1, size)
            t = time.perf_counter()
            proof = consistency_proof(connection, first, size)
            times.append(time.perf_counter() - t)
            sizes.append(32 * len(proof))
        print(
            f"consistency proof to {size:,}: up to {max(sizes)} bytes of hashes, "
            f"median {statistics.median(times) * 1000:.2f} ms, max {max(times) * 1000:.2f} ms"
        )
    db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--single", type=int, default=2000)
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--events", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        appends(folder, args.single, args.batches)
        big_log(folder, args.events)


if __name__ == "__main__":
    main()
