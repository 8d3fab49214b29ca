"""Instructions hidden in an encoding a model can decode: base64 (standard or URL-safe),
hex, percent-escapes, ROT13, and text stored backwards behind a right-to-left override
(shown the right way round to a reader, read backwards by a filter).

Only blobs that decode to readable text are passed back to the rules; API keys, hashes
and images decode to binary and are skipped. Bounded work: at most :data:`MAX_BLOBS`
blobs of at most :data:`MAX_BLOB` characters are decoded per text.
"""

from __future__ import annotations

import base64
import binascii
import codecs
from collections.abc import Iterator
from urllib.parse import unquote

import re2

MAX_BLOBS = 32
MAX_BLOB = 65_536

_BASE64 = re2.compile(r"[A-Za-z0-9+/_-]{20,}={0,2}")
_HEX = re2.compile(r"(?:[0-9A-Fa-f]{2}[ :]?){16,}")
_PERCENT = re2.compile(r"(?:%[0-9A-Fa-f]{2}|[A-Za-z0-9._~+-]){12,}")
_ROT13_NAMED = re2.compile(r"(?i)\brot-?13\b")
_REVERSED = re2.compile("\u202e([^\u202c\u2069\n]{8,})")


def decoded_blobs(text: str) -> Iterator[tuple[str, int, int, str]]:
    """(encoding, start, end, decoded text) for each blob that decodes to readable text."""
    count = 0
    for encoding, regex, decode in (
        ("base64", _BASE64, _from_base64),
        ("hex", _HEX, _from_hex),
        ("percent", _PERCENT, _from_percent),
    ):
        if encoding == "percent" and "%" not in text:
            continue
        for match in regex.finditer(text):
            blob = match.group(0)
            if len(blob) > MAX_BLOB:
                continue
            inner = decode(blob)
            if inner is None or not _readable(inner):
                continue
            yield encoding, match.start(), match.end(), inner
            count += 1
            if count >= MAX_BLOBS:
                return
    named = _ROT13_NAMED.search(text)
    if named is not None:
        yield "rot13", 0, len(text), codecs.decode(text, "rot13")


def reversed_runs(text: str) -> Iterator[tuple[int, int, str]]:
    """(start, end, the text the right way round) for each run after a right-to-left
    override: a reader sees it reversed, a filter reads it backwards."""
    for match in _REVERSED.finditer(text):
        yield match.start(), match.end(), match.group(1)[::-1]


def _from_base64(blob: str) -> str | None:
    body = blob.rstrip("=")
    if not any(c.isdigit() or c in "+/_-=" for c in blob) and body.isalpha() and body.islower():
        return None  # a long lowercase word run ("internationalisation"): not base64
    padded = body + "=" * (-len(body) % 4)
    alphabet = "-_" if ("-" in body or "_" in body) else "+/"
    if alphabet == "-_" and ("+" in body or "/" in body):
        return None
    try:
        raw = base64.b64decode(padded, altchars=alphabet.encode(), validate=True)
        return raw.decode("utf-8")
    except (binascii.Error, ValueError):
        return None


def _from_hex(blob: str) -> str | None:
    try:
        return bytes.fromhex(blob.replace(" ", "").replace(":", "")).decode("utf-8")
    except ValueError:
        return None


def _from_percent(blob: str) -> str | None:
    if blob.count("%") < 6:
        return None
    try:
        return unquote(blob.replace("+", " "), errors="strict")
    except UnicodeDecodeError:
        return None


def _readable(text: str) -> bool:
    """Mostly letters and spaces: words, not bytes."""
    if len(text) < 8:
        return False
    printable = sum(1 for ch in text if ch.isprintable() or ch in "\n\t")
    letters = sum(1 for ch in text if ch.isalpha() or ch == " ")
    return printable >= 0.95 * len(text) and letters >= 0.6 * len(text) and " " in text
