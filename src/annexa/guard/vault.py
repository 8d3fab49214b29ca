"""Reversible pseudonymisation: placeholders out, originals back, encrypted at rest.

Each value is sealed with AES-256-GCM under the organisation's key, with the placeholder as
associated data (a ciphertext cannot be moved to another placeholder). The value→placeholder
index is keyed by HMAC-SHA256, so the vault never holds a plain value or a plain hash.
Entries expire after ``ttl`` seconds; an expired placeholder is left as it is, and so is one
that does not decrypt (another organisation's, another key's): restoring fails closed.

The cryptography lives here, in :class:`Vault`; where the sealed entries are kept is a
:class:`VaultStore`: :class:`MemoryStore` (the default, for one process) or
:class:`annexa.guard.vault_db.DatabaseStore` (the organisation's entries in the Annexa
database, shared by every process that opens it).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, Protocol

import orjson
import re2
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from annexa.errors import InvalidInput

PLACEHOLDER = re2.compile(r"<([A-Z][A-Z0-9_]{0,40})_(\d{1,9})>")
PLACEHOLDER_MAX = 54  # longest placeholder, for streaming restore hold-back
KIND_MAX = 41  # longest entity type in a placeholder
NONCE = 12
# Nested JSON documents inside strings are followed this deep, no further (a bound on
# recursion for bodies an API caller sends).
MAX_JSON_DEPTH = 64


def placeholder_kind(entity_type: str) -> str:
    """The entity type as a placeholder can hold it (upper case, ``[A-Z0-9_]``, ≤ 41
    characters, a letter first): a custom ``matter-no`` gives ``<MATTER_NO_1>``, which
    :data:`PLACEHOLDER` finds again on the way back."""
    kind = "".join(
        ch if ch.isascii() and (ch.isalnum() or ch == "_") else "_" for ch in entity_type
    )
    kind = kind.upper()
    if not kind[:1].isalpha():
        kind = "X_" + kind
    return kind[:KIND_MAX]


Item = tuple[str, bytes, Callable[[str], bytes]]  # (placeholder kind, index digest, seal)


class VaultStore(Protocol):
    """Where sealed entries live. Times are POSIX seconds from the vault's clock."""

    def put_many(self, items: list[Item], now: float, expires: float) -> list[str]:
        """A placeholder per item, in order. An item whose digest has a live entry gets its
        placeholder (the entry's expiry pushed towards ``expires``); others get a new one,
        ``<KIND_n>`` with ``n`` the next number for the kind (never reused, even after a
        purge), stored as ``seal(placeholder)``. An expired entry is replaced, never
        revived: its placeholder stays unrestorable."""
        ...

    def sealed(self, placeholders: Iterable[str], now: float) -> dict[str, bytes]:
        """The sealed values of those placeholders that exist and have not expired."""
        ...

    def purge(self, now: float) -> int:
        """Delete expired entries; returns how many."""
        ...

    def count(self) -> int: ...


class MemoryStore:
    """Entries in this process's memory: ``entries`` maps placeholder to (sealed, expiry)."""

    def __init__(self) -> None:
        self.entries: dict[str, tuple[bytes, float]] = {}
        self.index: dict[bytes, str] = {}
        self.counters: dict[str, int] = {}
        self._lock = threading.Lock()

    def put_many(self, items: list[Item], now: float, expires: float) -> list[str]:
        with self._lock:
            return [self._put(kind, digest, seal, now, expires) for kind, digest, seal in items]

    def _put(
        self, kind: str, digest: bytes, seal: Callable[[str], bytes], now: float, expires: float
    ) -> str:
        token = self.index.get(digest)
        entry = self.entries.get(token) if token is not None else None
        if token is not None and entry is not None and now <= entry[1]:
            self.entries[token] = (entry[0], max(entry[1], expires))
            return token
        if token is not None:  # expired: forget it, then issue a new placeholder
            self.entries.pop(token, None)
        number = self.counters.get(kind, 0) + 1
        self.counters[kind] = number
        token = f"<{kind}_{number}>"
        self.entries[token] = (seal(token), expires)
        self.index[digest] = token
        return token

    def sealed(self, placeholders: Iterable[str], now: float) -> dict[str, bytes]:
        found = {}
        with self._lock:
            for token in placeholders:
                entry = self.entries.get(token)
                if entry is None:
                    continue
                if now > entry[1]:
                    del self.entries[token]
                    continue
                found[token] = entry[0]
        return found

    def purge(self, now: float) -> int:
        with self._lock:
            dead = [t for t, (_, exp) in self.entries.items() if now > exp]
            for token in dead:
                del self.entries[token]
            self.index = {d: t for d, t in self.index.items() if t in self.entries}
        return len(dead)

    def count(self) -> int:
        return len(self.entries)


