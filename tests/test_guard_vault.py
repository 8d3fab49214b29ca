"""The guard's persistent vault: storage per organisation on SQLite and PostgreSQL, keys,
time-to-live, concurrency, JSON restore, the CLI and the API (roles, tenants, limits)."""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import orjson
import pytest
from sqlalchemy import select, update

from annexa.errors import InvalidInput
from annexa.guard import Guard, parse_policy
from annexa.guard.keys import load_master_key, master_key_path, org_key
from annexa.guard.service import org_guard, parse_ttl, restore
from annexa.guard.vault import Vault, placeholder_kind
from annexa.guard.vault_db import organisation_vault, purge_expired
from annexa.orgs import create_organisation
from annexa.store.db import Database
from annexa.store.models import (
    AuditEvent,
    GuardVaultCounter,
    GuardVaultEntry,
    Organisation,
)
from tests.api_support import ORG_A, ORG_B, ROLES, Api, make_api
from tests.conftest import CliCall

MASTER = b"m" * 32
OTHER_MASTER = b"o" * 32
VAULT_ALL = Guard(parse_policy({"default_action": "vault"}))
TEXT = "Mail jane.doe@example.com or bob@example.org, IBAN GB82 WEST 1234 5698 7654 32."


@pytest.fixture(autouse=True)
def _guard_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "ANNEXA_GUARD_MASTER_KEY",
        "ANNEXA_GUARD_MASTER_KEY_FILE",
        "ANNEXA_GUARD_POLICY_DIR",
        "ANNEXA_GUARD_KEY",
    ):
        monkeypatch.delenv(name, raising=False)


