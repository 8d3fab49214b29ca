"""Ed25519 signing keys and C2SP signed-note checkpoints.

Checkpoint body (https://c2sp.org/tlog-checkpoint)::

    <origin>\\n<tree size, decimal>\\n<base64 root hash>\\n

followed by a blank line and one signature line per signer (https://c2sp.org/signed-note)::

    — <key name> <base64(4-byte key id ‖ 64-byte Ed25519 signature of the body)>\\n

The key id is the first 4 bytes of SHA-256(key name ‖ 0x0A ‖ 0x01 ‖ 32-byte public key).
Keys are written as note keys: ``PRIVATE+KEY+<name>+<hex id>+<base64(0x01 ‖ seed)>`` and
``<name>+<hex id>+<base64(0x01 ‖ public key)>`` for verifiers.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from annexa.errors import InvalidInput, StoreUnavailable
from annexa.validation import only_ascii_digits

ENV_KEY = "ANNEXA_AUDIT_KEY"
ENV_KEY_FILE = "ANNEXA_AUDIT_KEY_FILE"
ENV_KEY_NAME = "ANNEXA_AUDIT_KEY_NAME"
DEFAULT_KEY_NAME = "annexa-audit"
ALG_ED25519 = b"\x01"
EM_DASH = "\u2014"


def key_id(name: str, public: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + ALG_ED25519 + public).digest()[:4]


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _check_name(name: str) -> str:
    if not name or "+" in name or any(c.isspace() for c in name):
        raise InvalidInput(
            f"bad audit key name {name!r}",
            field=ENV_KEY_NAME,
            fix="use a name without spaces or '+', e.g. annexa-audit",
        )
    return name


@dataclass(frozen=True)
class Verifier:
    name: str
    public: bytes

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, self.public)

    def encode(self) -> str:
        data = base64.b64encode(ALG_ED25519 + self.public).decode()
        return f"{self.name}+{self.key_id.hex()}+{data}"

    @classmethod
    def decode(cls, text: str) -> Verifier:
        try:
            name, hex_id, data = text.strip().split("+", 2)
            raw = base64.b64decode(data, validate=True)
        except ValueError as exc:
            raise ValueError("not a note verifier key (name+hexid+base64)") from exc
        if raw[:1] != ALG_ED25519 or len(raw) != 33:
            raise ValueError("verifier key is not an Ed25519 key")
        verifier = cls(name, raw[1:])
        if verifier.key_id.hex() != hex_id.lower():
            raise ValueError("verifier key id does not match its name and key")
        return verifier

    def verify(self, body: bytes, signature: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.public).verify(signature, body)
        except InvalidSignature:
            return False
        return True


@dataclass(frozen=True)
class Signer:
    name: str
    seed: bytes

    @classmethod
    def generate(cls, name: str = DEFAULT_KEY_NAME) -> Signer:
        return cls(_check_name(name), secrets.token_bytes(32))

    @property
    def verifier(self) -> Verifier:
        key = Ed25519PrivateKey.from_private_bytes(self.seed)
        return Verifier(self.name, _raw_public(key.public_key()))

    def sign(self, body: bytes) -> bytes:
        return Ed25519PrivateKey.from_private_bytes(self.seed).sign(body)

    def encode(self) -> str:
        data = base64.b64encode(ALG_ED25519 + self.seed).decode()
        return f"PRIVATE+KEY+{self.name}+{self.verifier.key_id.hex()}+{data}"

    @classmethod
    def decode(cls, text: str, default_name: str = DEFAULT_KEY_NAME) -> Signer:
        text = text.strip()
        try:
            if text.startswith("PRIVATE+KEY+"):
                _, _, name, hex_id, data = text.split("+", 4)
                raw = base64.b64decode(data, validate=True)
                if raw[:1] != ALG_ED25519 or len(raw) != 33:
                    raise ValueError("not an Ed25519 key")
                signer = cls(_check_name(name), raw[1:])
                if signer.verifier.key_id.hex() != hex_id.lower():
                    raise ValueError("key id does not match")
                return signer
            raw = base64.b64decode(text, validate=True)  # a bare 32-byte Ed25519 seed
        except ValueError as exc:
            raise InvalidInput(
                f"cannot read the audit signing key: {exc}",
                field=ENV_KEY,
                fix="give a base64 32-byte Ed25519 private key or a PRIVATE+KEY+… note key",
            ) from exc
        if len(raw) != 32:
            raise InvalidInput(
                "the audit signing key must be 32 bytes",
                field=ENV_KEY,
                fix="give a base64 32-byte Ed25519 private key",
            )
        return cls(_check_name(default_name), raw)


# --- where the key lives ---------------------------------------------------------------


def key_path(database_file: str | None) -> Path:
    """``ANNEXA_AUDIT_KEY_FILE``, else next to a SQLite file, else ./annexa-audit.key."""
    configured = os.environ.get(ENV_KEY_FILE)
    if configured:
        return Path(configured).expanduser()
    if database_file:
        path = Path(database_file).expanduser()
        return path.with_name(path.name + ".audit-key")
    return Path("annexa-audit.key")


def load_signer(database_file: str | None, *, create: bool = False) -> Signer | None:
    """The signing key from ``ANNEXA_AUDIT_KEY`` or the key file; created when asked."""
    name = os.environ.get(ENV_KEY_NAME) or DEFAULT_KEY_NAME
    inline = os.environ.get(ENV_KEY)
    if inline:
        return Signer.decode(inline, name)
    path = key_path(database_file)
    if path.is_file():
        return Signer.decode(path.read_text(encoding="utf-8"), name)
    if not create:
        return None
    signer = Signer.generate(name)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process won the race: use its key
        return Signer.decode(path.read_text(encoding="utf-8"), name)
    except OSError as exc:
        raise StoreUnavailable(
            f"cannot write the audit key file {str(path)!r}: {exc.strerror}",
            field=ENV_KEY_FILE,
            fix="point ANNEXA_AUDIT_KEY_FILE at a writable path or set ANNEXA_AUDIT_KEY",
        ) from exc
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(signer.encode() + "\n")
    return signer


# --- checkpoints -------------------------------------------------------------------------


def checkpoint_body(origin: str, size: int, root: bytes) -> str:
    return f"{origin}\n{size}\n{base64.b64encode(root).decode()}\n"


def sign_checkpoint(signer: Signer, size: int, root: bytes, origin: str | None = None) -> str:
    body = checkpoint_body(origin or signer.name, size, root)
    sig = base64.b64encode(signer.verifier.key_id + signer.sign(body.encode())).decode()
    return f"{body}\n{EM_DASH} {signer.name} {sig}\n"


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    body: bytes
    signatures: list[tuple[str, bytes, bytes]]  # (key name, key id, signature)

    def signed_by(self, verifier: Verifier) -> bool:
        return any(
            name == verifier.name and kid == verifier.key_id and verifier.verify(self.body, sig)
            for name, kid, sig in self.signatures
        )


def parse_checkpoint(text: str) -> Checkpoint:
    """Split a signed note into its checkpoint body and signatures; ValueError when malformed."""
    body, sep, sigs = text.partition("\n\n")
    if not sep or not body:
        raise ValueError("not a signed note: no blank line before the signatures")
    lines = body.split("\n")
    if len(lines) < 3:
        raise ValueError("a checkpoint body needs origin, size and root hash lines")
    origin, size_text, root_text = lines[:3]
    if not only_ascii_digits(size_text) or (size_text != "0" and size_text.startswith("0")):
        raise ValueError(f"bad tree size {size_text!r}")
    root = base64.b64decode(root_text, validate=True)
    if len(root) != 32:
        raise ValueError("root hash is not 32 bytes")
    signatures = []
    for line in sigs.rstrip("\n").split("\n"):
        parts = line.split(" ")
        if len(parts) != 3 or parts[0] != EM_DASH:
            raise ValueError(f"bad signature line {line!r}")
        raw = base64.b64decode(parts[2], validate=True)
        if len(raw) < 5:
            raise ValueError("signature too short")
        signatures.append((parts[1], raw[:4], raw[4:]))
    return Checkpoint(origin, int(size_text), root, (body + "\n").encode(), signatures)