class Vault:
    """Placeholders for values, and the values back for placeholders.

    ``key`` is the organisation's vault key (≥ 32 bytes); the AES-256-GCM key and the HMAC
    index key are derived from it with distinct labels. ``store`` defaults to memory.
    """

    def __init__(
        self,
        key: bytes,
        *,
        ttl: float = 3600.0,
        clock: Callable[[], float] = time.time,
        store: VaultStore | None = None,
    ):
        if len(key) < 32:
            raise ValueError("the vault key must be at least 32 bytes")
        if not ttl > 0:
            raise ValueError("the vault time-to-live must be positive")
        self._aead = AESGCM(hashlib.sha256(b"annexa-guard-vault\0" + key).digest())
        self._index_key = hashlib.sha256(b"annexa-guard-index\0" + key).digest()
        self.ttl = ttl
        self._clock = clock
        self.store: VaultStore = store if store is not None else MemoryStore()

    def __len__(self) -> int:
        return self.store.count()

    def _seal(self, value: str) -> Callable[[str], bytes]:
        plain = value.encode("utf-8", "surrogatepass")

        def seal(token: str) -> bytes:
            nonce = os.urandom(NONCE)
            return nonce + self._aead.encrypt(nonce, plain, token.encode())

        return seal

    def _open(self, token: str, sealed: bytes) -> str | None:
        """The value, or None when it does not decrypt under this key for this placeholder
        (another organisation's entry, a moved ciphertext, a wrong master key)."""
        try:
            plain = self._aead.decrypt(sealed[:NONCE], sealed[NONCE:], token.encode())
        except InvalidTag:
            return None
        return plain.decode("utf-8", "surrogatepass")

    def put(self, entity_type: str, value: str) -> str:
        """The placeholder for ``value`` (the same one while the entry lives)."""
        return self.put_many([(entity_type, value)])[0]

    def put_many(self, pairs: list[tuple[str, str]]) -> list[str]:
        """Placeholders for several ``(entity_type, value)`` pairs in one store call (one
        round of locks in a database, taken in a fixed order)."""
        if not pairs:
            return []
        items = [
            (placeholder_kind(entity_type), self._digest(entity_type, value), self._seal(value))
            for entity_type, value in pairs
        ]
        now = self._clock()
        return self.store.put_many(items, now, now + self.ttl)

    def _digest(self, entity_type: str, value: str) -> bytes:
        return hmac.new(
            self._index_key,
            f"{entity_type}\0{value}".encode("utf-8", "surrogatepass"),
            hashlib.sha256,
        ).digest()

    def get(self, token: str) -> str | None:
        """The original behind a live placeholder; None when unknown, expired or sealed
        under another key."""
        return self.lookup([token]).get(token)

    def lookup(self, tokens: Iterable[str]) -> dict[str, str]:
        """The originals of those placeholders that are live and decrypt, in one store call."""
        wanted = set(tokens)
        if not wanted:
            return {}
        found = {}
        for token, sealed in self.store.sealed(wanted, self._clock()).items():
            value = self._open(token, sealed)
            if value is not None:
                found[token] = value
        return found

    def purge(self) -> int:
        """Drop expired entries; returns how many."""
        return self.store.purge(self._clock())

    # ------------------------------------------------------------------ restoring

    def restore(self, text: str, values: dict[str, str] | None = None) -> str:
        """Put the originals back wherever a live placeholder appears (``values``: those
        already looked up, when the caller has them)."""
        if "<" not in text:
            return text
        if values is None:
            values = self.lookup(placeholders_in(text))
        return _restore_text(text, values)

    def restore_json(self, data: Any, values: dict[str, str] | None = None) -> Any:
        """Restore inside parsed JSON: keys, values, and JSON documents nested in strings
        (tool-call ``arguments`` are JSON encoded as a string). A nested document is
        re-encoded only where something was restored in it."""
        if values is None:
            values = self.lookup(placeholders_in(data, as_json=True))
        return _restore_json(data, values, 0)


def placeholders_in(data: Any, *, as_json: bool = False) -> set[str]:
    """Every placeholder in a text, or (``as_json``) in parsed JSON, nested JSON strings
    included."""
    found: set[str] = set()
    if as_json:
        _collect(data, found, 0)
    elif "<" in data:
        found.update(m.group(0) for m in PLACEHOLDER.finditer(data))
    return found


def _restore_text(text: str, values: dict[str, str]) -> str:
    if not values:
        return text
    out = []
    last = 0
    for match in PLACEHOLDER.finditer(text):
        value = values.get(match.group(0))
        if value is None:
            continue
        out.append(text[last : match.start()])
        out.append(value)
        last = match.end()
    out.append(text[last:])
    return "".join(out)


def _nested(data: str) -> Any:
    """The JSON document a string holds (a tool call's ``arguments``), else a sentinel."""
    stripped = data.lstrip()
    if stripped[:1] not in ("{", "[") or not ("<" in data or "\\u003c" in data.lower()):
        return _NOT_JSON
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return _NOT_JSON


_NOT_JSON = object()


def _deep(depth: int) -> None:
    if depth > MAX_JSON_DEPTH:
        raise InvalidInput(
            f"JSON nested more than {MAX_JSON_DEPTH} levels deep",
            field="data",
            fix="send a flatter document",
        )


def _collect(data: Any, found: set[str], depth: int) -> None:
    _deep(depth)
    if isinstance(data, dict):
        for key, value in data.items():
            _collect(key, found, depth + 1)
            _collect(value, found, depth + 1)
    elif isinstance(data, list):
        for value in data:
            _collect(value, found, depth + 1)
    elif isinstance(data, str):
        inner = _nested(data)
        if inner is not _NOT_JSON:
            _collect(inner, found, depth + 1)
        elif "<" in data:
            found.update(m.group(0) for m in PLACEHOLDER.finditer(data))


def _dumps(data: Any) -> str:
    try:
        return orjson.dumps(data).decode()
    except TypeError:  # a restored value with a lone surrogate: orjson refuses, json does not
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def _restore_json(data: Any, values: dict[str, str], depth: int) -> Any:
    if isinstance(data, dict):
        return {
            _restore_json(k, values, depth + 1): _restore_json(v, values, depth + 1)
            for k, v in data.items()
        }
    if isinstance(data, list):
        return [_restore_json(v, values, depth + 1) for v in data]
    if isinstance(data, str):
        if not values:
            return data
        inner = _nested(data)
        if inner is not _NOT_JSON:
            restored = _restore_json(inner, values, depth + 1)
            return data if restored == inner else _dumps(restored)
        return _restore_text(data, values) if "<" in data else data
    return data
