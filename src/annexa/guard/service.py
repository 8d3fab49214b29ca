"""The guard for an organisation of the Annexa database: its policy, keys and vault.

What the CLI (``annexa guard redact --vault``, ``restore``, ``vault purge``) and the API
(``/orgs/{org}/guard/…``) share:

- **policy**: ``$ANNEXA_GUARD_POLICY_DIR/<org slug>.yaml`` when that file exists (set by
  whoever runs the server, never sent by a caller), else the built-in detectors with the
  ``vault`` action for everything (:data:`VAULT_POLICY`);
- **keys**: derived for the organisation from the master key (:mod:`annexa.guard.keys`);
- **vault**: the organisation's entries in the database, in the caller's transaction.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from annexa.errors import InvalidInput
from annexa.guard.engine import Guard
from annexa.guard.keys import load_master_key, org_key
from annexa.guard.operators import RedactionState
from annexa.guard.policy import Policy, load_policy
from annexa.guard.vault import Vault, placeholders_in
from annexa.guard.vault_db import organisation_vault

ENV_POLICY_DIR = "ANNEXA_GUARD_POLICY_DIR"
VAULT_POLICY = Policy(default_action="vault")
DEFAULT_TTL = 3600
MAX_TTL = 366 * 24 * 3600
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
_TTL = re.compile(r"^\s*(\d{1,9})\s*([smhd]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_ttl(text: str | int, field: str = "--ttl") -> int:
    """Seconds from ``90``, ``90s``, ``30m``, ``12h`` or ``7d``; 1 s to 366 days."""
    match = _TTL.match(str(text))
    seconds = int(match.group(1)) * _UNITS[match.group(2)] if match else 0
    if not 1 <= seconds <= MAX_TTL:
        raise InvalidInput(
            f"bad time-to-live {text!r}",
            field=field,
            fix="give seconds or a number with s, m, h or d, from 1s to 366d (e.g. 12h)",
        )
    return seconds


# --- policies and guards -----------------------------------------------------------------

_policies: dict[Path, tuple[tuple[int, int], Policy]] = {}
_guards: OrderedDict[str, Guard] = OrderedDict()
_lock = threading.Lock()
GUARDS_KEPT = 8


def organisation_policy(slug: str) -> Policy | None:
    """The organisation's policy file, when the server has one (re-read when it changes)."""
    folder = os.environ.get(ENV_POLICY_DIR)
    if not folder or not _SLUG.match(slug):
        return None
    path = Path(folder).expanduser() / f"{slug}.yaml"
    try:
        stat = path.stat()
    except OSError:
        return None
    stamp = (stat.st_mtime_ns, stat.st_size)
    with _lock:
        cached = _policies.get(path)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    policy = load_policy(path)
    with _lock:
        _policies[path] = (stamp, policy)
    return policy


def guard_for(policy: Policy) -> Guard:
    """A guard for ``policy``, built once per process and kept (building one compiles the
    detectors: too slow to do per request)."""
    name = policy.model_dump_json()
    with _lock:
        guard = _guards.get(name)
        if guard is not None:
            _guards.move_to_end(name)
            return guard
    guard = Guard(policy)
    with _lock:
        _guards[name] = guard
        while len(_guards) > GUARDS_KEPT:
            _guards.popitem(last=False)
    return guard


def policy_for(slug: str) -> Policy:
    return organisation_policy(slug) or VAULT_POLICY


def check_destination(policy: Policy, destination: str | None) -> None:
    """Refuse a destination the policy does not name, whether or not the text has findings
    (the policy checks only when it looks a finding's rule up)."""
    if destination is not None and destination not in policy.destinations:
        raise InvalidInput(
            f"unknown destination {destination!r}",
            field="destination",
            fix="use one of: " + (", ".join(sorted(policy.destinations)) or "(none defined)"),
        )


# --- keys, vault, restoring ----------------------------------------------------------------


@dataclass
class OrgGuard:
    """One organisation's redaction state over its persistent vault."""

    vault: Vault
    pseudonym_key: bytes

    def state(self) -> RedactionState:
        return RedactionState(key=self.pseudonym_key, vault=self.vault)


def org_guard(
    connection: Connection,
    org_id: int,
    master_key: bytes,
    *,
    ttl: float = DEFAULT_TTL,
    clock: Callable[[], float] = time.time,
) -> OrgGuard:
    return OrgGuard(
        organisation_vault(connection, org_id, master_key, ttl=ttl, clock=clock),
        org_key(master_key, org_id, "pseudonym"),
    )


def master_key(database_file: str | None, *, create: bool) -> bytes | None:
    return load_master_key(database_file, create=create)


@dataclass
class Restored:
    data: Any
    restored: int  # distinct placeholders put back
    unresolved: int  # distinct placeholders left: unknown, expired or another key's

    def to_dict(self, name: str) -> dict[str, Any]:
        return {name: self.data, "restored": self.restored, "unresolved": self.unresolved}


def restore(vault: Vault | None, data: Any, *, as_json: bool) -> Restored:
    """Restore a text, or (``as_json``) a parsed JSON document, counting what was left.
    Without a vault (no master key yet) nothing is restored: placeholders stay as they are."""
    wanted = placeholders_in(data, as_json=as_json)
    if vault is None or not wanted:
        return Restored(data, 0, len(wanted))
    values = vault.lookup(wanted)
    out = vault.restore_json(data, values) if as_json else vault.restore(data, values)
    return Restored(out, len(values), len(wanted) - len(values))
