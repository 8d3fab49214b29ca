"""Reversible pseudonymisation: placeholders out, originals back, encrypted at rest.

Each value is sealed with AES-256-GCM under the organisation's key, with the placeholder as
associated data (a ciphertext cannot be moved to another placeholder). The value→placeholder
index is keyed by HMAC-SHA256, so the vault never holds a plain value or a plain hash.
Entries expire after ``ttl`` seconds; an expired placeholder is left as it is.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import threading
import time
from collections.abc import Callable
from typing import Any

import orjson
import re2
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PLACEHOLDER = re2.compile(r"<([A-Z][A-Z0-9_]{0,40})_(\d{1,9})>")
PLACEHOLDER_MAX = 54  # longest placeholder, for streaming restore hold-back


class Vault:
    def __init__(
        self,
        key: bytes,
        *,
        ttl: float = 3600.0,
        clock: Callable[[], float] = time.time,
    ):
        if len(key) < 32:
            raise ValueError("the vault key must be at least 32 bytes")
        self._aead = AESGCM(hashlib.sha256(b"annexa-guard-vault\0" + key).digest())
        self._index_key = hashlib.sha256(b"annexa-guard-index\0" + key).digest()
        self.ttl = ttl
        self._clock = clock
        self._entries: dict[str, tuple[bytes, float]] = {}
        self._index: dict[bytes, str] = {}
        self._counters: dict[str, int] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def put(self, entity_type: str, value: str) -> str:
        """The placeholder for ``value`` (the same one while the entry lives)."""
        digest = hmac.new(
            self._index_key,
            f"{entity_type}\0{value}".encode("utf-8", "surrogatepass"),
            hashlib.sha256,
        ).digest()
        now = self._clock()
        with self._lock:
            token = self._index.get(digest)
            if token is not None and token in self._entries:
                sealed, _ = self._entries[token]
                self._entries[token] = (sealed, now + self.ttl)
                return token
            number = self._counters.get(entity_type, 0) + 1
            self._counters[entity_type] = number
            token = f"<{entity_type}_{number}>"
            nonce = os.urandom(12)
            sealed = nonce + self._aead.encrypt(
                nonce, value.encode("utf-8", "surrogatepass"), token.encode()
            )
            self._entries[token] = (sealed, now + self.ttl)
            self._index[digest] = token
            return token

    def get(self, token: str) -> str | None:
        with self._lock:
            entry = self._entries.get(token)
            if entry is None:
                return None
            sealed, expires = entry
            if self._clock() > expires:
                del self._entries[token]
                return None
        plain = self._aead.decrypt(sealed[:12], sealed[12:], token.encode())
        return plain.decode("utf-8", "surrogatepass")

    def purge(self) -> int:
        """Drop expired entries; returns how many."""
        now = self._clock()
        with self._lock:
            dead = [t for t, (_, exp) in self._entries.items() if now > exp]
            for token in dead:
                del self._entries[token]
            self._index = {d: t for d, t in self._index.items() if t in self._entries}
        return len(dead)

    # ------------------------------------------------------------------ restoring

    def restore(self, text: str) -> str:
        """Put the originals back wherever a live placeholder appears."""
        if "<" not in text:
            return text
        out = []
        last = 0
        for match in PLACEHOLDER.finditer(text):
            value = self.get(match.group(0))
            if value is None:
                continue
            out.append(text[last : match.start()])
            out.append(value)
            last = match.end()
        out.append(text[last:])
        return "".join(out)

    def restore_json(self, data: Any) -> Any:
        """Restore inside parsed JSON: keys, values, and JSON documents nested in strings
        (tool-call ``arguments`` are JSON encoded as a string)."""
        if isinstance(data, dict):
            return {self.restore_json(k): self.restore_json(v) for k, v in data.items()}
        if isinstance(data, list):
            return [self.restore_json(v) for v in data]
        if isinstance(data, str):
            stripped = data.lstrip()
            if stripped[:1] in ("{", "[") and "<" in data:
                try:
                    inner = orjson.loads(data)
                except orjson.JSONDecodeError:
                    return self.restore(data)
                return orjson.dumps(self.restore_json(inner)).decode()
            return self.restore(data)
        return data
