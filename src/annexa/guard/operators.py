"""Operators that replace a finding: redact, mask, tag, keyed pseudonym, fake, vault."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field

from annexa.guard.validators import luhn_ok
from annexa.guard.vault import Vault

REDACTED = "[REDACTED]"


def redact(value: str) -> str:
    return REDACTED


def mask(value: str, keep_last: int = 4, char: str = "*") -> str:
    """Mask letters and digits, keeping separators and the last ``keep_last`` alphanumerics."""
    total = sum(ch.isalnum() for ch in value)
    keep_from = total - keep_last if keep_last else total
    if keep_from < total // 2:  # never reveal more than half
        keep_from = total - total // 2
    out = []
    seen = 0
    for ch in value:
        if ch.isalnum():
            out.append(ch if seen >= keep_from else char)
            seen += 1
        else:
            out.append(ch)
    return "".join(out)


def pseudonym(key: bytes, entity_type: str, value: str) -> str:
    """Deterministic keyed pseudonym: HMAC-SHA256 under the organisation's key, never a hash."""
    digest = hmac.new(
        key, f"{entity_type}\0{value}".encode("utf-8", "surrogatepass"), hashlib.sha256
    ).hexdigest()
    return f"<{entity_type}_{digest[:12]}>"


def _stream(key: bytes, entity_type: str, value: str):  # type: ignore[no-untyped-def]
    counter = 0
    while True:
        block = hmac.new(
            key,
            f"fake\0{entity_type}\0{value}\0{counter}".encode("utf-8", "surrogatepass"),
            hashlib.sha256,
        ).digest()
        yield from block
        counter += 1


def fake(key: bytes, entity_type: str, value: str) -> str:
    """Format-preserving, deterministic fake: same shape, separators and validity where cheap
    (Luhn for cards, an ``example.com`` mailbox for emails)."""
    rnd = _stream(key, entity_type, value)
    if entity_type == "EMAIL_ADDRESS":
        local = value.split("@", 1)[0]
        letters = "".join("abcdefghijklmnopqrstuvwxyz"[next(rnd) % 26] for _ in local[:12])
        return f"{letters or 'user'}@example.com"
    out = []
    for ch in value:
        b = next(rnd)
        if ch.isdigit():
            out.append("0123456789"[b % 10])
        elif ch.isupper() and ch.isascii():
            out.append("ABCDEFGHIJKLMNOPQRSTUVWXYZ"[b % 26])
        elif ch.islower() and ch.isascii():
            out.append("abcdefghijklmnopqrstuvwxyz"[b % 26])
        else:
            out.append(ch)
    result = "".join(out)
    if entity_type == "CREDIT_CARD":
        positions = [i for i, ch in enumerate(result) if ch.isdigit()]
        chars = list(result)
        chars[positions[0]] = value[positions[0]]  # keep the brand's first digit
        for d in "0123456789":
            chars[positions[-1]] = d
            if luhn_ok("".join(chars[i] for i in positions)):
                break
        result = "".join(chars)
    return result


@dataclass
class RedactionState:
    """State shared by the calls of one conversation or document: tag numbers, vault, key."""

    key: bytes | None = None
    vault: Vault | None = None
    tags: dict[tuple[str, str], str] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=dict)

    def tag(self, entity_type: str, value: str) -> str:
        token = self.tags.get((entity_type, value))
        if token is None:
            number = self.counters.get(entity_type, 0) + 1
            self.counters[entity_type] = number
            token = f"<{entity_type}_{number}>"
            self.tags[(entity_type, value)] = token
        return token
