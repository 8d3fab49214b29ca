#!/usr/bin/env bash
# Install what the tests need and run the whole suite: lint, then pytest on SQLite and PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'

# The PostgreSQL half of the suite needs PostgreSQL 15's initdb/pg_ctl; never skip it.
if ! command -v initdb >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  echo "installing PostgreSQL 15 server binaries…"
  if [ "$(id -u)" -eq 0 ]; then apt-get update -q && apt-get install -y -q postgresql-15; \
  else sudo apt-get update -q && sudo apt-get install -y -q postgresql-15; fi
fi

# The browser tests (tests/e2e) drive Debian's Chromium through Playwright; never skip them
# and never let Playwright download a browser of its own.
if [ ! -x /usr/bin/chromium ]; then
  echo "installing Chromium and its driver for the browser tests…"
  if [ "$(id -u)" -eq 0 ]; then apt-get update -q && apt-get install -y -q chromium chromium-driver; \
  else sudo apt-get update -q && sudo apt-get install -y -q chromium chromium-driver; fi
fi
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1

.venv/bin/ruff check src tests benchmarks tools setup.py
.venv/bin/ruff format --check src tests benchmarks tools setup.py
.venv/bin/pytest "$@"
