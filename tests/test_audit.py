"""The audit log: every change an event, tamper evidence, proofs and the export verifier."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import Connection, func, select, text

from annexa.audit import log as audit_log
from annexa.audit import merkle, record_event
from annexa.audit.keys import Signer, Verifier, key_id, parse_checkpoint, sign_checkpoint
from annexa.audit.log import bulk_append_bodies, consistency_proof, inclusion_proof, verify_log
from annexa.orgs import create_organisation
from annexa.store.db import Database
from annexa.store.models import (
    Asset,
    AuditCheckpoint,
    AuditEvent,
    AuditNode,
    ContextIssue,
    Organisation,
    Risk,
    Supplier,
    User,
)
from tests.conftest import CliCall, make_cli

ROOT = Path(__file__).resolve().parent.parent


# --- an independent RFC 9162 implementation (no code shared with annexa.audit) ----------


def _h(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def naive_mth(leaves: list[bytes]) -> bytes:
    """MTH straight from RFC 9162 §2.1.1, recursively."""
    if not leaves:
        return _h(b"")
    if len(leaves) == 1:
        return _h(b"\x00" + leaves[0])
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return _h(b"\x01" + naive_mth(leaves[:k]) + naive_mth(leaves[k:]))


def rfc_verify_inclusion(
    index: int, size: int, leaf_hash: bytes, path: list[bytes], root: bytes
) -> bool:
    """RFC 9162 §2.1.3.2, step by step."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf_hash
    for p in path:
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            r = _h(b"\x01" + p + r)
            if fn % 2 == 0:
                while not (fn % 2 == 1 or fn == 0):
                    fn //= 2
                    sn //= 2
        else:
            r = _h(b"\x01" + r + p)
        fn //= 2
        sn //= 2
    return sn == 0 and r == root


def rfc_verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, proof: list[bytes]
) -> bool:
    """RFC 9162 §2.1.4.2, step by step."""
    if first == second:
        return first_root == second_root and not proof
    if not proof:
        return False
    if first > 0 and (first & (first - 1)) == 0:
        proof = [first_root, *proof]
    fn, sn = first - 1, second - 1
    while fn % 2 == 1:
        fn //= 2
        sn //= 2
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            fr = _h(b"\x01" + c + fr)
            sr = _h(b"\x01" + c + sr)
            if fn % 2 == 0:
                while not (fn % 2 == 1 or fn == 0):
                    fn //= 2
                    sn //= 2
        else:
            sr = _h(b"\x01" + sr + c)
        fn //= 2
        sn //= 2
    return fr == first_root and sr == second_root and sn == 0


# --- the tree, without a database -------------------------------------------------------

# RFC 6962 test vectors (certificate-transparency test data): eight leaves, their roots.
VECTOR_LEAVES = [bytes.fromhex(x) for x in ("", "00", "10", "2021", "3031", "40414243",
                 "5051525354555657", "606162636465666768696a6b6c6d6e6f")]  # fmt: skip
VECTOR_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]


def _build(leaves: list[bytes]) -> tuple[list[bytes], dict[tuple[int, int], bytes], list[bytes]]:
    frontier: list[bytes] = []
    nodes: dict[tuple[int, int], bytes] = {}
    roots = []
    for size, leaf in enumerate(leaves):
        for level, index, h in merkle.append_leaf(frontier, size, merkle.leaf_hash(leaf)):
            nodes[(level, index)] = h
        roots.append(merkle.root_of(frontier))
    return frontier, nodes, roots


def test_known_vectors() -> None:
    _, _, roots = _build(VECTOR_LEAVES)
    assert [r.hex() for r in roots] == VECTOR_ROOTS
    assert merkle.root_of([]) == _h(b"")


def test_incremental_tree_and_proofs_match_the_naive_definition() -> None:
    leaves = [f"leaf {i}".encode() for i in range(64)]
    _, nodes, roots = _build(leaves)
    for n in range(1, 65):
        root = naive_mth(leaves[:n])
        assert roots[n - 1] == root
        for i in range(n):
            path = merkle.hashes_for(merkle.inclusion_ranges(i, n), nodes.__getitem__)
            assert rfc_verify_inclusion(i, n, _h(b"\x00" + leaves[i]), path, root)
            assert merkle.verify_inclusion(i, n, _h(b"\x00" + leaves[i]), path, root)
            if path:
                assert not rfc_verify_inclusion(i, n, _h(b"\x00x"), path, root)
        for m in range(1, n + 1):
            proof = merkle.hashes_for(merkle.consistency_ranges(m, n), nodes.__getitem__)
            old = naive_mth(leaves[:m])
            assert rfc_verify_consistency(m, n, old, root, proof), (m, n)
            assert merkle.verify_consistency(m, n, old, root, proof)
            if m < n:
                assert not rfc_verify_consistency(m, n, _h(b"other"), root, proof)


