"""A throwaway PostgreSQL 15 cluster for the test suite, on a free loopback port.

PostgreSQL refuses to run as root, so when the suite runs as root the cluster is
created and started as the ``postgres`` user in a temporary folder it owns.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _find(binary: str) -> str:
    found = shutil.which(binary)
    if found:
        return found
    for candidate in sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{binary}"), reverse=True):
        return str(candidate)
    raise RuntimeError(
        f"{binary} not found: install PostgreSQL 15 (apt-get install postgresql-15); "
        "the PostgreSQL half of the suite must not be skipped"
    )


class PostgresCluster:
    def __init__(self) -> None:
        self.port = _free_port()
        self.base = Path(tempfile.mkdtemp(prefix="annexa-pg-"))
        self.data = self.base / "data"
        self.as_postgres = os.geteuid() == 0
        self.user = "postgres" if self.as_postgres else os.environ.get("USER", "postgres")

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        command = list(args)
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, check=True, capture_output=True, text=True)

    def start(self) -> PostgresCluster:
        if self.as_postgres:
            shutil.chown(self.base, "postgres", "postgres")
        self._run(
            _find("initdb"),
            "-D",
            str(self.data),
            "-U",
            self.user,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
        )
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={self.port} "
            f"-c unix_socket_directories={self.base} -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        self._run(
            _find("pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.base / "server.log"),
            "-w",
            "-t",
            "60",
            "start",
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return self
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"PostgreSQL did not start; see {self.base / 'server.log'}")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str, template: str | None = None, options: str = "") -> str:
        """A new database (a copy of ``template`` when given, with further ``CREATE
        DATABASE`` options, e.g. a locale); returns its URL."""
        from sqlalchemy import create_engine, text

        copy = f' TEMPLATE "{template}"' if template else ""
        copy += f" {options}" if options else ""
        admin = create_engine(self.url(), isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{name}"{copy}'))
        finally:
            admin.dispose()
        return self.url(name)

    def stop(self) -> None:
        try:
            self._run(_find("pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.base, ignore_errors=True)
