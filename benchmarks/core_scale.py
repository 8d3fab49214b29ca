"""Core scale benchmark: an organisation with 10,000 assets, 50,000 risks and both SoAs.

Builds the organisation with bulk inserts, then times `annexa soa show --json`,
`annexa risk list --json` and `annexa status --json` as separate processes (the way a user
runs them, round-robin), printing wall time and peak resident memory of each, on SQLite and
PostgreSQL, and a machine speed reference to compare runs by.

    .venv/bin/python benchmarks/core_scale.py [--backend sqlite|postgresql|both]
        [--assets 10000] [--risks 50000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import compileall
import datetime as dt
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from sqlalchemy import create_engine, insert, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.pg_cluster import PostgresCluster  # noqa: E402

from annexa.catalog import SOA_FRAMEWORKS, get_framework  # noqa: E402
from annexa.store.db import Database  # noqa: E402
from annexa.store.models import (  # noqa: E402
    Asset,
    Organisation,
    Risk,
    RiskAsset,
    RiskControl,
    SoaEntry,
)

console = Console()
CHUNK = 5_000
LEVELS = [(4, "low"), (9, "medium"), (16, "high"), (25, "critical")]
COMMANDS = {
    "soa show": ["soa", "show", "--json"],
    "risk list --json": ["risk", "list", "--json"],
    "status": ["status", "--json"],
}


def level(score: int) -> str:
    return next(name for top, name in LEVELS if score <= top)


def build(url: str, assets: int, risks: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    db = Database(url)
    db.upgrade()
    today = dt.date.today()
    controls = {fw: [c.ref for c in get_framework(fw).controls()] for fw in SOA_FRAMEWORKS}
    with db.engine.begin() as connection, Progress(console=console, transient=True) as progress:
        org_id = connection.execute(
            insert(Organisation)
            .values(name="Scale Test Ltd", slug="scale", scope_statement="Everything.")
            .returning(Organisation.id)
        ).scalar_one()

        task = progress.add_task("assets", total=assets)
        for start in range(0, assets, CHUNK):
            rows = [
                {
                    "org_id": org_id,
                    "name": f"Asset {i:05d}",
                    "kind": "information",
                    "classification": rng.choice(["internal", "confidential", "restricted"]),
                    "tags": rng.sample(["client", "personal", "financial"], k=rng.randint(0, 2)),
                    "owner": f"Owner {i % 50}",
                    "location": "Cloud",
                }
                for i in range(start, min(start + CHUNK, assets))
            ]
            connection.execute(insert(Asset), rows)
            progress.advance(task, len(rows))
        first_asset = connection.execute(
            text("SELECT min(id) FROM asset WHERE org_id = :o"), {"o": org_id}
        ).scalar_one()

        task = progress.add_task("risks", total=risks)
        for start in range(0, risks, CHUNK):
            rows = []
            for i in range(start, min(start + CHUNK, risks)):
                il, ii = rng.randint(1, 5), rng.randint(1, 5)
                rl, ri = rng.randint(1, il), rng.randint(1, ii)
                rows.append(
                    {
                        "org_id": org_id,
                        "ref": f"R-{i + 1:05d}",
                        "title": f"Risk {i + 1:05d}: data exposure through channel {i % 97}",
                        "threat": "Sensitive data in prompts or outputs",
                        "vulnerability": "No masking",
                        "owner": None if i % 101 == 0 else f"Owner {i % 50}",
                        "framework": "iso27001-2022",
                        "inherent_likelihood": il,
                        "inherent_impact": ii,
                        "inherent_score": il * ii,
                        "inherent_level": level(il * ii),
                        "residual_likelihood": rl,
                        "residual_impact": ri,
                        "residual_score": rl * ri,
                        "residual_level": level(rl * ri),
                        "treatment": "modify",
                        "treatment_plan": "Apply controls",
                        "status": "treated",
                        "due_date": today + dt.timedelta(days=rng.randint(-30, 200)),
                        "review_date": today + dt.timedelta(days=rng.randint(-30, 365)),
                    }
                )
            ids = (
                connection.execute(
                    insert(Risk).returning(Risk.id, sort_by_parameter_order=True), rows
                )
                .scalars()
                .all()
            )
            links, chosen = [], []
            for risk_id in ids:
                for asset_offset in rng.sample(range(assets), k=2):
                    links.append({"risk_id": risk_id, "asset_id": first_asset + asset_offset})
                for ref in rng.sample(controls["iso27001-2022"], k=3):
                    chosen.append(
                        {
                            "org_id": org_id,
                            "risk_id": risk_id,
                            "framework": "iso27001-2022",
                            "ref": ref,
                        }
                    )
            connection.execute(insert(RiskAsset), links)
            connection.execute(insert(RiskControl), chosen)
            progress.advance(task, len(rows))

        entries = []
        for framework, refs in controls.items():
            for n, ref in enumerate(refs):
                excluded = n % 17 == 5
                entries.append(
                    {
                        "org_id": org_id,
                        "framework": framework,
                        "ref": ref,
                        "applicable": not excluded,
                        "reasons": [] if excluded else ["risk_treatment"],
                        "justification": "Not relevant to this organisation."
                        if excluded
                        else "Selected in risk treatment.",
                        "status": rng.choice(["planned", "partial", "implemented"]),
                        "owner": "CISO",
                    }
                )
        connection.execute(insert(SoaEntry), entries)
    db.dispose()


# Runs in a fresh interpreter that imports nothing but Annexa, the way the `annexa` console
# script starts (annexa.cli.entry); it times the import (start-up) and the command separately.
CHILD = """
import io, json, resource, sys, time
from contextlib import redirect_stdout
started = time.perf_counter()
from annexa.cli.entry import load_cli
run = load_cli()
imported = time.perf_counter()
sink = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")  # like a pipe: text over bytes
with redirect_stdout(sink):
    try:
        run(["--db", sys.argv[1], "--org", "scale", *sys.argv[2:]])
    except SystemExit as exc:
        if exc.code:
            raise
