# ruff: noqa: E501
"""A seeded, labelled corpus for the guard benchmarks: prose, tables, code, logs and chat,
with hard negatives (order numbers, timestamps, UUIDs, versions, hashes, phone-like ids)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import ipaddress
import json
import random
import string
import uuid
from dataclasses import dataclass, field

from stdnum import iban as std_iban
from stdnum import luhn, verhoeff
from stdnum.in_ import aadhaar

Span = tuple[int, int, str]


@dataclass
class Sample:
    text: str
    spans: list[Span] = field(default_factory=list)
    kind: str = "prose"


_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
FIRST = ["Jane", "Omar", "Li", "Sofia", "Lukas", "Amara", "Pierre", "Ana", "Ravi", "Mia"]
LAST = ["Doe", "Haddad", "Wei", "Rossi", "Becker", "Okafor", "Martin", "Garcia", "Patel"]
DOMAINS = ["example.com", "acme-legal.co.uk", "mail.example.org", "corp.example.net"]


def _card(rng: random.Random) -> str:
    prefix = rng.choice(["4", "51", "55", "2221", "2720", "34", "37", "6011", "3530"])
    length = (
        15 if prefix in ("34", "37") else rng.choice([16, 16, 16, 19] if prefix == "4" else [16])
    )
    body = prefix + "".join(rng.choice(string.digits) for _ in range(length - len(prefix) - 1))
    number = body + luhn.calc_check_digit(body)
    style = rng.choice(["plain", "space", "dash"])
    if style == "plain" or length != 16:
        return number
    sep = " " if style == "space" else "-"
    return sep.join(number[i : i + 4] for i in range(0, 16, 4))


def _iban(rng: random.Random) -> str:
    country, bban = rng.choice(
        [
            ("DE", lambda: "".join(rng.choice(string.digits) for _ in range(18))),
            (
                "GB",
                lambda: (
                    "".join(rng.choice(string.ascii_uppercase) for _ in range(4))
                    + "".join(rng.choice(string.digits) for _ in range(14))
                ),
            ),
            ("FR", lambda: "".join(rng.choice(string.digits) for _ in range(23))),
            (
                "NL",
                lambda: (
                    "".join(rng.choice(string.ascii_uppercase) for _ in range(4))
                    + "".join(rng.choice(string.digits) for _ in range(10))
                ),
            ),
        ]
    )
    body = bban()
    check = std_iban.calc_check_digits(country + "00" + body)
    value = country + check + body
    if rng.random() < 0.5:
        value = " ".join(value[i : i + 4] for i in range(0, len(value), 4))
    return value


def _btc(rng: random.Random) -> str:
    payload = b"\x00" + rng.randbytes(20)
    raw = payload + hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4]
    num = int.from_bytes(raw, "big")
    out = ""
    while num:
        num, rem = divmod(num, 58)
        out = _B58[rem] + out
    return "1" * (len(raw) - len(raw.lstrip(b"\x00"))) + out


def _ssn(rng: random.Random) -> str:
    area = rng.choice([a for a in range(1, 900) if a != 666])
    return f"{area:03d}-{rng.randint(1, 99):02d}-{rng.randint(1, 9999):04d}"


def _phone(rng: random.Random) -> str:
    return rng.choice(
        [
            f"+44 20 7946 {rng.randint(0, 9999):04d}",
            f"+1 415 555 {rng.randint(100, 9999):04d}".replace("555 0", "555 1"),
            f"+33 6 {rng.randint(10, 99)} {rng.randint(10, 99)} {rng.randint(10, 99)} {rng.randint(10, 99)}",
            f"+49 30 {rng.randint(1000000, 9999999)}",
            f"({rng.choice([212, 415, 646, 312])}) {rng.randint(200, 999)}-{rng.randint(1000, 9999)}",
        ]
    )


def _rand(rng: random.Random, n: int, alphabet: str = string.ascii_letters + string.digits) -> str:
    while True:
        s = "".join(rng.choice(alphabet) for _ in range(n))
        if (
            any(c.isdigit() for c in s)
            and any(c.isupper() for c in s)
            and any(c.islower() for c in s)
        ):
            return s


_BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase


def _github(rng: random.Random) -> str:
    """Half real-format tokens (30 random characters and their CRC32 in base62), half
    token-shaped strings without a valid checksum (examples, fakes)."""
    body = _rand(rng, 30)
    if rng.random() < 0.5:
        return "ghp_" + body + _rand(rng, 6)
    crc, check = binascii.crc32(body.encode()), ""
    for _ in range(6):
        crc, digit = divmod(crc, 62)
        check = _BASE62[digit] + check
    return "ghp_" + body + check


def _aadhaar(rng: random.Random) -> str:
    while True:
        body = str(rng.randint(2, 9)) + "".join(rng.choice(string.digits) for _ in range(10))
        number = body + verhoeff.calc_check_digit(body)
        if aadhaar.is_valid(number):
            break
    return number if rng.random() < 0.3 else " ".join(number[i : i + 4] for i in (0, 4, 8))


def _nhs(rng: random.Random) -> str:
    while True:
        body = "".join(rng.choice(string.digits) for _ in range(9))
        check = 11 - sum(int(d) * (10 - i) for i, d in enumerate(body)) % 11
        check = 0 if check == 11 else check
        if check != 10 and len(set(body)) > 1:
            break
    number = body + str(check)
    return number if rng.random() < 0.3 else f"{number[:3]} {number[3:6]} {number[6:]}"


def _nino(rng: random.Random) -> str:
    first, second = "ABCEGHJKLMNOPRSTWXYZ", "ABCEGHJKLMNPRSTWXYZ"
    while True:
        prefix = rng.choice(first) + rng.choice(second)
        if prefix not in ("BG", "GB", "NK", "KN", "TN", "NT", "ZZ"):
            break
    digits = "".join(rng.choice(string.digits) for _ in range(6))
    suffix = rng.choice("ABCD")
    if rng.random() < 0.5:
        return prefix + digits + suffix
    return f"{prefix} {digits[:2]} {digits[2:4]} {digits[4:]} {suffix}"


def _jwt(rng: random.Random) -> str:
    def enc(obj: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    return f"{enc({'alg': 'HS256', 'typ': 'JWT'})}.{enc({'sub': str(rng.randint(1, 10**6))})}.{_rand(rng, 43, string.ascii_letters + string.digits + '-_')}"


ENTITIES = {
    "EMAIL_ADDRESS": (
        lambda r: f"{r.choice(FIRST).lower()}.{r.choice(LAST).lower()}@{r.choice(DOMAINS)}",
        "email {v}",
    ),
    "PHONE_NUMBER": (_phone, "phone {v}"),
    "CREDIT_CARD": (_card, "card {v}"),
    "IBAN_CODE": (_iban, "IBAN {v}"),
    "IP_ADDRESS": (
        lambda r: (
            str(ipaddress.IPv4Address(r.randint(0x0B000000, 0xDF000000)))
            if r.random() < 0.7
            else str(ipaddress.IPv6Address(r.getrandbits(128)))
        ),
        "host {v}",
    ),
    "MAC_ADDRESS": (lambda r: ":".join(f"{r.randint(0, 255):02x}" for _ in range(6)), "mac {v}"),
    "US_SSN": (_ssn, "SSN {v}"),
    "CRYPTO": (_btc, "wallet {v}"),
    "AWS_ACCESS_KEY": (
        lambda r: "AKIA" + "".join(r.choice(string.ascii_uppercase + "234567") for _ in range(16)),
        "key id {v}",
    ),
    "GITHUB_TOKEN": (_github, "token {v}"),
    "OPENAI_API_KEY": (lambda r: "sk-proj-" + _rand(r, 48), "OPENAI_API_KEY={v}"),
    "JWT": (_jwt, "Authorization: Bearer {v}"),
    "STRIPE_KEY": (lambda r: "sk_live_" + _rand(r, 24), "stripe {v}"),
    "IN_AADHAAR": (_aadhaar, "aadhaar {v}"),
    "UK_NHS": (_nhs, "NHS number {v}"),
    "UK_NINO": (_nino, "NI number {v}"),
}

PROSE = [
    "Hi team, following up on the {c} matter — {e} Let me know by Friday.",
    "As discussed with {n}, {e} Thanks!",
    "The client asked us to update the file: {e}",
]
NEGATIVES = [
    lambda r: (
        f"Order ORD-{r.randint(2019, 2025)}-{r.randint(1, 999999):06d} shipped on {r.randint(2019, 2025)}-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}."
    ),
    lambda r: (
        f"[{r.randint(2019, 2025)}-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}T{r.randint(0, 23):02d}:{r.randint(0, 59):02d}:{r.randint(0, 59):02d}Z] INFO request_id={uuid.UUID(int=r.getrandbits(128))} took {r.randint(1, 999)}ms"
    ),
    lambda r: (
        f"Upgraded from v{r.randint(1, 9)}.{r.randint(0, 20)}.{r.randint(0, 30)} to {r.randint(1, 9)}.{r.randint(0, 20)}.{r.randint(0, 30)}; commit {hashlib.sha1(r.randbytes(8)).hexdigest()}"
    ),
    lambda r: (
        f"Invoice #{r.randint(10000, 99999)} total ${r.randint(1, 99)},{r.randint(100, 999)}.{r.randint(0, 99):02d} due in {r.randint(7, 90)} days, ticket {r.randint(100000, 999999)}."
    ),
    lambda r: (
        f"sha256: {hashlib.sha256(r.randbytes(8)).hexdigest()} size {r.randint(1000, 10**7)} bytes"
    ),
    lambda r: (
        f"Call reference {r.randint(1000, 9999)}-{r.randint(1000, 9999)}-{r.randint(10, 99)} at {r.randint(0, 23):02d}:{r.randint(0, 59):02d}"
    ),
    lambda r: "def getUserAccountInformation(userId: int) -> dict:  # TODO refactor",
    lambda r: (
        f"The meeting moved to {r.randint(1, 28)}/{r.randint(1, 12)}/{r.randint(2020, 2026)} in room {r.randint(100, 999)}."
    ),
]


def generate(n: int, seed: int = 7) -> list[Sample]:
    rng = random.Random(seed)
    names = list(ENTITIES)
    out: list[Sample] = []
    for i in range(n):
        kind = ["prose", "table", "code", "log", "chat"][i % 5]
        parts: list[tuple[str, str | None]] = []
        for _ in range(rng.randint(1, 3)):
            if rng.random() < 0.45:
                parts.append((rng.choice(NEGATIVES)(rng), None))
                continue
            entity = rng.choice(names)
            make, template = ENTITIES[entity]
            value = make(rng)
            before, after = template.split("{v}")
            if kind == "table":
                before = f"| {rng.choice(FIRST)} | {entity.lower()} | "
                after = " |"
            elif kind == "code":
                before = f'{entity.lower()} = "'
                after = '"'
            elif kind == "log":
                before = f"{rng.randint(10, 23)}:{rng.randint(10, 59)}:{rng.randint(10, 59)} WARN user {before}"
            elif kind == "chat":
                before = f"{rng.choice(FIRST)}: sure, my {before}"
            parts.append((before, None))
            parts.append((value, entity))
            parts.append((after, None))
            if kind == "prose":
                parts.insert(
                    0,
                    (
                        rng.choice(PROSE)
                        .split("{e}")[0]
                        .format(c=rng.choice(LAST), n=rng.choice(FIRST)),
                        None,
                    ),
                )
        text, spans = "", []
        for piece, entity in parts:
            if entity is not None:
                spans.append((len(text), len(text) + len(piece), entity))
            text += piece
            if entity is None:
                text += " " if not piece.endswith(("\n", " ")) else ""
        out.append(Sample(text, spans, kind))
    return out


# ---------------------------------------------------------------- sparse realistic text

_WORDS = [
    "the",
    "a",
    "of",
    "to",
    "and",
    "in",
    "for",
    "on",
    "with",
    "as",
    "by",
    "at",
    "from",
    "that",
    "this",
    "is",
    "are",
    "was",
    "be",
    "will",
    "can",
    "should",
    "we",
    "you",
    "they",
    "it",
    "our",
    "your",
    "their",
    "report",
    "policy",
    "review",
    "contract",
    "supplier",
    "data",
    "model",
    "risk",
    "control",
    "audit",
    "process",
    "system",
    "service",
    "customer",
    "account",
    "team",
    "meeting",
    "update",
    "version",
    "release",
    "change",
    "request",
    "approval",
    "budget",
    "quarter",
    "deadline",
    "summary",
    "analysis",
    "decision",
    "document",
    "section",
    "clause",
    "annex",
    "requirement",
    "evidence",
    "owner",
    "status",
    "issue",
    "note",
    "draft",
    "final",
    "market",
    "product",
    "feature",
    "deployment",
    "pipeline",
    "latency",
    "error",
    "retry",
    "cache",
    "queue",
    "worker",
]

_CODE = [
    "def load_config(path: str) -> dict:\n    with open(path) as fh:\n        return json.load(fh)\n",
    "for i, row in enumerate(rows):\n    if row.status != 'ok':\n        errors.append((i, row.id))\n",
    "class RetryPolicy:\n    max_attempts = 5\n    backoff_ms = 250\n\n    def delay(self, n):\n        return self.backoff_ms * 2 ** n\n",
    "SELECT id, name, created_at FROM suppliers WHERE region = 'EU' ORDER BY created_at DESC LIMIT 50;\n",
    "const total = items.reduce((acc, x) => acc + x.price * x.qty, 0);\nconsole.log(`total: ${total}`);\n",
    'if err != nil {\n\treturn fmt.Errorf("open %s: %w", name, err)\n}\n',
]


def _sentence(rng: random.Random) -> str:
    words = [rng.choice(_WORDS) for _ in range(rng.randint(6, 18))]
    if rng.random() < 0.15:
        words.insert(rng.randrange(len(words)), str(rng.randint(1, 2025)))
    return " ".join(words).capitalize() + rng.choice([".", ".", ".", "?", ";"])


def _log_line(rng: random.Random) -> str:
    return (
        f"{rng.randint(2023, 2025)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T"
        f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}Z "
        f"{rng.choice(['INFO', 'INFO', 'DEBUG', 'WARN'])} "
        f"{rng.choice(['worker', 'api', 'scheduler', 'db'])}: "
        f"{rng.choice(['request done', 'cache miss', 'job queued', 'retrying'])} "
        f"duration={rng.randint(1, 900)}ms status={rng.choice([200, 200, 204, 404, 500])}"
    )


def sparse_text(size: int, seed: int) -> tuple[str, list[Span]]:
    """Ordinary prose, code and logs of about ``size`` characters with one labelled entity
    every 1-2 KB (the shape of real prompts and documents, unlike the dense corpus)."""
    rng = random.Random(seed)
    names = list(ENTITIES)
    pieces: list[str] = []
    spans: list[Span] = []
    length = 0
    next_entity = rng.randint(1000, 2000)
    while length < size:
        kind = rng.random()
        if kind < 0.55:
            piece = " ".join(_sentence(rng) for _ in range(rng.randint(2, 6))) + "\n\n"
        elif kind < 0.75:
            piece = rng.choice(_CODE) + "\n"
        else:
            piece = "\n".join(_log_line(rng) for _ in range(rng.randint(2, 8))) + "\n"
        if length + len(piece) >= next_entity:
            entity = rng.choice(names)
            make, template = ENTITIES[entity]
            value = make(rng)
            before, after = template.split("{v}")
            piece = piece + f"Note: {before}"
            spans.append((length + len(piece), length + len(piece) + len(value), entity))
            piece += value + after + ".\n"
            next_entity += rng.randint(1000, 2000)
        pieces.append(piece)
        length += len(piece)
    return "".join(pieces), spans
