"""Web latency benchmark: the pages of an organisation with 50,000 risks, over loopback.

Builds (or reuses, under ``.bench/``) the organisation of ``benchmarks/core_scale.py`` —
10,000 assets, 50,000 risks with their links, both SoAs — starts ``annexa serve`` as its
own process on a free loopback port, signs in like a browser, and times the dashboard,
the risk register (first page, and a deep page sorted by level) and the SoA page: N
sequential requests each, after a warm-up, printing p50/p95/p99 and the slowest.

    .venv/bin/python benchmarks/web_latency.py [--backend sqlite|postgresql]
        [--risks 50000] [--assets 10000] [--requests 200] [--rebuild]

Target: p99 under 300 ms for every page.
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table
from sqlalchemy import create_engine, func, select, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.pg_cluster import PostgresCluster  # noqa: E402

from annexa.accounts import create_user, find_user, grant, set_password  # noqa: E402
from annexa.store.db import Database  # noqa: E402
from annexa.store.models import Organisation, Risk  # noqa: E402
from benchmarks.core_scale import build  # noqa: E402

console = Console()
SLUG = "scale"
EMAIL = "bench@scale.example"
PASSWORD = "benchmark passphrase"
TARGET_P99_MS = 300.0
PAGES = {
    "dashboard": f"/o/{SLUG}/",
    "risk register, page 1": f"/o/{SLUG}/risks",
    "risk register, page 400 by level": f"/o/{SLUG}/risks?sort=-level&page=400",
    "risk register, filtered": f"/o/{SLUG}/risks?owner=Owner+7&treatment=modify&page=3",
    "SoA (ISO/IEC 27001)": f"/o/{SLUG}/soa",
}


def _risk_count(url: str) -> int:
    db = Database(url)
    try:
        db.ensure_ready()
        with db.reading() as session:
            org = session.scalar(select(Organisation.id).where(Organisation.slug == SLUG))
            if org is None:
                return 0
            return session.scalar(select(func.count()).select_from(Risk).where(Risk.org_id == org))
    except Exception:  # no database yet, or an older schema: build afresh
        return -1
    finally:
        db.dispose()


def prepare(url: str, assets: int, risks: int, rebuild: bool, sqlite_file: Path | None) -> None:
    """Build the organisation unless a matching one is already there; add the bench user."""
    if rebuild or _risk_count(url) != risks:
        if sqlite_file is not None:
            for stale in sqlite_file.parent.glob(sqlite_file.name + "*"):
                stale.unlink()
        started = time.perf_counter()
        build(url, assets, risks)
        console.print(
            f"built {assets:,} assets and {risks:,} risks in {time.perf_counter() - started:.1f} s"
        )
    else:
        console.print(f"reusing the {risks:,}-risk organisation")
    db = Database(url)
    db.upgrade()
    with db.transaction(actor="benchmark") as session:
        org = session.scalar(select(Organisation).where(Organisation.slug == SLUG))
        user = find_user(session, EMAIL)
        if user is None:
            user = create_user(session, EMAIL, "Bench Mark", PASSWORD)
        else:
            set_password(session, user, PASSWORD)
        grant(session, user, org, "admin")
    if db.dialect == "postgresql":
        with create_engine(db.url, isolation_level="AUTOCOMMIT").connect() as connection:
            connection.execute(text("VACUUM ANALYZE"))
    else:
        with db.engine.begin() as connection:
            connection.execute(text("ANALYZE"))
    db.dispose()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_server(url: str, port: int, folder: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "ANNEXA_AUDIT_KEY_FILE": str(folder / "bench-audit.key")}
    command = [
        sys.executable,
        "-c",
        "from annexa.cli.entry import main; main()",
        "--db",
        url,
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited: {process.stderr.read().decode()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("the server did not start within 60 s")


def sign_in(client: httpx.Client) -> None:
    form = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
    done = client.post(
        "/login", data={"email": EMAIL, "password": PASSWORD, "csrf_token": token, "next": "/"}
    )
    if done.status_code != 303:
        raise SystemExit(f"sign-in failed: {done.status_code}")


def measure(client: httpx.Client, path: str, requests: int, warmup: int) -> dict[str, float]:
    for _ in range(warmup):
        client.get(path)
    times = []
    size = 0
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get(path)
        times.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"GET {path} answered {response.status_code}")
        size = len(response.content)
    times.sort()

    def pct(p: float) -> float:
        return times[min(len(times) - 1, round(p / 100 * len(times)) - 1)]

    return {
        "p50": statistics.median(times),
        "p95": pct(95),
        "p99": pct(99),
        "max": times[-1],
        "kb": size / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--assets", type=int, default=10_000)
    parser.add_argument("--risks", type=int, default=50_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--rebuild", action="store_true", help="Build the organisation afresh.")
    options = parser.parse_args()

    cache = ROOT / ".bench"
    cache.mkdir(exist_ok=True)
    cluster = None
    sqlite_file = None
    with tempfile.TemporaryDirectory(prefix="annexa-web-bench-") as scratch:
        folder = Path(scratch)
        if options.backend == "sqlite":
            sqlite_file = cache / f"web-latency-{options.risks}.db"
            url = f"sqlite:///{sqlite_file}"
        else:
            cluster = PostgresCluster().start()
            url = cluster.create_database("scale")
        server = None
        try:
            prepare(url, options.assets, options.risks, options.rebuild, sqlite_file)
            port = _free_port()
            server = start_server(url, port, folder)
            results = {}
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
                sign_in(client)
                for label, path in PAGES.items():
                    results[label] = measure(client, path, options.requests, options.warmup)
        finally:
            if server is not None:
                server.terminate()
                server.wait(timeout=10)
            if cluster is not None:
                cluster.stop()

    table = Table(
        "page",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "max ms",
        "page KB",
        "p99 < 300 ms",
        title=f"{options.backend}: {options.risks:,} risks, {options.assets:,} assets — "
        f"{options.requests} sequential requests per page over loopback",
    )
    for label, row in results.items():
        ok = row["p99"] < TARGET_P99_MS
        table.add_row(
            label,
            f"{row['p50']:.1f}",
            f"{row['p95']:.1f}",
            f"{row['p99']:.1f}",
            f"{row['max']:.1f}",
            f"{row['kb']:.0f}",
            "[green]yes[/]" if ok else "[red]NO[/]",
        )
    console.print(table)
    if any(row["p99"] >= TARGET_P99_MS for row in results.values()):
        sys.exit(1)


if __name__ == "__main__":
    main()