class Clock:
    def __init__(self, now: float = 1_800_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def _org_id(db: Database, slug: str = "test-org") -> int:
    with db.reading() as session:
        return session.scalars(select(Organisation.id).where(Organisation.slug == slug)).one()


def _second_org(db: Database) -> int:
    with db.transaction() as session:
        return create_organisation(session, "Second Org", slug="second-org").id


def _redact(db: Database, org_id: int, text: str, master: bytes = MASTER, **kw) -> str:  # type: ignore[no-untyped-def]
    with db.engine.begin() as connection:
        state = org_guard(connection, org_id, master, **kw).state()
        return VAULT_ALL.redact(text, state=state).text


def _restore(db: Database, org_id: int, data, master: bytes = MASTER, **kw):  # type: ignore[no-untyped-def]
    with db.engine.connect() as connection:
        vault = organisation_vault(connection, org_id, master, **kw)
        return vault.restore_json(data) if not isinstance(data, str) else vault.restore(data)


# --- storage ---------------------------------------------------------------------------


def test_round_trip_across_vault_instances_sharing_the_database(db: Database) -> None:
    org = _org_id(db)
    redacted = _redact(db, org, TEXT)
    assert redacted == ("Mail <EMAIL_ADDRESS_1> or <EMAIL_ADDRESS_2>, IBAN <IBAN_CODE_1>."), (
        "numbered in the order of the text"
    )
    # another engine: another process's view of the same database
    other = Database(db.url)
    try:
        assert _restore(other, org, redacted) == TEXT
        # the same value gets the same placeholder from another instance, a new one a new
        again = _redact(other, org, "bob@example.org and carol@example.net")
        assert again == "<EMAIL_ADDRESS_2> and <EMAIL_ADDRESS_3>"
    finally:
        other.dispose()
    with db.reading() as session:
        rows = session.scalars(select(GuardVaultEntry)).all()
        assert len(rows) == 4
        for row in rows:
            assert b"example" not in row.sealed and len(row.digest) == 32
        counters = {
            c.entity_type: c.last_number for c in session.scalars(select(GuardVaultCounter))
        }
        assert counters == {"EMAIL_ADDRESS": 3, "IBAN_CODE": 1}


def test_round_trip_across_processes(db_url: str, tmp_path: Path) -> None:
    """Two CLI processes: one vaults, the other restores (the master key file is shared)."""
    env = {**os.environ, "ANNEXA_ORG": "test-org"}
    annexa = [str(Path(sys.executable).with_name("annexa")), "--db", db_url, "guard"]
    redacted = subprocess.run(
        [*annexa, "redact", "--vault", "--ttl", "10m"],
        input=TEXT, capture_output=True, text=True, env=env, check=True,
    ).stdout  # fmt: skip
    assert "jane.doe" not in redacted and "<IBAN_CODE_1>" in redacted
    key_file = tmp_path / "annexa-guard.key"  # next to the test's audit key
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    restored = subprocess.run(
        [*annexa, "restore"], input=redacted, capture_output=True, text=True, env=env, check=True
    )
    assert restored.stdout == TEXT and restored.stderr == ""


def test_time_to_live_expiry_and_purge(db: Database) -> None:
    org = _org_id(db)
    clock = Clock()
    redacted = _redact(db, org, "a@x.io", ttl=10, clock=clock)
    assert redacted == "<EMAIL_ADDRESS_1>"
    clock.now += 10
    assert _restore(db, org, redacted, clock=clock) == "a@x.io"  # the last live second
    # using a value again pushes its expiry
    assert _redact(db, org, "a@x.io", ttl=100, clock=clock) == redacted
    clock.now += 50
    assert _restore(db, org, redacted, clock=clock) == "a@x.io"
    clock.now += 51
    assert _restore(db, org, redacted, clock=clock) == redacted  # expired: left alone
    # an expired value is vaulted anew under a new number, never revived
    assert _redact(db, org, "a@x.io", ttl=10, clock=clock) == "<EMAIL_ADDRESS_2>"
    assert _restore(db, org, "<EMAIL_ADDRESS_1> <EMAIL_ADDRESS_2>", clock=clock) == (
        "<EMAIL_ADDRESS_1> a@x.io"
    )
    _redact(db, org, "b@x.io", ttl=5, clock=clock)
    clock.now += 11
    with db.engine.begin() as connection:
        assert purge_expired(connection, clock.now, org_id=org) == 2
        assert purge_expired(connection, clock.now) == 0
    # numbers are not reused after a purge: an old placeholder never meets a new value
    assert _redact(db, org, "c@x.io", clock=clock) == "<EMAIL_ADDRESS_4>"
    with db.reading() as session:
        assert len(session.scalars(select(GuardVaultEntry)).all()) == 1


def test_a_moved_ciphertext_never_decrypts(db: Database) -> None:
    org_a, org_b = _org_id(db), _second_org(db)
    redacted = _redact(db, org_a, "jane@a.example and john@a.example")
    assert _redact(db, org_b, "someone@b.example") == "<EMAIL_ADDRESS_1>"
    # org B cannot restore org A's placeholders, even those its own vault numbers too
    assert _restore(db, org_b, redacted) == "someone@b.example and <EMAIL_ADDRESS_2>"
    with db.engine.begin() as connection:
        entries = GuardVaultEntry.__table__
        rows = {
            (r.org_id, r.placeholder): r.sealed
            for r in connection.execute(
                select(entries.c.org_id, entries.c.placeholder, entries.c.sealed)
            )
        }
        # A's sealed value copied onto B's entry of the same placeholder: no decrypt
        connection.execute(
            update(entries)
            .where(entries.c.org_id == org_b, entries.c.placeholder == "<EMAIL_ADDRESS_1>")
            .values(sealed=rows[(org_a, "<EMAIL_ADDRESS_1>")])
        )
        # within A, a ciphertext moved to another placeholder: no decrypt either
        connection.execute(
            update(entries)
            .where(entries.c.org_id == org_a, entries.c.placeholder == "<EMAIL_ADDRESS_2>")
            .values(sealed=rows[(org_a, "<EMAIL_ADDRESS_1>")])
        )
    assert _restore(db, org_b, "<EMAIL_ADDRESS_1>") == "<EMAIL_ADDRESS_1>"
    assert _restore(db, org_a, redacted) == "jane@a.example and <EMAIL_ADDRESS_2>"


def test_wrong_master_key_fails_closed(db: Database) -> None:
    org = _org_id(db)
    redacted = _redact(db, org, TEXT)
    assert _restore(db, org, redacted, master=OTHER_MASTER) == redacted  # as is, no garbage
    payload = {"args": json.dumps({"to": "<EMAIL_ADDRESS_1>"})}
    assert _restore(db, org, payload, master=OTHER_MASTER) == payload
    # vaulting under the other key never reuses or clobbers the first key's entries
    assert _redact(db, org, "jane.doe@example.com", master=OTHER_MASTER) == "<EMAIL_ADDRESS_3>"
    assert _restore(db, org, redacted) == TEXT


def _put_all(url: str, org: int, values: list[str], barrier: threading.Barrier) -> list[str]:
    database = Database(url)
    try:
        barrier.wait()
        tokens = []
        for start in range(0, len(values), 5):  # several transactions per writer
            with database.engine.begin() as connection:
                vault = organisation_vault(connection, org, MASTER)
                tokens += vault.put_many([("EMAIL_ADDRESS", v) for v in values[start : start + 5]])
        return tokens
    finally:
        database.dispose()


def test_concurrent_writers_get_unique_numbers(db: Database) -> None:
    org = _org_id(db)
    writers = 4
    shared = [f"shared{n}@x.io" for n in range(10)]
    plans = []
    for w in range(writers):
        own = [f"w{w}-{n}@x.io" for n in range(15)]
        mixed = own + (shared if w % 2 else shared[::-1])  # the same new values, both orders
        plans.append(mixed)
    barrier = threading.Barrier(writers)
    with ThreadPoolExecutor(writers) as pool:
        results = list(
            pool.map(lambda plan: _put_all(db.url, org, plan, barrier), plans, timeout=120)
        )
    by_value: dict[str, set[str]] = {}
    for plan, tokens in zip(plans, results, strict=True):
        for value, token in zip(plan, tokens, strict=True):
            by_value.setdefault(value, set()).add(token)
    assert all(len(tokens) == 1 for tokens in by_value.values()), "one placeholder per value"
    placeholders = [next(iter(tokens)) for tokens in by_value.values()]
    assert len(set(placeholders)) == len(by_value) == writers * 15 + 10, "unique numbers"
    with db.engine.connect() as connection:
        vault = organisation_vault(connection, org, MASTER)
        assert vault.lookup(placeholders) == {next(iter(t)): v for v, t in by_value.items()}


# --- JSON and tool calls ------------------------------------------------------------------


def test_restore_inside_nested_json_and_tool_call_arguments(db: Database) -> None:
    org = _org_id(db)
    redacted = _redact(db, org, TEXT)
    email, iban = "<EMAIL_ADDRESS_1>", "<IBAN_CODE_1>"
    escaped = json.dumps({"a": email}).replace("<", "\\u003c").replace(">", "\\u003e")
    inner = {"to": [email, {"deeper": json.dumps({"iban": iban, "n": 2})}], "note": "keep"}
    message = {
        "role": "assistant",
        "content": f"Sending to {email}",
        "tool_calls": [
            {"id": "c1", "function": {"name": "send", "arguments": json.dumps(inner)}},
            # an encoder that escapes < and > (Go, HTML-safe JSON)
            {"id": "c2", "function": {"name": "x", "arguments": escaped}},
            {"id": "c3", "function": {"name": "y", "arguments": '{"untouched": "<NOPE_1>"}'}},
        ],
        email: "a key",
    }  # fmt: skip
    with db.engine.connect() as connection:
        vault = organisation_vault(connection, org, MASTER)
        done = restore(vault, orjson.loads(orjson.dumps(message)), as_json=True)
    assert (done.restored, done.unresolved) == (2, 1)
    out = done.data
    assert out["content"] == "Sending to jane.doe@example.com"
    assert out["jane.doe@example.com"] == "a key"
    args = json.loads(out["tool_calls"][0]["function"]["arguments"])
    assert args["to"][0] == "jane.doe@example.com" and args["note"] == "keep"
    assert json.loads(args["to"][1]["deeper"]) == {"iban": "GB82 WEST 1234 5698 7654 32", "n": 2}
    assert json.loads(out["tool_calls"][1]["function"]["arguments"]) == {
        "a": "jane.doe@example.com"
    }
    # nothing restored inside: the string is kept byte for byte
    assert out["tool_calls"][2]["function"]["arguments"] == '{"untouched": "<NOPE_1>"}'
    assert redacted.startswith("Mail <EMAIL_ADDRESS_1>")
    with pytest.raises(InvalidInput, match="nested"):
        restore(vault, json.loads("[" * 70 + '"<A_1>"' + "]" * 70), as_json=True)


def test_placeholder_kinds_and_ttl_parsing() -> None:
    assert placeholder_kind("matter-no") == "MATTER_NO"
    assert placeholder_kind("9lives") == "X_9LIVES"
    assert placeholder_kind("É" * 60) == "X" + "_" * 40
    vault = Vault(b"k" * 32)
    token = vault.put("matter-no", "M-123456")
    assert token == "<MATTER_NO_1>" and vault.restore(f"see {token}") == "see M-123456"
    assert [parse_ttl(t) for t in ("90", "90s", "30m", "12h", "7d")] == [
        90, 90, 1800, 43200, 604800,
    ]  # fmt: skip
    for bad in ("0", "-5", "1y", "367d", "", "1.5h"):
        with pytest.raises(InvalidInput):
            parse_ttl(bad)


# --- keys ------------------------------------------------------------------------------------


def test_master_key_file_and_derived_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANNEXA_AUDIT_KEY_FILE")
    db_file = str(tmp_path / "x.db")
    assert master_key_path(db_file) == tmp_path / "x.db.guard-key"
    assert load_master_key(db_file) is None  # never created by a read
    with ThreadPoolExecutor(4) as pool:  # racing creators all end up with one key
        keys = set(pool.map(lambda _: load_master_key(db_file, create=True), range(8)))
    assert len(keys) == 1 and len(next(iter(keys))) == 32
    path = tmp_path / "x.db.guard-key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".annexa-guard-")]
    key = next(iter(keys))
    assert load_master_key(db_file) == key
    monkeypatch.setenv("ANNEXA_AUDIT_KEY_FILE", str(tmp_path / "keys" / "audit.key"))
    assert master_key_path(db_file) == tmp_path / "keys" / "annexa-guard.key"
    monkeypatch.setenv("ANNEXA_GUARD_MASTER_KEY_FILE", str(tmp_path / "m.key"))
    assert master_key_path(db_file) == tmp_path / "m.key"
    monkeypatch.setenv("ANNEXA_GUARD_MASTER_KEY", base64.b64encode(MASTER).decode())
    assert load_master_key(db_file) == MASTER
    monkeypatch.setenv("ANNEXA_GUARD_MASTER_KEY", "c2hvcnQ=")
    with pytest.raises(InvalidInput, match="32 bytes"):
        load_master_key(db_file)
    # per organisation and purpose; never the master key itself
    derived = {org_key(key, org, p) for org in (1, 2) for p in ("vault", "pseudonym")}
    assert len(derived) == 4 and key not in derived


# --- audit ---------------------------------------------------------------------------------


def test_vault_entries_stay_out_of_the_audit_log(db: Database, cli: CliCall) -> None:
    assert cli("init").exit_code == 0  # the audit signing key, for verify
    org_b = _second_org(db)
    with db.reading() as session:
        before = len(session.scalars(select(AuditEvent.seq)).all())
    _redact(db, _org_id(db), TEXT)
    _redact(db, org_b, TEXT)
    with db.reading() as session:
        assert len(session.scalars(select(AuditEvent.seq)).all()) == before
    assert cli("audit", "verify").exit_code == 0
    # an organisation's deletion cascades to its vault without describing the entries
    with db.transaction() as session:
        session.delete(session.get(Organisation, org_b))
    with db.reading() as session:
        kinds = set(session.scalars(select(AuditEvent.object_type)))
        assert not {k for k in kinds if k.startswith("guard_vault")}
        assert session.scalars(select(GuardVaultEntry.org_id)).all() == [_org_id(db)] * 3
    assert cli("audit", "verify").exit_code == 0


# --- CLI -------------------------------------------------------------------------------------


def test_cli_vault_redact_restore_and_purge(cli: CliCall, tmp_path: Path) -> None:
    assert cli("init").exit_code == 0  # the audit signing key, for verify
    redacted = cli("guard", "redact", "--vault", "--ttl", "2h", input=TEXT)
    assert redacted.exit_code == 0, redacted.output
    text = redacted.stdout
    assert text == "Mail <EMAIL_ADDRESS_1> or <EMAIL_ADDRESS_2>, IBAN <IBAN_CODE_1>."
    back = cli("guard", "restore", input=text + " <EMAIL_ADDRESS_9>")
    assert back.exit_code == 0
    assert back.stdout == TEXT + " <EMAIL_ADDRESS_9>"
    assert "1 placeholder not restored" in back.stderr
    # JSON: a tool call whose arguments are JSON in a string
    call = {"tool_calls": [{"function": {"arguments": json.dumps({"to": "<EMAIL_ADDRESS_2>"})}}]}
    source = tmp_path / "call.json"
    source.write_text(json.dumps(call), encoding="utf-8")
    restored = cli("guard", "restore", "--json", str(source))
    assert restored.exit_code == 0, restored.output
    args = json.loads(json.loads(restored.stdout)["tool_calls"][0]["function"]["arguments"])
    assert args == {"to": "bob@example.org"}
    # the JSON report of redact names actions, never values
    report = cli("guard", "redact", "--vault", "--json", input="call +44 20 7946 0958")
    data = json.loads(report.stdout)["results"][0]
    assert data["text"] == "call <PHONE_NUMBER_1>" and data["findings"][0]["action"] == "vault"
    assert data["findings"][0]["text"] is None
    purge = cli("guard", "vault", "purge", "--json")
    assert purge.exit_code == 0 and json.loads(purge.stdout) == {
        "organisation": "test-org",
        "purged": 0,
    }
    assert cli("guard", "vault", "purge", "--all-orgs").exit_code == 0
    assert cli("audit", "verify").exit_code == 0


def test_cli_vault_errors_and_policies(cli: CliCall, tmp_path: Path) -> None:
    bad_ttl = cli("guard", "redact", "--vault", "--ttl", "1y", input="a@x.io")
    assert bad_ttl.exit_code == 2 and "--ttl" in bad_ttl.stderr
    assert cli("guard", "redact", "--ttl", "1h", input="a@x.io").exit_code == 2
    not_json = cli("guard", "restore", "--json", input="not json")
    assert not_json.exit_code == 2 and "not JSON" in not_json.stderr
    # the vault action without --vault names the fix
    policy = tmp_path / "p.yaml"
    policy.write_text("default_action: vault\nentities: {IBAN_CODE: block}\n", encoding="utf-8")
    no_vault = cli("guard", "redact", "--policy", str(policy), input="a@x.io")
    assert no_vault.exit_code == 2 and "--vault" in no_vault.stderr
    blocked = cli("guard", "redact", "--vault", "--policy", str(policy), input=TEXT)
    assert blocked.exit_code == 3 and blocked.stdout == ""
    # pseudonyms under the organisation's derived key: stable, and no ANNEXA_GUARD_KEY needed
    policy.write_text("default_action: pseudonymise\n", encoding="utf-8")
    first = cli("guard", "redact", "--vault", "--policy", str(policy), input="a@x.io")
    second = cli("guard", "redact", "--vault", "--policy", str(policy), input="a@x.io")
    assert first.exit_code == 0 and first.stdout == second.stdout != "a@x.io"
    # restoring before any key exists leaves the text alone and says why
    (tmp_path / "annexa-guard.key").unlink()
    nothing = cli("guard", "restore", input="<EMAIL_ADDRESS_1>")
    assert nothing.exit_code == 0 and nothing.stdout == "<EMAIL_ADDRESS_1>"
    assert "no guard master key" in nothing.stderr
    assert not (tmp_path / "annexa-guard.key").exists()


# --- API ---------------------------------------------------------------------------------------

GUARD_A = f"/api/v1/orgs/{ORG_A}/guard"
GUARD_B = f"/api/v1/orgs/{ORG_B}/guard"


@pytest.fixture
def api(db_url: str) -> Iterator[Api]:
    built = make_api(db_url)
    yield built
    built.database.dispose()


def test_api_roles(api: Api) -> None:
    vaulted = api.send("admin", "POST", f"{GUARD_A}/redact", {"text": TEXT}).json()["text"]
    for role in ROLES:
        scan = api.send(role, "POST", f"{GUARD_A}/scan", {"text": TEXT})
        assert scan.status_code == 200, (role, scan.text)
        redact = api.send(role, "POST", f"{GUARD_A}/redact", {"text": TEXT})
        restore_ = api.send(role, "POST", f"{GUARD_A}/restore", {"text": vaulted})
        assert redact.status_code == (200 if role in ("admin", "editor", "contributor") else 403)
        assert restore_.status_code == (200 if role in ("admin", "editor") else 403), role
        if restore_.status_code == 200:
            assert restore_.json() == {"text": TEXT, "restored": 3, "unresolved": 0}
        else:
            assert restore_.json()["error"]["code"] == "forbidden"
    # a read token scans, but neither vaults nor reveals
    assert api.send("editor-read", "POST", f"{GUARD_A}/scan", {"text": TEXT}).status_code == 200
    for op in ("redact", "restore"):
        response = api.send("editor-read", "POST", f"{GUARD_A}/{op}", {"text": vaulted})
        assert response.status_code == 403, op
    # scans answer where and what, never the values
    found = api.send("viewer", "POST", f"{GUARD_A}/scan", {"text": TEXT}).json()
    assert found["status"] == "ok" and "jane" not in json.dumps(found)
    assert [f["entity_type"] for f in found["findings"]] == [
        "EMAIL_ADDRESS", "EMAIL_ADDRESS", "IBAN_CODE",
    ]  # fmt: skip


def test_api_tenant_isolation(api: Api) -> None:
    b_text = api.send("bob", "POST", f"{GUARD_B}/redact", {"text": "x jane@b.example"})
    assert b_text.status_code == 200
    placeholder = b_text.json()["text"][2:]
    assert placeholder == "<EMAIL_ADDRESS_1>"
    # A's admin: B's routes do not exist for them; A's vault does not know B's values
    for op in ("scan", "redact", "restore"):
        response = api.send("admin", "POST", f"{GUARD_B}/{op}", {"text": placeholder})
        assert response.status_code == 404 and response.json()["error"]["field"] == "org"
    a_side = api.send("admin", "POST", f"{GUARD_A}/restore", {"text": placeholder}).json()
    assert a_side == {"text": placeholder, "restored": 0, "unresolved": 1}
    # once A vaults its own first e-mail, the same placeholder means A's value to A only
    api.send("admin", "POST", f"{GUARD_A}/redact", {"text": "jane@a.example"})
    a_side = api.send("admin", "POST", f"{GUARD_A}/restore", {"text": placeholder}).json()
    assert a_side["text"] == "jane@a.example"
    b_side = api.send("bob", "POST", f"{GUARD_B}/restore", {"data": [placeholder]}).json()
    assert b_side == {"data": ["jane@b.example"], "restored": 1, "unresolved": 0}


def test_api_bodies_limits_and_errors(api: Api, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    headers = {**api.as_("admin"), "content-type": "application/json"}
    big = b'{"text": "' + b"a" * (1 << 20) + b'"}'
    for op in ("scan", "redact", "restore"):
        response = api.client.post(f"{GUARD_A}/{op}", content=big, headers=headers)
        assert response.status_code == 413, op
        assert response.json()["error"]["code"] == "too_large"
    chunked = api.client.post(
        f"{GUARD_A}/scan", content=iter([big[:10], big[10:]]), headers=headers
    )
    assert chunked.status_code == 413
    for body in ({}, {"text": "a", "data": "b"}, {"text": None}, {"text": "x", "policy": {}}):
        response = api.send("admin", "POST", f"{GUARD_A}/restore", body)
        assert response.status_code == 422, body
    assert api.send("admin", "POST", f"{GUARD_A}/restore", {"data": None}).json() == {
        "data": None,
        "restored": 0,
        "unresolved": 0,
    }
    for ttl in (0, 366 * 86400 + 1):
        response = api.send("admin", "POST", f"{GUARD_A}/redact", {"text": "a", "ttl": ttl})
        assert response.status_code == 422 and response.json()["error"]["field"] == "ttl"
    surrogate = b'{"data": {"k": "\\ud800"}}'
    response = api.client.post(f"{GUARD_A}/restore", content=surrogate, headers=headers)
    assert response.status_code == 422
    unknown = api.send("admin", "POST", f"{GUARD_A}/redact", {"text": "a", "destination": "x"})
    assert unknown.status_code == 422 and unknown.json()["error"]["field"] == "destination"
    # the organisation's own policy, from the server's folder: blocks and destinations
    monkeypatch.setenv("ANNEXA_GUARD_POLICY_DIR", str(tmp_path))
    (tmp_path / f"{ORG_A}.yaml").write_text(
        "default_action: vault\nentities: {IBAN_CODE: block}\n"
        "destinations: {internal: {entities: {IBAN_CODE: mask}}}\n",
        encoding="utf-8",
    )
    blocked = api.send("admin", "POST", f"{GUARD_A}/redact", {"text": TEXT})
    assert blocked.status_code == 409 and blocked.json()["error"]["code"] == "blocked"
    masked = api.send(
        "admin", "POST", f"{GUARD_A}/redact", {"text": TEXT, "destination": "internal"}
    )
    assert masked.status_code == 200
    assert masked.json()["text"].endswith("IBAN **** **** **** **** **54 32.")
    # other organisations keep the defaults
    assert api.send("bob", "POST", f"{GUARD_B}/redact", {"text": TEXT}).status_code == 200
