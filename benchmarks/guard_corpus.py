# ruff: noqa: E501
"""A seeded, labelled corpus for the guard benchmarks: prose, tables, code, logs and chat,
with hard negatives (order numbers, timestamps, UUIDs, versions, hashes, phone-like ids).

``generate`` covers every entity type the pattern tier has. ``core_only=True`` gives the
first corpus, with the 16 entity types of ``ENTITIES`` (the speed benchmark's dense corpus,
kept as it was so its figures stay comparable across stops)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import ipaddress
import json
import random
import string
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from stdnum import iban as std_iban
from stdnum import luhn, verhoeff
from stdnum.de import idnr as de_idnr
from stdnum.es import dni as es_dni
from stdnum.es import nie as es_nie
from stdnum.fr import nir as fr_nir
from stdnum.in_ import aadhaar
from stdnum.in_ import pan as in_pan
from stdnum.iso7064 import mod_11_10
from stdnum.it import codicefiscale as it_cf
from stdnum.nl import bsn as nl_bsn

from annexa.guard import Guard

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


# ---------------------------------------------------------------- the other entity types


@dataclass(frozen=True)
class Kind:
    """A generator of one entity type's values. ``make`` returns the value, or the value and
    the span of it that is labelled (the password in a connection string). ``label`` names
    the column or variable in tables and code; ``keyed`` values only exist after their key
    (``password=…``, ``AccountKey=…``), so the template is kept in every layout."""

    entity: str
    make: Callable[[random.Random], str | tuple[str, int, int]]
    template: str
    label: str
    keyed: bool = False


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(string.digits) for _ in range(n))


def _de_tax_id(rng: random.Random) -> str:
    while True:
        body = str(rng.randint(1, 9)) + _digits(rng, 9)
        number = body + mod_11_10.calc_check_digit(body)
        if de_idnr.is_valid(number):
            break
    if rng.random() < 0.5:
        return number
    return f"{number[:2]} {number[2:5]} {number[5:8]} {number[8:]}"


def _es_dni(rng: random.Random) -> str:
    body = _digits(rng, 8)
    return body + ("-" if rng.random() < 0.2 else "") + es_dni.calc_check_digit(body)


def _es_nie(rng: random.Random) -> str:
    body = rng.choice("XYZ") + _digits(rng, 7)
    return body + es_nie.calc_check_digit(body)


def _fr_nir(rng: random.Random) -> str:
    department = f"{rng.randint(1, 95):02d}"
    if department == "20":
        department = "2A"
    body = (
        rng.choice("12")
        + f"{rng.randint(0, 99):02d}{rng.randint(1, 12):02d}"
        + department
        + f"{rng.randint(1, 990):03d}{rng.randint(1, 999):03d}"
    )
    number = body + fr_nir.calc_check_digits(body)
    if rng.random() < 0.5:
        return number
    parts = (number[0], number[1:3], number[3:5], number[5:7], number[7:10], number[10:13])
    return " ".join(parts) + " " + number[13:]


_CF_MONTHS = "ABCDEHLMPRST"


def _it_fiscal_code(rng: random.Random) -> str:
    consonants = "BCDFGHLMNPRSTVZ"
    day = rng.randint(1, 28) + (40 if rng.random() < 0.5 else 0)
    body = (
        "".join(rng.choice(consonants) for _ in range(6))
        + f"{rng.randint(0, 99):02d}"
        + rng.choice(_CF_MONTHS)
        + f"{day:02d}"
        + rng.choice("ABCDEFGHILM")
        + _digits(rng, 3)
    )
    return body + it_cf.calc_check_digit(body)


def _nl_bsn(rng: random.Random) -> str:
    while True:
        number = str(rng.randint(1, 9)) + _digits(rng, 8)
        if nl_bsn.is_valid(number) and len(set(number)) > 2:
            break
    return number if rng.random() < 0.7 else f"{number[:4]}.{number[4:6]}.{number[6:]}"


def _in_pan(rng: random.Random) -> str:
    upper = string.ascii_uppercase
    while True:
        number = (
            "".join(rng.choice(upper) for _ in range(3))
            + rng.choice("PCHFATBLJG")
            + rng.choice(upper)
            + _digits(rng, 4)
            + rng.choice(upper)
        )
        if in_pan.is_valid(number):
            return number


_SWIFT_COUNTRIES = ["DE", "GB", "FR", "NL", "ES", "IT", "CH", "US", "BE", "IE"]


def _swift(rng: random.Random) -> str:
    upper = string.ascii_uppercase
    bank = "".join(rng.choice(upper) for _ in range(4))
    location = rng.choice(upper) + rng.choice(upper + string.digits)
    branch = rng.choice(["", "", "XXX", rng.choice(upper) + _digits(rng, 2)])
    return bank + rng.choice(_SWIFT_COUNTRIES) + location + branch


_PATHS = ["docs", "matters", "clients", "reports", "2025", "q3", "board", "policy", "files"]


def _url(rng: random.Random) -> str:
    path = "/".join(rng.choice(_PATHS) for _ in range(rng.randint(1, 3)))
    query = rng.choice(["", f"?id={rng.randint(1, 99999)}", f"?page={rng.randint(2, 9)}&sort=date"])
    host = rng.choice(["www.", "portal.", "intranet.", ""]) + rng.choice(DOMAINS)
    return f"https://{host}/{path}{query}"


def _url_credentials(rng: random.Random) -> tuple[str, int, int]:
    scheme = rng.choice(["postgres", "postgresql", "mysql", "mongodb+srv", "redis", "amqp", "ftp"])
    user = rng.choice(["app", "admin", "svc_report", "etl"])
    secret = _rand(rng, rng.randint(10, 20), string.ascii_letters + string.digits + "!*-_")
    head = f"{scheme}://"
    value = f"{head}{user}:{secret}@db{rng.randint(1, 9)}.internal:5432/{rng.choice(_PATHS)}"
    return value, len(head), len(head) + len(user) + 1 + len(secret)


def _password(rng: random.Random) -> str:
    return _rand(rng, rng.randint(10, 18), string.ascii_letters + string.digits + "!#%*-_.")


def _pem(rng: random.Random) -> str:
    kind = rng.choice(["RSA PRIVATE KEY", "PRIVATE KEY", "EC PRIVATE KEY", "OPENSSH PRIVATE KEY"])
    body = base64.b64encode(rng.randbytes(rng.randint(96, 240))).decode()
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return f"-----BEGIN {kind}-----\n" + "\n".join(lines) + f"\n-----END {kind}-----"


def _high_entropy(rng: random.Random) -> str:
    return _rand(rng, rng.randint(28, 40))


def _eth(rng: random.Random) -> str:
    return "0x" + "".join(rng.choice("0123456789abcdefABCDEF") for _ in range(40))


def _sas_signature(rng: random.Random) -> str:
    raw = base64.b64encode(rng.randbytes(32)).decode()
    return raw.replace("+", "%2B").replace("/", "%2F").replace("=", "%3D")


MORE = [
    Kind("DE_TAX_ID", _de_tax_id, "Steuer-ID {v}", "Steuer-ID"),
    Kind("ES_NIF", _es_dni, "DNI {v}", "DNI"),
    Kind("ES_NIE", _es_nie, "NIE {v}", "NIE"),
    Kind("FR_NIR", _fr_nir, "numéro de sécurité sociale {v}", "NIR"),
    Kind("IT_FISCAL_CODE", _it_fiscal_code, "codice fiscale {v}", "codice fiscale"),
    Kind("NL_BSN", _nl_bsn, "BSN {v}", "BSN"),
    Kind("IN_PAN", _in_pan, "PAN {v}", "PAN"),
    Kind("SWIFT_CODE", _swift, "SWIFT/BIC {v}", "BIC"),
    Kind("CRYPTO", _eth, "ETH wallet {v}", "eth address"),
    Kind("URL", _url, "see {v} for details", "link"),
    Kind("URL_CREDENTIALS", _url_credentials, "DATABASE_URL={v}", "dsn", keyed=True),
    Kind("PASSWORD", _password, "password={v}", "password", keyed=True),
    Kind("PASSWORD", _password, "DB_PASSWORD={v}", "env", keyed=True),
    Kind("PRIVATE_KEY", _pem, "{v}", "private key", keyed=True),
    Kind("HIGH_ENTROPY_SECRET", _high_entropy, "token {v}", "api_token"),
    Kind(
        "AWS_SECRET_KEY",
        lambda r: _rand(r, 40, string.ascii_letters + string.digits + "/+"),
        "aws_secret_access_key = {v}",
        "aws",
        keyed=True,
    ),
    Kind(
        "GCP_API_KEY",
        lambda r: "AIza" + _rand(r, 35, _TOKEN_CHARS),
        "GOOGLE_API_KEY={v}",
        "gcp key",
    ),
    Kind("GITLAB_TOKEN", lambda r: "glpat-" + _rand(r, 20, _TOKEN_CHARS), "token {v}", "gitlab"),
    Kind(
        "SLACK_TOKEN",
        lambda r: f"xoxb-{_digits(r, 11)}-{_digits(r, 13)}-{_rand(r, 24)}",
        "SLACK_BOT_TOKEN={v}",
        "slack",
    ),
    Kind(
        "ANTHROPIC_API_KEY",
        lambda r: "sk-ant-api03-" + _rand(r, 93, _TOKEN_CHARS) + "AA",
        "ANTHROPIC_API_KEY={v}",
        "anthropic",
    ),
    Kind(
        "AZURE_STORAGE_KEY",
        lambda r: base64.b64encode(r.randbytes(64)).decode(),
        "DefaultEndpointsProtocol=https;AccountName=acmedocs;AccountKey={v};EndpointSuffix=core.windows.net",
        "azure",
        keyed=True,
    ),
    Kind(
        "AZURE_SAS_TOKEN",
        _sas_signature,
        "https://acmedocs.blob.core.windows.net/reports/q3.pdf?sv=2022-11-02&ss=b&srt=o&sp=r&se=2026-12-31T23:59:59Z&spr=https&sig={v}",
        "sas url",
        keyed=True,
    ),
]

_TOKEN_CHARS = string.ascii_letters + string.digits + "_-"

MORE_NEGATIVES = [
    lambda r: (
        f"Steuernummer {r.randint(10, 99)}/{r.randint(100, 999)}/{r.randint(10000, 99999)} for the {r.randint(2019, 2025)} return."
    ),
    lambda r: f"Tracking number {r.randint(100000000, 999999999)} left the depot.",
    lambda r: (
        f"Status {r.choice(['APPROVED', 'BUSINESS', 'DATABASE', 'CUSTOMER', 'TRANSFER'])} for the bank wire batch {r.randint(10, 99)}."
    ),
    lambda r: r.choice(
        ["password=changeme", "API_KEY=your-api-key-here", "token: <TOKEN>", "secret = '${SECRET}'"]
    ),
    lambda r: (
        f'<img src="data:image/png;base64,{base64.b64encode(r.randbytes(48)).decode()}" alt="logo">'
    ),
    lambda r: (
        f"Product code {r.choice(string.ascii_uppercase)}{r.randint(100, 999)}-{r.choice(['RED', 'BLUE', 'XL'])}, lot {r.randint(1000, 9999)}."
    ),
]

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


def generate(n: int, seed: int = 7, *, core_only: bool = False) -> list[Sample]:
    rng = random.Random(seed)
    names: list[str | Kind] = list(ENTITIES)
    negatives = NEGATIVES
    if not core_only:
        names += MORE
        negatives = NEGATIVES + MORE_NEGATIVES
    out: list[Sample] = []
    for i in range(n):
        kind = ["prose", "table", "code", "log", "chat"][i % 5]
        # (piece, label): a label is (entity, start, end) inside the piece
        parts: list[tuple[str, tuple[str, int, int] | None]] = []
        for _ in range(rng.randint(1, 3)):
            if rng.random() < 0.45:
                parts.append((rng.choice(negatives)(rng), None))
                continue
            entity = rng.choice(names)
            if isinstance(entity, Kind):
                parts.extend(_more_parts(rng, entity, kind))
                continue
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
            parts.append((value, (entity, 0, len(value))))
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
        for piece, label in parts:
            if label is not None:
                entity, lo, hi = label
                spans.append((len(text) + lo, len(text) + hi, entity))
            text += piece
            if label is None:
                text += " " if not piece.endswith(("\n", " ")) else ""
        out.append(Sample(text, spans, kind))
    return out


def tally(
    guard: Guard, samples: list[Sample], show: int = 0
) -> tuple[Counter[str], Counter[str], Counter[str]]:
    """Per entity type, the labelled values found (exact span and type), the findings no
    label has, and the labels not found; ``show`` prints that many samples with an error."""
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    for sample in samples:
        gold = set(sample.spans)
        found = {(f.start, f.end, f.entity_type) for f in guard.scan(sample.text)}
        for _, _, entity in found & gold:
            tp[entity] += 1
        for _, _, entity in found - gold:
            fp[entity] += 1
        for _, _, entity in gold - found:
            fn[entity] += 1
        if (found ^ gold) and show > 0:
            show -= 1
            print(
                "TEXT",
                repr(sample.text),
                "\n  missed",
                sorted(gold - found),
                "\n  extra",
                [(s, sample.text[s[0] : s[1]]) for s in sorted(found - gold)],
            )
    return tp, fp, fn


def _more_parts(
    rng: random.Random, entity: Kind, kind: str
) -> list[tuple[str, tuple[str, int, int] | None]]:
    """The pieces of one value of ``entity`` laid out as ``kind`` (see :func:`generate`)."""
    made = entity.make(rng)
    value, lo, hi = (made, 0, len(made)) if isinstance(made, str) else made
    before, after = entity.template.split("{v}")
    if kind == "code" and "BEGIN" in value:
        value = value.replace("\n", "\\n")  # a key inside a string literal: escaped
        hi = len(value)
    if not entity.keyed and kind in ("table", "code"):
        before, after = "", ""
    if kind == "table":
        before, after = f"| {rng.choice(FIRST)} | {entity.label} | " + before, after + " |"
    elif kind == "code" and entity.keyed:  # a settings line: "# DB_PASSWORD=…"
        before = "# " + before
    elif kind == "code":
        name = entity.label.lower().replace(" ", "_").replace("-", "_")
        before, after = f'{name} = "', '"'
    elif kind == "log":
        before = (
            f"{rng.randint(10, 23)}:{rng.randint(10, 59)}:{rng.randint(10, 59)} WARN user {before}"
        )
    elif kind == "chat":
        before = f"{rng.choice(FIRST)}: sure, my {before}"
    elif kind == "prose":
        before = (
            rng.choice(PROSE).split("{e}")[0].format(c=rng.choice(LAST), n=rng.choice(FIRST))
            + " "
            + before
        )
    # the value in one piece with what comes before it: "password=…" stays glued
    label = (entity.entity, len(before) + lo, len(before) + hi)
    return [(before + value, label), (after, None)]


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
