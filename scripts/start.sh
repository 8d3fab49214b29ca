#!/usr/bin/env bash
# Set everything up and run the main job on the embedded default: a SQLite ISMS holding the
# demo organisation, then its readiness status and Statement of Applicability overview.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -e .

export ANNEXA_DATABASE_URL="${ANNEXA_DATABASE_URL:-sqlite:///annexa.db}"
.venv/bin/annexa init
.venv/bin/annexa demo --reset
.venv/bin/annexa status
.venv/bin/annexa soa show --summary
.venv/bin/annexa soa show --summary --framework iso42001-2023