# --- keys and checkpoints ---------------------------------------------------------------


def test_checkpoint_format_and_key_id() -> None:
    signer = Signer.generate("example.com/log")
    root = _h(b"root")
    note = sign_checkpoint(signer, 42, root)
    body, signature_line = note.split("\n\n")
    assert body == f"example.com/log\n42\n{base64.b64encode(root).decode()}"
    dash, name, blob = signature_line.rstrip("\n").split(" ")
    assert (dash, name) == ("\u2014", "example.com/log")
    raw = base64.b64decode(blob)
    public = signer.verifier.public
    assert raw[:4] == _h(b"example.com/log\n\x01" + public)[:4] == key_id(name, public)
    assert len(raw) == 68
    encoded = signer.verifier.encode()
    assert encoded.startswith(f"example.com/log+{raw[:4].hex()}+")
    assert Verifier.decode(encoded) == signer.verifier
    checkpoint = parse_checkpoint(note)
    assert (checkpoint.size, checkpoint.root) == (42, root)
    assert checkpoint.signed_by(signer.verifier)
    assert not checkpoint.signed_by(Signer.generate("example.com/log").verifier)
    assert Signer.decode(signer.encode()) == signer


def test_init_writes_a_private_key_next_to_the_sqlite_file(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("ANNEXA_AUDIT_KEY_FILE")
    url = f"sqlite:///{tmp_path}/isms.db"
    cli = make_cli(url)
    result = cli("init", "--org-name", "Acme", "--json")
    assert result.exit_code == 0, result.output
    key_file = tmp_path / "isms.db.audit-key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    published = json.loads(result.stdout)["audit_public_key"]
    assert cli("audit", "public-key").stdout.strip() == published
    assert cli("init").exit_code == 0
    assert cli("audit", "public-key").stdout.strip() == published  # kept, not replaced
    # A deployment hands the key over in the environment instead.
    seed = base64.b64encode(b"\x07" * 32).decode()
    monkeypatch.setenv("ANNEXA_AUDIT_KEY", seed)
    assert (
        cli("audit", "public-key").stdout.strip()
        == Signer("annexa-audit", b"\x07" * 32).verifier.encode()
    )


# --- events -----------------------------------------------------------------------------


def _events(db: Database) -> list[dict]:
    with db.engine.connect() as connection:
        return [
            json.loads(b)
            for b in connection.scalars(select(AuditEvent.body).order_by(AuditEvent.seq))
        ]


def _verify(db: Database, held: list[str] | None = None):  # type: ignore[no-untyped-def]
    from annexa.audit.keys import load_signer

    signer = load_signer(db.sqlite_file)
    with db.engine.connect() as connection:
        return verify_log(
            connection,
            signer.verifier if signer else None,
            [parse_checkpoint(h) for h in held or []],
        )


def test_every_change_is_an_event_in_its_transaction(cli: CliCall, db: Database) -> None:
    assert cli("init").exit_code == 0
    assert cli("supplier", "add", "Acme Cloud", "--criticality", "high").exit_code == 0
    assert cli("supplier", "update", "Acme Cloud", "--criticality", "low").exit_code == 0
    assert cli("scope", "add", "location", "Paris office").exit_code == 0
    assert cli("scope", "remove", "location", "Paris office").exit_code == 0
    events = _events(db)
    assert [e["seq"] for e in events] == list(range(len(events)))
    assert events[0]["type"] == "organisation"  # the fixture's organisation
    events = events[1:]
    summary = [(e["action"], e["type"], e["ref"]) for e in events]
    assert summary == [
        ("create", "supplier", "Acme Cloud"),
        ("update", "supplier", "Acme Cloud"),
        ("create", "scope_item", "location:Paris office"),
        ("delete", "scope_item", "location:Paris office"),
    ]
    update = events[1]
    assert update["changes"] == {"criticality": {"before": "high", "after": "low"}}
    assert update["org"] == "test-org" and update["actor"] == "cli:tester"
    assert update["time"].endswith("Z") and len(update["request_id"]) == 32
    assert len({e["request_id"] for e in events}) == 4  # one per transaction
    assert events[3]["changes"]["name"] == {"before": "Paris office", "after": None}
    # The bytes are canonical: sorted keys, no whitespace.
    with db.engine.connect() as connection:
        raw = connection.scalar(select(AuditEvent.body).where(AuditEvent.seq == 2))
    assert bytes(raw) == json.dumps(update, sort_keys=True, separators=(",", ":")).encode()
    # Every CLI write ended with a signed checkpoint of the log as it then was.
    with db.engine.connect() as connection:
        sizes = connection.scalars(select(AuditCheckpoint.tree_size)).all()
    assert sorted(sizes) == [1, 2, 3, 4, 5]
    assert _verify(db).ok


def test_failed_transaction_leaves_no_event_and_request_id_passes_through(db: Database) -> None:
    with pytest.raises(Exception, match="already exists"), db.transaction() as session:
        create_organisation(session, "Brand New")
        create_organisation(session, "Test Org")
    assert len(_events(db)) == 1  # the fixture's organisation only
    with db.transaction(actor="alice", request_id="req-123") as session:
        org = session.scalar(select(Organisation))
        session.add(Supplier(org_id=org.id, name="S1"))
        record_event(
            session,
            action="update",
            object_type="supplier",
            object_id=99,
            org_id=org.id,
            changes={"api_token": ("old-secret", "new-secret"), "content": (None, b"x")},
        )
    events = _events(db)[1:]
    assert [(e["actor"], e["request_id"]) for e in events] == [("alice", "req-123")] * 2
    redacted = events[1]["changes"]
    blob = json.dumps(events)
    assert "secret" not in blob
    assert (
        redacted["api_token"]["before"]["redacted_sha256"]
        == hashlib.sha256(b'"old-secret"').hexdigest()
    )
    assert (
        redacted["content"]["before"] is None and "redacted_sha256" in redacted["content"]["after"]
    )


def test_matrix_re_rating_is_recorded(cli: CliCall, db: Database, tmp_path: Path) -> None:
    assert cli("risk", "add", "Ten", "--likelihood", "2", "--impact", "5").exit_code == 0
    matrix = tmp_path / "m.yaml"
    matrix.write_text(
        "likelihood: [a, b, c, d, e]\nimpact: [a, b, c, d, e]\n"
        "levels:\n  - {name: Low, min: 1, max: 12}\n  - {name: Top, min: 13, max: 25}\n"
        "acceptance_threshold: 6\n"
    )
    assert cli("risk", "matrix", "set", "--file", str(matrix)).exit_code == 0
    rerated = [e for e in _events(db) if e["type"] == "risk" and e["action"] == "update"]
    assert rerated[-1]["ref"] == "R-0001"
    assert rerated[-1]["changes"]["inherent_level"] == {"before": "High", "after": "Low"}
    assert any(e["type"] == "organisation" and "risk_matrix" in e["changes"] for e in _events(db))
    assert _verify(db).ok


def test_organisation_deletion_keeps_its_history(db: Database) -> None:
    with db.transaction() as session:
        org = create_organisation(session, "Doomed")
        session.add(Supplier(org_id=org.id, name="S1"))
    with db.transaction() as session:
        session.delete(session.scalar(select(Organisation).where(Organisation.slug == "doomed")))
    events = _events(db)[1:]
    assert [(e["action"], e["type"]) for e in events] == [
        ("create", "organisation"),
        ("create", "supplier"),
        ("delete", "organisation"),
        ("delete", "supplier"),
    ]
    assert events[2]["cascaded"] == {"supplier": 1}
    assert events[2]["org"] == "doomed"
    removed = events[3]
    assert removed["ref"] == "S1" and removed["org"] == "doomed"
    assert removed["changes"]["name"] == {"before": "S1", "after": None}
    assert removed["cascaded_from"] == {"type": "organisation", "id": events[2]["id"]}
    assert _verify(db).ok


def test_rows_the_database_cascades_each_get_an_event(cli: CliCall, db: Database) -> None:
    assert cli("supplier", "add", "Acme Cloud").exit_code == 0
    for name in ("Mail", "Files", "Wiki"):
        args = ["asset", "add", name, "--classification", "internal"]
        assert cli(*args, "--supplier", "Acme Cloud").exit_code == 0
    assert (
        cli(
            "risk",
            "add",
            "Leak",
            "--likelihood",
            "2",
            "--impact",
            "3",
            "--asset",
            "Mail",
            "--asset",
            "Files",
        ).exit_code
        == 0
    )
    start = len(_events(db))
    with db.transaction() as session:
        # one referring asset in the session, the others only in the database
        session.scalar(select(Asset).where(Asset.name == "Wiki"))
        session.delete(session.scalar(select(Supplier).where(Supplier.name == "Acme Cloud")))
    nulled = _events(db)[start:]
    assert nulled[0]["action"] == "delete" and nulled[0]["type"] == "supplier"
    updates = {e["ref"]: e for e in nulled if e["action"] == "update"}
    assert set(updates) == {"Mail", "Files", "Wiki"}
    assert all(e["type"] == "asset" for e in updates.values())
    assert {str(e["changes"]["supplier_id"]["after"]) for e in updates.values()} == {"None"}
    assert all(e["changes"]["supplier_id"]["before"] is not None for e in updates.values())

    start = len(_events(db))
    with db.transaction() as session:
        # below the service layer (which refuses to drop a used asset): the link goes,
        # and the risk's event says so
        session.delete(session.scalar(select(Asset).where(Asset.name == "Mail")))
    events = _events(db)[start:]
    assert [(e["action"], e["type"], e["ref"]) for e in events] == [
        ("update", "risk", "R-0001"),
        ("delete", "asset", "Mail"),
    ]
    assert events[0]["changes"]["assets"] == {"before": ["Files", "Mail"], "after": ["Files"]}
    with db.reading() as session:
        risk = session.scalar(select(Risk))
        assert [a.name for a in risk.assets] == ["Files"]
    assert _verify(db).ok


def test_a_deleted_users_tokens_and_sessions_are_events(cli: CliCall, db: Database) -> None:
    from annexa.accounts.service import create_token, create_user

    with db.transaction() as session:
        user = create_user(session, "gone@example.com", "Gone", "a long enough pass phrase")
        create_token(session, user, name="ci", scope="read")
    start = len(_events(db))
    with db.transaction() as session:
        session.delete(session.scalar(select(User).where(User.email == "gone@example.com")))
    events = _events(db)[start:]
    assert ("delete", "app_user") in [(e["action"], e["type"]) for e in events]
    token = next(e for e in events if e["type"] == "api_token")
    assert token["action"] == "delete"
    assert token["cascaded_from"]["type"] == "app_user"
    assert set(token["changes"]["token_hash"]["before"]) == {"redacted_sha256"}
    assert _verify(db).ok


def test_database_refuses_to_change_events(cli: CliCall, db: Database) -> None:
    assert cli("supplier", "add", "Acme Cloud").exit_code == 0
    statements = ["UPDATE audit_event SET actor = 'x'", "DELETE FROM audit_event"]
    statements.append("DELETE FROM audit_node")
    if db.dialect == "postgresql":
        statements.append("TRUNCATE audit_event")
    for statement in statements:
        with pytest.raises(Exception, match="append-only"), db.engine.begin() as connection:
            connection.execute(text(statement))
    assert len(_events(db)) == 2


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_concurrent_writers_get_gap_free_sequence_numbers(db: Database) -> None:
    if db.dialect != "postgresql":
        pytest.skip("SQLite serialises writers itself")
    errors = []

    def writer(name: str) -> None:
        try:
            for i in range(25):
                with db.transaction(actor=name) as session:
                    session.add(Supplier(org_id=1, name=f"{name}-{i}"))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(f"w{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    events = _events(db)
    assert [e["seq"] for e in events] == list(range(101))
    assert _verify(db).ok


# --- tampering --------------------------------------------------------------------------


def _drop_guards(connection: Connection) -> None:
    if connection.dialect.name == "sqlite":
        for table in ("audit_event", "audit_node", "audit_checkpoint"):
            for verb in ("update", "delete"):
                connection.execute(text(f"DROP TRIGGER {table}_no_{verb}"))
    else:
        for table in ("audit_event", "audit_node", "audit_checkpoint"):
            connection.execute(text(f"DROP TRIGGER {table}_append_only ON {table}"))


@pytest.fixture
def logged(cli: CliCall, db: Database, tmp_path: Path) -> Path:
    """Thirteen events, with the checkpoint at size 7 kept in a file by an auditor."""
    assert cli("init").exit_code == 0
    for i in range(6):
        with db.transaction() as session:
            session.add(Supplier(org_id=1, name=f"Supplier {i}"))
    held = tmp_path / "held.txt"
    held.write_text(cli("audit", "checkpoint").stdout)
    for i in range(6):
        with db.transaction() as session:
            session.add(ContextIssue(org_id=1, kind="external", title=f"Issue {i}"))
    assert cli("audit", "verify", "--checkpoint", str(held)).exit_code == 0
    return held


def _bad(cli: CliCall, *args: str) -> str:
    result = cli("audit", "verify", *args)
    assert result.exit_code == 1, result.output
    return result.stderr


def test_edited_event_is_named(cli: CliCall, db: Database, logged: Path) -> None:
    with db.engine.begin() as connection:
        _drop_guards(connection)
        body = connection.scalar(select(AuditEvent.body).where(AuditEvent.seq == 4))
        forged = bytes(body).replace(b"Supplier 3", b"Supplier X")
        assert forged != bytes(body)
        connection.execute(
            AuditEvent.__table__.update().where(AuditEvent.seq == 4).values(body=forged)
        )
    assert "event 4" in _bad(cli)


def test_deleted_event_is_named(cli: CliCall, db: Database, logged: Path) -> None:
    with db.engine.begin() as connection:
        _drop_guards(connection)
        connection.execute(AuditEvent.__table__.delete().where(AuditEvent.seq == 4))
    assert "event 4 is missing" in _bad(cli)


def test_reordered_events_are_named(cli: CliCall, db: Database, logged: Path) -> None:
    with db.engine.begin() as connection:
        _drop_guards(connection)
        table = AuditEvent.__table__
        rows = {
            r.seq: r._mapping
            for r in connection.execute(select(table).where(table.c.seq.in_([2, 5])))
        }
        for seq, other in ((2, 5), (5, 2)):
            values = {k: v for k, v in rows[other].items() if k != "seq"}
            connection.execute(table.update().where(table.c.seq == seq).values(values))
    assert "event 2" in _bad(cli)


def test_truncated_tail_is_caught(cli: CliCall, db: Database, logged: Path) -> None:
    with db.engine.begin() as connection:
        _drop_guards(connection)
        connection.execute(AuditEvent.__table__.delete().where(AuditEvent.seq >= 11))
    assert "truncated" in _bad(cli)


def _node(connection: Connection, level: int, index: int) -> bytes:
    return bytes(
        connection.scalar(
            select(AuditNode.hash).where(AuditNode.level == level, AuditNode.idx == index)
        )
    )


def test_edited_tree_node_is_named(cli: CliCall, db: Database, logged: Path) -> None:
    # Proofs are answered from the stored nodes: a forged one would make them lie.
    with db.engine.begin() as connection:
        _drop_guards(connection)
        forged = _h(b"forged")
        connection.execute(
            AuditNode.__table__.update()
            .where(AuditNode.level == 1, AuditNode.idx == 2)
            .values(hash=forged)
        )
    problem = _bad(cli)
    assert "level 1, index 2 (events 4-5)" in problem and "does not match" in problem


def test_missing_and_extra_tree_nodes_are_named(cli: CliCall, db: Database, logged: Path) -> None:
    with db.engine.begin() as connection:
        _drop_guards(connection)
        kept = _node(connection, 2, 1)
        connection.execute(
            AuditNode.__table__.delete().where(AuditNode.level == 2, AuditNode.idx == 1)
        )
    assert "level 2, index 1 (events 4-7) is missing" in _bad(cli)
    with db.engine.begin() as connection:
        connection.execute(AuditNode.__table__.insert().values(level=2, idx=1, hash=kept))
        # 13 leaves: level 2 has nodes 0-2 only; a fourth one is not part of the tree.
        connection.execute(AuditNode.__table__.insert().values(level=2, idx=3, hash=kept))
    assert "no event accounts for (level 2, index 3)" in _bad(cli)
    with db.engine.begin() as connection:
        connection.execute(
            AuditNode.__table__.delete().where(AuditNode.level == 2, AuditNode.idx == 3)
        )
        connection.execute(
            AuditNode.__table__.delete().where(AuditNode.level == 0, AuditNode.idx == 9)
        )
    assert "event 9: its leaf hash is missing" in _bad(cli)


def test_rewritten_history_re_signed_is_caught_by_a_held_checkpoint(
    cli: CliCall, db: Database, logged: Path
) -> None:
    # The insider holds the key and the database: rewrite event 2, rebuild everything.
    with db.engine.begin() as connection:
        _drop_guards(connection)
        bodies = [
            json.loads(b)
            for b in connection.scalars(select(AuditEvent.body).order_by(AuditEvent.seq))
        ]
        bodies[2]["changes"]["name"]["after"] = "Someone else"
        for table in ("audit_event", "audit_node", "audit_checkpoint"):
            connection.execute(text(f"DELETE FROM {table}"))
        connection.execute(text("UPDATE audit_head SET size = 0, frontier = :f"), {"f": b""})
        bulk_append_bodies(connection, iter(bodies))
    assert cli("audit", "checkpoint").exit_code == 0
    assert cli("audit", "verify").exit_code == 0  # consistent with itself …
    problem = _bad(cli, "--checkpoint", str(logged))  # … but not with what the auditor kept
    assert "held checkpoint (size 7)" in problem and "rewritten" in problem


def test_checkpoint_signed_by_another_key_is_caught(
    cli: CliCall, db: Database, logged: Path, tmp_path: Path
) -> None:
    impostor = Signer.generate("annexa-audit")
    held = parse_checkpoint(logged.read_text())
    forged = tmp_path / "forged.txt"
    forged.write_text(sign_checkpoint(impostor, held.size, held.root))
    assert "not signed by this log's key" in _bad(cli, "--checkpoint", str(forged))
    with db.engine.begin() as connection:
        connection.execute(
            AuditCheckpoint.__table__.insert().values(
                tree_size=held.size,
                root_hash=held.root,
                issued_at=held and AuditEvent.recorded_at.type.python_type(2026, 1, 1),
                note=sign_checkpoint(impostor, held.size, held.root),
            )
        )
    assert "signature does not verify" in _bad(cli)


# --- proofs -----------------------------------------------------------------------------


def test_proofs_verify_independently(cli: CliCall, db: Database, logged: Path) -> None:
    with db.engine.connect() as connection:
        bodies = [
            bytes(b) for b in connection.scalars(select(AuditEvent.body).order_by(AuditEvent.seq))
        ]
    n = len(bodies)
    root = naive_mth(bodies)
    for index in (0, 5, n - 1):
        result = cli("audit", "proof", "--index", str(index), "--json")
        assert result.exit_code == 0, result.output
        data = json.loads(result.stdout)
        assert data["leaf_index"] == index and data["tree_size"] == n
        assert data["leaf_hash"] == _h(b"\x00" + bodies[index]).hex()
        checkpoint = parse_checkpoint(data["checkpoint"])
        assert checkpoint.root == root
        path = [bytes.fromhex(h) for h in data["inclusion_path"]]
        assert rfc_verify_inclusion(index, n, bytes.fromhex(data["leaf_hash"]), path, root)
    data = json.loads(cli("audit", "consistency", "--from", "7", "--to", str(n), "--json").stdout)
    assert (data["first_size"], data["second_size"]) == (7, n)
    proof = [bytes.fromhex(h) for h in data["proof"]]
    assert rfc_verify_consistency(7, n, parse_checkpoint(logged.read_text()).root, root, proof)
    with db.engine.connect() as connection:
        for m in range(1, n + 1):
            assert rfc_verify_consistency(
                m, n, naive_mth(bodies[:m]), root, consistency_proof(connection, m, n)
            )
        for i in range(n):
            leaf, path = inclusion_proof(connection, i, n)
            assert rfc_verify_inclusion(i, n, leaf, path, root)
    assert cli("audit", "proof", "--index", str(n)).exit_code == 2
    assert cli("audit", "consistency", "--from", "0", "--to", "3").exit_code == 2


def test_log_filters(cli: CliCall, logged: Path) -> None:
    everything = json.loads(cli("audit", "log", "--json").stdout)["events"]
    assert len(everything) == 13
    one = json.loads(cli("audit", "log", "--object", "supplier:Supplier 2", "--json").stdout)
    assert [e["ref"] for e in one["events"]] == ["Supplier 2"]
    by_id = json.loads(
        cli("audit", "log", "--object", f"supplier:{one['events'][0]['id']}", "--json").stdout
    )
    assert by_id == one
    later = json.loads(cli("audit", "log", "--since", "2999-01-01", "--json").stdout)
    assert later["events"] == []
    assert cli("audit", "log", "--object", "nonsense").exit_code == 2
    assert "supplier" in cli("audit", "log").stdout


def test_export_is_verified_by_the_standalone_tool(
    cli: CliCall, logged: Path, tmp_path: Path
) -> None:
    if "postgresql" in cli("init", "--json").stdout:
        pytest.skip("the export does not depend on the backend")
    folder = tmp_path / "export"
    assert cli("audit", "export", str(folder)).exit_code == 0
    key = cli("audit", "public-key").stdout.strip()
    tool = [sys.executable, str(ROOT / "tools" / "verify_audit_export.py"), str(folder)]
    ok = subprocess.run(
        [*tool, "--key", key, "--checkpoint", str(logged)], capture_output=True, text=True
    )
    assert ok.returncode == 0, ok.stderr
    lines = (folder / "events.jsonl").read_bytes().splitlines(keepends=True)
    (folder / "events.jsonl").write_bytes(
        b"".join([*lines[:3], lines[3].replace(b"Supplier 2", b"Supplier Z"), *lines[4:]])
    )
    bad = subprocess.run([*tool, "--key", key], capture_output=True, text=True)
    assert bad.returncode == 1 and "TAMPERED" in bad.stderr


# --- a writer killed mid-write ----------------------------------------------------------

WRITER = """
import sys
from annexa.store.db import Database
from annexa.store.models import Supplier
db = Database(sys.argv[1])
i = 0
while True:
    with db.transaction(actor="writer") as session:
        for j in range(5):
            session.add(Supplier(org_id=1, name=f"s{i}-{j}"))
    print(i, flush=True)
    i += 1
"""


def test_killed_writer_leaves_a_verifiable_log(tmp_path: Path, sqlite_templates) -> None:  # type: ignore[no-untyped-def]
    import shutil

    path = tmp_path / "killed.db"
    shutil.copyfile(sqlite_templates[True], path)
    url = f"sqlite:///{path}"
    process = subprocess.Popen(
        [sys.executable, "-c", WRITER, url], stdout=subprocess.PIPE, text=True, env=os.environ
    )
    committed = 0
    deadline = time.monotonic() + 30
    assert process.stdout is not None
    while committed < 40 and time.monotonic() < deadline:
        if process.stdout.readline():
            committed += 1
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    db = Database(url)
    result = _verify(db)
    assert result.ok, result.problem
    with db.engine.connect() as connection:
        suppliers = set(connection.scalars(select(Supplier.id)))
        created = {
            int(e.object_id)
            for e in connection.execute(
                select(AuditEvent.object_id).where(AuditEvent.object_type == "supplier")
            )
        }
        assert connection.scalar(select(func.count()).select_from(AuditEvent)) == result.events
    assert created == suppliers and len(suppliers) >= 40 * 5
    db.dispose()


@pytest.mark.parametrize("variable_limit", [None, 40])
def test_bulk_append_stores_exactly_the_reference_tree(
    db: Database, variable_limit: int | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The append path (serialising, hashing and the tree step in one pass, rows in
    multi-row INSERTs) stores the bytes and nodes of the plain definitions."""
    from annexa.audit.canonical import canonical_bytes_reference

    if variable_limit is not None and db.dialect != "sqlite":
        pytest.skip("SQLite's cap on the parameters of one statement")
    bodies = [
        {
            "v": 1,
            "time": "2026-11-23T12:00:00.000000Z",
            "actor": "t\u00e9st",
            "request_id": f"r{i // 100}",
            "action": "update",
            "type": "risk",
            "id": str(i),
            "ref": None if i % 3 else f"R-{i:04d}",
            "org_id": 1,
            "org": "test-org",
            "changes": {"z": {"before": i, "after": [i, "\u2028", {"b": 1, "a": None}]}},
        }
        for i in range(1203)
    ]
    with db.engine.begin() as connection:
        if variable_limit is not None:  # three events or thirteen nodes per statement
            monkeypatch.setattr(audit_log, "_variable_limit", lambda _connection: variable_limit)
        start = connection.scalar(select(func.count()).select_from(AuditEvent))
        bulk_append_bodies(connection, iter(bodies[:600]), chunk=250)
        bulk_append_bodies(connection, iter(bodies[600:]))
    stored = _assert_reference_tree(db)
    expected = [canonical_bytes_reference({**b, "seq": start + i}) for i, b in enumerate(bodies)]
    assert stored[start:] == expected


def _assert_reference_tree(db: Database) -> list[bytes]:
    """The stored nodes are exactly those of the tree over the stored bodies, and the
    bodies are canonical; returns the bodies."""
    from annexa.audit.canonical import canonical_bytes_reference

    with db.engine.connect() as connection:
        stored = [
            bytes(b) for b in connection.scalars(select(AuditEvent.body).order_by(AuditEvent.seq))
        ]
        nodes = {
            (level, idx): bytes(h)
            for level, idx, h in connection.execute(
                select(AuditNode.level, AuditNode.idx, AuditNode.hash)
            )
        }
    assert stored == [canonical_bytes_reference(json.loads(b)) for b in stored]
    _, reference, roots = _build(stored)
    assert nodes == reference
    assert roots[-1] == naive_mth(stored)
    assert _verify(db).ok
    return stored


def test_a_large_transaction_is_appended_whole(db: Database) -> None:
    with db.transaction(actor="bulk") as session:
        session.add_all(Supplier(org_id=1, name=f"S{i}", notes="\u00e9\n") for i in range(1203))
    events = [json.loads(b) for b in _assert_reference_tree(db)][1:]
    assert len(events) == 1203 and len({e["request_id"] for e in events}) == 1
    assert [e["seq"] for e in events] == list(range(1, 1204))
    assert {e["ref"] for e in events} == {f"S{i}" for i in range(1203)}
    assert all(e["org"] == "test-org" and e["action"] == "create" for e in events)


def test_fast_canonical_bytes_equal_the_reference_serialisation() -> None:
    from annexa.audit.canonical import canonical_bytes, canonical_bytes_reference

    every = "".join(map(chr, range(0xD800))) + "".join(map(chr, range(0xE000, 0x110000)))
    value = {"z": every, "a": [1, -(2**53), True, None, {"é": "\u2028", "b": '\\"/'}]}
    assert canonical_bytes(value) == canonical_bytes_reference(value)


def test_a_rolled_back_savepoint_drops_only_its_own_events(db: Database) -> None:
    with db.transaction() as session:
        create_organisation(session, "Kept")
        with pytest.raises(ValueError), session.begin_nested():
            session.add(Supplier(org_id=1, name="Rolled back"))
            session.flush()
            raise ValueError
        with session.begin_nested():
            session.add(Supplier(org_id=1, name="Saved"))
    events = _events(db)[1:]
    assert [(e["type"], e["ref"]) for e in events] == [
        ("organisation", "kept"),
        ("supplier", "Saved"),
    ]
    with db.reading() as session:
        assert session.scalar(select(func.count()).select_from(Supplier)) == 1
    assert _verify(db).ok


def test_demo_load_is_logged_and_verifies(tmp_path: Path) -> None:
    cli = make_cli(f"sqlite:///{tmp_path}/demo.db")
    assert cli("init").exit_code == 0
    assert cli("demo").exit_code == 0
    assert cli("demo", "--reset").exit_code == 0
    data = json.loads(cli("audit", "verify", "--json").stdout)
    assert data["ok"] and data["events"] > 700 and data["checkpoints"] >= 3
    deleted = json.loads(
        cli("audit", "log", "--object", "organisation:harbour-vale", "--json").stdout
    )
    actions = [e["action"] for e in deleted["events"]]
    assert actions[:1] == ["create"] and "delete" in actions
    assert next(e for e in deleted["events"] if e["action"] == "delete")["cascaded"]["risk"] == 25


def test_a_risk_deleted_with_its_organisation_is_logged_without_its_register_document(
    cli: CliCall, db: Database
) -> None:
    # The document the database keeps on the risk row (risk.listing) repeats the row's
    # other fields: the event of a cascaded deletion records those, not the document.
    assert cli("risk", "add", "Doomed risk", "--likelihood", "2", "--impact", "3").exit_code == 0
    with db.transaction() as session:
        session.delete(session.scalars(select(Organisation)).one())
    removed = [e for e in _events(db) if e["type"] == "risk" and e["action"] == "delete"]
    assert len(removed) == 1 and "cascaded_from" in removed[0]
    assert removed[0]["changes"]["title"] == {"before": "Doomed risk", "after": None}
    assert "listing" not in removed[0]["changes"]
    assert _verify(db).ok
