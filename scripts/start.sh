#!/usr/bin/env bash
# Set everything up and run the main job on the embedded default: a SQLite ISMS holding the
# demo organisation, its readiness status and Statement of Applicability overview, two demo
# users (an admin and an auditor), then the web UI and API on http://127.0.0.1:8000 in the
# foreground (Ctrl+C stops it).
#
#   ANNEXA_DEMO_PASSWORD=…   the demo users' password (else a new random one each run,
#                            printed below)
#   ANNEXA_PORT=8000         the port to serve on
#   ANNEXA_NO_SERVE=1        set up and print, but do not start the server
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -e .
# Bytecode for the editable install, as pip writes it for a wheel: every command then
# starts without compiling Annexa's modules (even where PYTHONDONTWRITEBYTECODE is set).
.venv/bin/python -m compileall -q src

export ANNEXA_DATABASE_URL="${ANNEXA_DATABASE_URL:-sqlite:///annexa.db}"
.venv/bin/annexa init
.venv/bin/annexa demo --reset
.venv/bin/annexa status
.venv/bin/annexa soa show --summary
.venv/bin/annexa soa show --summary --framework iso42001-2023

# Demo users, through the account services (idempotent: created once, their password reset
# and their role granted again on every run, since `demo --reset` replaced the organisation).
.venv/bin/python - <<'PY'
import os
import secrets

from annexa.accounts import create_user, find_user, grant, set_password
from annexa.cli.common import State
from annexa.demo.loader import DEMO_SLUG
from annexa.orgs import resolve_organisation

USERS = (
    ("admin@harbour-vale.example", "Demo Admin", "admin"),
    ("auditor@harbour-vale.example", "Demo Auditor", "auditor"),
)
given = os.environ.get("ANNEXA_DEMO_PASSWORD", "")
password = given or secrets.token_urlsafe(12)
state = State()
with state.transaction() as session:
    org = resolve_organisation(session, DEMO_SLUG)
    for email, name, role in USERS:
        user = find_user(session, email)
        if user is None:
            user = create_user(session, email, name, password)
        else:
            set_password(session, user, password)
            user.active = True
        grant(session, user, org, role)
port = os.environ.get("ANNEXA_PORT", "8000")
print()
print(f"Sign in at http://127.0.0.1:{port}/ with")
for email, _name, role in USERS:
    print(f"  {role:8} {email}")
if given:
    print("  password (from ANNEXA_DEMO_PASSWORD)")
else:
    print(f"  password {password}")
    print("  (a new one on every run; set ANNEXA_DEMO_PASSWORD to choose it)")
print()
PY

if [ "${ANNEXA_NO_SERVE:-}" = "1" ]; then
  exit 0
fi
exec .venv/bin/annexa serve --host 127.0.0.1 --port "${ANNEXA_PORT:-8000}"
