"""The guard's master key and the per-organisation keys derived from it.

The database never holds a key. A 32-byte master key lives in a file (mode 0600, created on
first use) or comes from the environment:

- ``ANNEXA_GUARD_MASTER_KEY``: the key itself, base64 (≥ 32 bytes once decoded);
- ``ANNEXA_GUARD_MASTER_KEY_FILE``: a file holding it;
- else a file next to the audit signing key: ``annexa-guard.key`` in the folder of
  ``ANNEXA_AUDIT_KEY_FILE`` when that is set, ``<db file>.guard-key`` next to a SQLite
  database, ``./annexa-guard.key`` otherwise.

Each organisation's keys are derived with HKDF-SHA256 from the master key, the
organisation's id and a purpose (``vault``: sealing and indexing vault entries;
``pseudonym``: the HMAC key of ``pseudonymise`` and ``fake``). Entries sealed for one
organisation do not open for another, and losing the master key loses every vault entry
(which only hold values for their time-to-live anyway).
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
import tempfile
from pathlib import Path
from typing import Literal

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from annexa.errors import InvalidInput, StoreUnavailable

ENV_MASTER_KEY = "ANNEXA_GUARD_MASTER_KEY"
ENV_MASTER_KEY_FILE = "ANNEXA_GUARD_MASTER_KEY_FILE"
ENV_AUDIT_KEY_FILE = "ANNEXA_AUDIT_KEY_FILE"  # the audit key's file; ours sits beside it
FILE_NAME = "annexa-guard.key"
KEY_BYTES = 32
HKDF_SALT = b"annexa-guard-keys-v1"
Purpose = Literal["vault", "pseudonym"]


def master_key_path(database_file: str | None) -> Path:
    """Where the master key file is (see the module docstring)."""
    configured = os.environ.get(ENV_MASTER_KEY_FILE)
    if configured:
        return Path(configured).expanduser()
    audit = os.environ.get(ENV_AUDIT_KEY_FILE)
    if audit:
        return Path(audit).expanduser().parent / FILE_NAME
    if database_file:
        path = Path(database_file).expanduser()
        return path.with_name(path.name + ".guard-key")
    return Path(FILE_NAME)


def decode_master_key(text: str, source: str = ENV_MASTER_KEY) -> bytes:
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) < KEY_BYTES:
        raise InvalidInput(
            "the guard master key must be base64 of at least 32 bytes",
            field=source,
            fix="generate one with: python -c 'import os,base64;"
            "print(base64.b64encode(os.urandom(32)).decode())'",
        )
    return raw


def load_master_key(database_file: str | None, *, create: bool = False) -> bytes | None:
    """The master key from the environment or its file; a new one is written (0600) when
    ``create`` and there is none. None when there is none and ``create`` is false."""
    inline = os.environ.get(ENV_MASTER_KEY)
    if inline:
        return decode_master_key(inline)
    path = master_key_path(database_file)
    source = str(path)
    try:
        return decode_master_key(path.read_text(encoding="ascii"), source)
    except FileNotFoundError:
        pass
    except (OSError, UnicodeDecodeError) as exc:
        raise StoreUnavailable(
            f"cannot read the guard master key file {source!r}: {exc}",
            field=ENV_MASTER_KEY_FILE,
            fix="check its permissions, or set ANNEXA_GUARD_MASTER_KEY",
        ) from exc
    if not create:
        return None
    return _create(path)


def _create(path: Path) -> bytes:
    """Write a fresh key atomically: to a private temporary file, then hard-linked into
    place, so a concurrent reader never sees a half-written file and two processes that
    race end up with the same key (the loser reads the winner's)."""
    key = secrets.token_bytes(KEY_BYTES)
    folder = path.parent if str(path.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=".annexa-guard-", dir=folder)  # mode 0600
    except OSError as exc:
        raise StoreUnavailable(
            f"cannot write the guard master key file {str(path)!r}: {exc.strerror}",
            field=ENV_MASTER_KEY_FILE,
            fix="point ANNEXA_GUARD_MASTER_KEY_FILE at a writable path or set "
            "ANNEXA_GUARD_MASTER_KEY",
        ) from exc
    try:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(base64.b64encode(key).decode() + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            return decode_master_key(path.read_text(encoding="ascii"), str(path))
    finally:
        os.unlink(tmp)
    return key


def org_key(master: bytes, org_id: int, purpose: Purpose) -> bytes:
    """The organisation's 32-byte key for ``purpose``, derived from the master key."""
    info = b"annexa-guard\0" + purpose.encode() + b"\0org:" + str(int(org_id)).encode()
    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=HKDF_SALT, info=info).derive(
        master
    )
