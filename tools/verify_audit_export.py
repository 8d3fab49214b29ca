#!/usr/bin/env python3
"""Verify an Annexa audit-log export on its own: standard library + `cryptography` only.

    python verify_audit_export.py EXPORT_DIR [--key VERIFIER_KEY] [--checkpoint FILE ...]

EXPORT_DIR is what `annexa audit export` wrote: events.jsonl (one event's canonical bytes
per line, in sequence order), checkpoints.jsonl and public-key.txt. Pass the verifier key
you obtained out of band with --key (public-key.txt only proves the export is
self-consistent), and any checkpoint you kept earlier with --checkpoint: the exported log
must extend it. Recomputes the RFC 9162 Merkle tree from the events and checks every
checkpoint's Ed25519 signature (C2SP signed-note) and root hash. Exit 0 when intact,
1 naming the first problem.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import sys
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def root_of(stack: list[bytes]) -> bytes:
    if not stack:
        return hashlib.sha256(b"").digest()
    root = stack[-1]
    for h in reversed(stack[:-1]):
        root = node_hash(h, root)
    return root


def canonical(value: object) -> bytes:
    return json.dumps(
        value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False
    ).encode("utf-8")


def parse_key(text: str) -> tuple[str, bytes, bytes]:
    name, hex_id, data = text.strip().split("+", 2)
    raw = base64.b64decode(data, validate=True)
    if raw[:1] != b"\x01" or len(raw) != 33:
        raise ValueError("not an Ed25519 note verifier key")
    key_id = hashlib.sha256(name.encode() + b"\n" + raw).digest()[:4]
    if key_id.hex() != hex_id.lower():
        raise ValueError("verifier key id does not match")
    return name, key_id, raw[1:]


def check_note(note: str, key: tuple[str, bytes, bytes]) -> tuple[int, bytes]:
    """(size, root) of a checkpoint signed by ``key``; ValueError otherwise."""
    name, key_id, public = key
    body, sep, sigs = note.partition("\n\n")
    lines = body.split("\n")
    if not sep or len(lines) < 3 or not lines[1].isdigit():
        raise ValueError("malformed checkpoint")
    if lines[0] != name:
        raise ValueError(f"origin {lines[0]!r} is not {name!r}")
    signed = (body + "\n").encode()
    for line in sigs.rstrip("\n").split("\n"):
        parts = line.split(" ")
        if len(parts) != 3 or parts[0] != "\u2014" or parts[1] != name:
            continue
        raw = base64.b64decode(parts[2], validate=True)
        if raw[:4] != key_id:
            continue
        try:
            Ed25519PublicKey.from_public_bytes(public).verify(raw[4:], signed)
        except InvalidSignature:
            continue
        root = base64.b64decode(lines[2], validate=True)
        return int(lines[1]), root
    raise ValueError("no valid signature by the verifier key")


def verify(folder: Path, key_text: str | None, held: list[str]) -> str | None:
    key = parse_key(key_text or (folder / "public-key.txt").read_text(encoding="utf-8"))
    checkpoints = [
        json.loads(line)
        for line in (folder / "checkpoints.jsonl").read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    notes = [
        (f"checkpoint {i} (size {c['tree_size']})", c["note"]) for i, c in enumerate(checkpoints)
    ]
    notes += [(f"held checkpoint {i}", text) for i, text in enumerate(held)]
    wanted: dict[int, list[tuple[str, bytes]]] = {}
    for label, note in notes:
        try:
            size, root = check_note(note, key)
        except ValueError as exc:
            return f"{label}: {exc}"
        wanted.setdefault(size, []).append((label, root))
    stack: list[bytes] = []
    size = 0

    def check_roots() -> str | None:
        for label, root in wanted.pop(size, []):
            if root != root_of(stack):
                return f"{label}: root hash does not match the events (history rewritten)"
        return None

    problem = check_roots()
    if problem:
        return problem
    with (folder / "events.jsonl").open("rb") as events:
        for line in events:
            data = line.rstrip(b"\n")
            try:
                event = json.loads(data)
            except ValueError:
                return f"event {size}: not valid JSON"
            if event.get("seq") != size:
                return f"event {size}: says sequence {event.get('seq')} (missing or reordered)"
            if canonical(event) != data:
                return f"event {size}: not in canonical form"
            h = leaf_hash(data)
            level = 0
            while (size >> level) & 1:
                h = node_hash(stack.pop(), h)
                level += 1
            stack.append(h)
            size += 1
            problem = check_roots()
            if problem:
                return problem
    for labels in wanted.values():
        return f"{labels[0][0]}: the export holds only {size} events (truncated)"
    print(f"ok: {size} events, root {root_of(stack).hex()}, {len(notes)} checkpoints verified")
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--key", help="verifier key name+hexid+base64 (else public-key.txt)")
    parser.add_argument("--checkpoint", action="append", default=[], type=Path)
    args = parser.parse_args()
    held = [path.read_text(encoding="utf-8") for path in args.checkpoint]
    problem = verify(args.folder, args.key, held)
    if problem:
        print(f"TAMPERED: {problem}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