finished = time.perf_counter()
report = {
    "startup": imported - started,
    "command": finished - imported,
    "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "bytes": (sink.flush(), sink.buffer.getbuffer().nbytes)[1],
}
sys.stderr.write("BENCH " + json.dumps(report) + "\\n")
"""


def run_measured(url: str, args: list[str]) -> dict[str, float]:
    """One fresh `annexa` process: wall time, start-up, command time, peak RSS, output size."""
    import json

    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", CHILD, url, *args], capture_output=True, text=True)
    wall = time.perf_counter() - started
    line = next((x for x in done.stderr.splitlines() if x.startswith("BENCH ")), None)
    if done.returncode != 0 or line is None:
        raise SystemExit(f"annexa {' '.join(args)} failed: {done.stderr[-800:]}")
    return {"wall": wall, **json.loads(line[6:])}


def measure(backend: str, url: str, repeat: int) -> list[dict[str, object]]:
    # Round-robin over the commands, so that a machine whose speed drifts (a shared VM)
    # slows every command alike instead of whichever ran during the slow minute.
    runs_of: dict[str, list[dict[str, float]]] = {label: [] for label in COMMANDS}
    for _ in range(repeat):
        for label, args in COMMANDS.items():
            runs_of[label].append(run_measured(url, args))
    rows: list[dict[str, object]] = []
    for label, runs in runs_of.items():
        best = min(runs, key=lambda run: run["command"])
        rows.append(
            {
                "backend": backend,
                "command": label,
                "command_s": best["command"],
                "median_command_s": sorted(r["command"] for r in runs)[len(runs) // 2],
                "wall_s": min(r["wall"] for r in runs),
                "median_wall_s": sorted(r["wall"] for r in runs)[len(runs) // 2],
                "startup_s": best["startup"],
                "peak_mb": max(r["peak_mb"] for r in runs),
                "bytes": best["bytes"],
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--assets", type=int, default=10_000)
    parser.add_argument("--risks", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=3)
    options = parser.parse_args()
    # Bytecode for Annexa's modules, as an installed package has it (pip writes it for a
    # wheel, scripts/start.sh for the editable install): otherwise, where
    # PYTHONDONTWRITEBYTECODE is set, every measured process compiles the edited modules.
    compileall.compile_dir(str(ROOT / "src"), quiet=1)

    results = []
    backends = ["sqlite", "postgresql"] if options.backend == "both" else [options.backend]
    with tempfile.TemporaryDirectory() as folder:
        for backend in backends:
            cluster = None
            if backend == "sqlite":
                url = f"sqlite:///{folder}/scale.db"
            else:
                cluster = PostgresCluster().start()
                url = cluster.create_database("scale")
            try:
                started = time.perf_counter()
                build(url, options.assets, options.risks)
                console.print(
                    f"{backend}: built {options.assets:,} assets and {options.risks:,} risks "
                    f"in {time.perf_counter() - started:.1f} s"
                )
                if backend == "postgresql":
                    engine = create_engine(url, isolation_level="AUTOCOMMIT")
                    with engine.connect() as connection:
                        connection.execute(text("VACUUM ANALYZE"))
                    engine.dispose()
                results += measure(backend, url, options.repeat)
            finally:
                if cluster:
                    cluster.stop()

    table = Table(
        "backend",
        "command",
        "command s",
        "median s",
        "process wall s",
        "median wall s",
        "start-up s",
        "peak RSS MB",
        "output KB",
        title=f"{options.assets:,} assets, {options.risks:,} risks, both SoAs",
        caption="command: the work after start-up (best of the runs, then the median); process "
        "wall: the whole `annexa` process, interpreter start-up included (best, then median)",
    )
    for row in results:
        table.add_row(
            str(row["backend"]),
            str(row["command"]),
            f"{row['command_s']:.3f}",
            f"{row['median_command_s']:.3f}",
            f"{row['wall_s']:.3f}",
            f"{row['median_wall_s']:.3f}",
            f"{row['startup_s']:.3f}",
            f"{row['peak_mb']:.0f}",
            f"{int(row['bytes']) / 1024:.0f}",
        )
    console.print(table)
    console.print(
        f"machine speed reference: a fixed Python loop took {reference_seconds():.3f} s "
        "(compare runs by it: timings on a shared machine move by a fifth or more)"
    )


def reference_seconds() -> float:
    """Best of three runs of a fixed CPU-bound loop, to compare the machine between runs."""
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        sum(range(10_000_000))
        best = min(best, time.perf_counter() - started)
    return best


if __name__ == "__main__":
    main()
