"""The built-in pattern detectors: a linear-time RE2 pattern, a validator, a classification.

Patterns use RE2 syntax (no look-around, no back-references); boundaries a look-around
would express are checked by the validator on the candidate's neighbours. A pattern may
mark the sensitive part with a named group ``v``; the finding then covers only that part
(for instance the password inside ``scheme://user:pass@host``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from annexa.guard import validators as v


@dataclass(frozen=True)
class Runs:
    """Where a detector's acceptable candidates can lie: the maximal runs of ``chars`` (every
    byte its pattern can consume; with ``non_ascii`` every byte over 0x7F too) that hold a
    match of ``feature``, a Python bytes pattern that only consumes run bytes and never
    backtracks far. Every candidate the validator can accept must contain a match of it:
    the others are ones it rejects.

    A match of the pattern never crosses a byte outside ``chars``, so inside a run it is
    found exactly as by a scan of the whole text (see ``engine._candidates``).

    With ``gated``, every acceptable candidate contains a match of ``feature`` that ends
    where the candidate ends, and ``feature`` is also a Hyperscan pattern: the gate then
    reports every end of a feature match (instead of matching the detector's pattern),
    the runs are those holding a reported end, and RE2 stops in a run once no reported
    end is left after its scan position (see ``engine.Guard._gated_runs``); the Python
    search is only the fallback without Hyperscan.
    """

    chars: bytes
    feature: bytes
    non_ascii: bool = False
    gated: bool = False
    # The bytes a match can start with (2 in ``table``; those of ``chars`` left are 1):
    # where every one of them before the last reported end lies in a span that drops the
    # candidates starting there, the engine stops (see ``engine.Guard._gated_runs``).
    first: bytes = b""
    table: bytes = field(init=False, repr=False, compare=False)
    search: Callable = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        table = bytearray(256)
        for byte in self.chars:
            table[byte] = 1
        if self.non_ascii:
            table[0x80:] = b"\1" * 128
        if self.gated and (self.non_ascii or not set(self.first) <= set(self.chars)):
            raise ValueError("gated runs are ASCII, and start with some of their bytes")
        for byte in self.first:
            table[byte] = 2
        object.__setattr__(self, "table", bytes(table))
        object.__setattr__(self, "search", re.compile(self.feature).search)

    def find(self, data: bytes) -> list[tuple[int, int]]:
        """The (start, end) byte spans of the runs with the feature, in order."""
        match = self.search(data)
        if match is None:
            return []
        mask = data.translate(self.table)  # 1 for run bytes, 0 for the others
        size = len(data)
        out = []
        while match is not None:
            start = mask.rfind(b"\0", 0, match.start()) + 1
            end = mask.find(b"\0", match.end())
            if end < 0:
                end = size
            out.append((start, end))
            match = self.search(data, end)
        return out

    def holds(self, data: bytes, start: int, end: int) -> bool:
        """Whether ``data[start:end]`` (part of a run) still has the feature."""
        return self.search(data, start, end) is not None


_ALNUM = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_PHONE_CHARS = b"0123456789 .-()+"  # every byte the phone pattern consumes


@dataclass(frozen=True)
class Detector:
    name: str
    entity_type: str
    pattern: str
    validator: v.Validator | None = None
    score: float = 0.8  # used when there is no validator
    classification: str = "personal"
    context: tuple[str, ...] = ()
    max_length: int = 64  # longest plausible match, for streaming hold-back
    prefix_closed: bool = False  # a partial match is still a match (long entities)
    case_insensitive: bool = False
    extra: dict = field(default_factory=dict, compare=False, hash=False)
    # The only runs of text where a candidate the validator can accept may lie (see Runs):
    # the engine then runs ``pattern`` inside them only.
    runs: Runs | None = None
    # A cheap upper bound on the score ``validator`` can give a candidate (``None``: no
    # bound), for candidates it never trims: when even that plus the context boost, or
    # that alone with no context word near, stays under the threshold, the engine skips
    # the (costly) validator, whose finding would be dropped anyway.
    ceiling: v.Validator | None = None
    # False: not in the Hyperscan gate, whose database it would slow down more than the
    # detector's own pass costs (case-insensitive letter classes in UTF-8 mode; a pattern
    # whose runs start with a bytes search); that pass always runs.
    gated: bool = True
    # A cheap test of a candidate's UTF-8 bytes, False only where the validator rejects it
    # whatever its neighbours: the engine then drops it before any other bookkeeping.
    keep: Callable[[bytes], bool] | None = None
    # Candidates of fewer UTF-8 bytes than this are rejected as ``keep`` rejects them,
    # before their bytes are even sliced (most phone candidates: any 3 digits match).
    keep_bytes: int = 0
    # The (start, end) byte spans of the matches RE2 finds scanning ``pattern`` over the
    # whole text, less those ``keep`` rejects, computed without RE2 (for a pattern simple
    # enough to find with ``bytes.find``; see validators.high_entropy_spans). No ``v``
    # group.
    spans: Callable[[bytes], list[tuple[int, int]]] | None = None
    # The gate reports every end of a match of ``locator`` (or of ``pattern`` without one),
    # not just whether there is one, and RE2 looks only near those ends, not over the whole
    # text (see engine._candidates). For patterns with few match ends in any text (a
    # boundary, a literal or a fixed-length part at the end) and bounded in width; not with
    # ``runs``.
    located: bool = False
    # A pattern of bounded width that matches a prefix of every match of ``pattern`` (its
    # leading literal): where a pattern ends in a long repeat (every position in it a
    # match end), its start is reported instead.
    locator: str | None = None


CONTEXT_BOOST = 0.35

_CARD_CTX = ("card", "credit", "debit", "visa", "mastercard", "amex", "cc", "pan", "payment")
_PHONE_CTX = ("phone", "tel", "telephone", "mobile", "cell", "call", "fax", "whatsapp", "ring")
_SECRET_CTX = ("secret", "token", "key", "password", "passwd", "api", "auth", "credential")


def builtin_detectors(phone_regions: tuple[str, ...] = ("US", "GB")) -> list[Detector]:
    d = Detector
    return [
        # ------------------------------------------------------------ contact and network
        d(
            "email",
            "EMAIL_ADDRESS",
            r"[A-Za-z0-9][A-Za-z0-9._%+\-]{0,63}@[A-Za-z0-9](?:[A-Za-z0-9\-]{0,62}[A-Za-z0-9])?"
            r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]{0,62}[A-Za-z0-9])?)*\.[A-Za-z]{2,24}\b",
            v.email,
            context=("email", "e-mail", "mail", "contact"),
            max_length=254,
            # runs of the characters an address is made of that contain an "@"
            runs=Runs(_ALNUM + b"._%+-@", rb"@"),
            # a text without "@" costs one bytes search (with the pattern, an eighth of
            # Hyperscan's work on prose, a tenth on dense text)
            gated=False,
        ),
        d(
            "phone",
            "PHONE_NUMBER",
            r"(?:\+|\b00)?(?:\d{1,4}[ .\-]?)?(?:\(\d{1,5}\)[ .\-]?)?"
            r"\d{1,5}(?:[ .\-]?\d{2,5}){1,5}\b",
            v.make_phone_validator(phone_regions),
            context=_PHONE_CTX,
            max_length=32,
            keep=v.phone_keep,
            keep_bytes=7,  # 7 digits
            ceiling=v.phone_ceiling,
            # Any 3 digits match the pattern: on dense text most of its RE2 calls found
            # runs of under 7 digits, which keep rejects. Between two digits of a match
            # there are at most two of " .-()" ("1 (2", "1) 2"), and a match ends on a
            # digit before a boundary: so a kept candidate ends where its last 7 digits
            # match the feature, whose ends the gate reports; runs of the characters a
            # match is made of without such an end are not scanned.
            runs=Runs(
                _PHONE_CHARS,
                rb"\d(?:[ .\-()]{0,2}\d){6}\b",
                gated=True,
                first=b"0123456789+(",  # (?:\+|\b00)?(?:\d..)?(?:\(..)?\d..
            ),
        ),
        d(
            "url",
            "URL",
            r"\b(?:https?|ftp|wss?)://[^\s<>\"'`]{2,}|\bwww\.[A-Za-z0-9\-]{1,63}\.[^\s<>\"'`]{2,}",
            v.url,
            classification="internal",
            context=("url", "link", "website"),
            max_length=64,
            prefix_closed=True,
            located=True,
            locator=r"\b(?:https?|ftp|wss?)://|\bwww\.",
        ),
        d(
            "url_credentials",
            "URL_CREDENTIALS",
            r"\b[A-Za-z][A-Za-z0-9+.\-]{1,20}://(?P<v>[^\s:/@\"'<>]{1,128}:[^\s@/\"'<>]{1,256})@",
            v.url_credentials,
            classification="secret",
            max_length=420,
            located=True,
        ),
        d(
            "ipv4",
            "IP_ADDRESS",
            r"\b(?:\d{1,3}\.){3}\d{1,3}\b",
            v.ipv4,
            classification="internal",
            context=("ip", "address", "host", "server", "client"),
            max_length=15,
            located=True,
        ),
        d(
            "ipv6",
            "IP_ADDRESS",
            r"(?i)(?:[0-9a-f]{0,4}:){2,7}(?:[0-9a-f]{1,4}|(?:\d{1,3}\.){3}\d{1,3})?(?:%[0-9a-z]{1,16})?",
            v.ipv6,
            classification="internal",
            context=("ip", "ipv6", "address", "host"),
            max_length=64,
            # runs of address characters (under (?i) RE2 folds in the Kelvin sign and the
            # long s: every non-ASCII byte counts) with "::" or 6+ colons (the validator's
            # minimum); the feature cannot backtrack beyond the next six colons
            runs=Runs(_ALNUM + b".%:", rb"::|:(?:[0-9A-Za-z.%\x80-\xff]*:){5}", non_ascii=True),
        ),
        d(
            "mac",
            "MAC_ADDRESS",
            r"(?i)\b[0-9a-f]{2}(?:[:\-][0-9a-f]{2}){5}\b|\b[0-9a-f]{4}\.[0-9a-f]{4}\.[0-9a-f]{4}\b",
            v.mac,
            classification="internal",
            context=("mac", "ethernet", "wifi", "hardware", "device"),
            max_length=17,
            located=True,
        ),
        # ------------------------------------------------------------ finance
        d(
            "credit_card",
            "CREDIT_CARD",
            r"\b\d(?:[ \-]?\d){11,18}\b",
            v.credit_card,
            classification="confidential",
            context=_CARD_CTX,
            max_length=23,
            located=True,
            locator=r"\b\d(?:[ \-]?\d){11}",  # a third of Hyperscan's work on dense text
        ),
        d(
            "iban",
            "IBAN_CODE",
            r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b",
            v.iban,
            classification="confidential",
            context=("iban", "bank", "account", "transfer", "sepa"),
            max_length=42,
            located=True,
            locator=r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2}",
        ),
        d(
            "swift",
            "SWIFT_CODE",
            r"\b[A-Z]{4}[A-Z]{2}[A-Z0-9]{2}(?:[A-Z0-9]{3})?\b",
            v.swift,
            classification="confidential",
            context=("swift", "bic", "bank", "wire"),
            max_length=11,
            located=True,
        ),
        d(
            "btc",
            "CRYPTO",
            r"\b[13][1-9A-HJ-NP-Za-km-z]{25,34}\b|\b(?:bc1|tb1)[02-9ac-hj-np-z]{11,71}\b",
            v.btc_address,
            classification="confidential",
            context=("bitcoin", "btc", "wallet", "crypto"),
            max_length=74,
            located=True,
        ),
        d(
            "eth",
            "CRYPTO",
            r"\b0x[0-9a-fA-F]{40}\b",
            v.eth_address,
            classification="confidential",
            context=("ethereum", "eth", "wallet", "crypto", "address"),
            max_length=42,
            located=True,
        ),
        # ------------------------------------------------------------ government ids
        d(
            "us_ssn",
            "US_SSN",
            r"\b\d{3}[ \-]\d{2}[ \-]\d{4}\b|\b\d{9}\b",
            v.us_ssn,
            classification="restricted",
            context=("ssn", "social security", "ss#", "ssn#", "social"),
            max_length=11,
            located=True,
        ),
        d(
            "uk_nino",
            "UK_NINO",
            r"\b[A-CEGHJ-PR-TW-Z]{2} ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b",
            v.uk_nino,
            classification="restricted",
            context=("national insurance", "nino", "ni number", "nin"),
            max_length=13,
            located=True,
        ),
        d(
            "uk_nhs",
            "UK_NHS",
            r"\b\d{3}[ \-]?\d{3}[ \-]?\d{4}\b",
            v.uk_nhs,
            classification="restricted",
            context=("nhs", "health", "patient", "hospital"),
            max_length=12,
            ceiling=v.at_most(0.4),
            located=True,
        ),
        d(
            "de_tax_id",
            "DE_TAX_ID",
            r"\b\d{2} ?\d{3} ?\d{3} ?\d{3}\b",
            v.de_tax_id,
            classification="restricted",
            context=("steuer", "idnr", "steuer-id", "steueridentifikationsnummer", "tax id"),
            max_length=14,
            ceiling=v.at_most(0.4),
            located=True,
        ),
        d(
            "fr_nir",
            "FR_NIR",
            r"\b[12] ?\d{2} ?\d{2} ?(?:\d{2}|2[ABab]) ?\d{3} ?\d{3} ?\d{2}\b",
            v.fr_nir_check,
            classification="restricted",
            context=("nir", "sécurité sociale", "securite sociale", "insee", "numéro de sécu"),
            max_length=21,
            located=True,
        ),
        d(
            "es_dni",
            "ES_NIF",
            r"\b\d{8}-?[A-Z]\b",
            v.es_dni_check,
            classification="restricted",
            context=("dni", "nif", "documento"),
            max_length=10,
            located=True,
        ),
        d(
            "es_nie",
            "ES_NIE",
            r"\b[XYZ]-?\d{7}-?[A-Z]\b",
            v.es_nie_check,
            classification="restricted",
            context=("nie", "extranjero"),
            max_length=11,
            located=True,
        ),
        d(
            "it_fiscal_code",
            "IT_FISCAL_CODE",
            r"(?i)\b[A-Z]{6}[0-9LMNPQRSTUV]{2}[ABCDEHLMPRST][0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{3}[A-Z]\b",
            v.it_fiscal_code,
            classification="restricted",
            context=("codice fiscale", "cf", "fiscale"),
            max_length=16,
            gated=False,  # half of Hyperscan's work; its RE2 pass costs a fifth of that
        ),
        d(
            "nl_bsn",
            "NL_BSN",
            r"\b\d{9}\b|\b\d{4}\.\d{2}\.\d{3}\b",
            v.nl_bsn_check,
            classification="restricted",
            context=("bsn", "burgerservicenummer", "sofinummer"),
            max_length=11,
            ceiling=v.at_most(0.3),
            located=True,
        ),
        d(
            "in_aadhaar",
            "IN_AADHAAR",
            r"\b[2-9]\d{3}[ \-]?\d{4}[ \-]?\d{4}\b",
            v.in_aadhaar_check,
            classification="restricted",
            context=("aadhaar", "aadhar", "uidai", "uid"),
            max_length=14,
            ceiling=v.at_most(0.45),
            located=True,
        ),
        d(
            "in_pan",
            "IN_PAN",
            r"\b[A-Z]{3}[ABCFGHLJPT][A-Z]\d{4}[A-Z]\b",
            v.in_pan_check,
            classification="restricted",
            context=("pan", "income tax", "permanent account"),
            max_length=10,
            located=True,
        ),
        # ------------------------------------------------------------ secrets
        d(
            "aws_access_key",
            "AWS_ACCESS_KEY",
            r"\b(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|ANPA|ANVA|APKA|AROA|ASCA)[A-Z2-7]{16}\b",
            v.token_body(2.5),
            classification="secret",
            max_length=20,
            located=True,
        ),
        d(
            "aws_secret_key",
            "AWS_SECRET_KEY",
            r"(?i)(?:aws_?secret_?(?:access_?)?key|secret_?access_?key|aws_?secret)[\"']?\s{0,4}"
            r"(?:[:=]|=>|:=)\s{0,4}[\"']?(?P<v>[A-Za-z0-9/+]{40})",
            v.aws_secret,
            classification="secret",
            max_length=100,
            located=True,
        ),
        d(
            "gcp_api_key",
            "GCP_API_KEY",
            r"\bAIza[0-9A-Za-z_\-]{35}",
            v.token_body(3.0),
            classification="secret",
            max_length=39,
            located=True,
        ),
        d(
            "private_key",
            "PRIVATE_KEY",
            # the body: base64, header lines (Proc-Type: 4,ENCRYPTED) and escaped newlines; a
            # dash only before a letter or digit, so the body stops at the END marker (a
            # second key after it is a match of its own)
            r"-----BEGIN[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----"
            r"(?:[A-Za-z0-9+/=:,\s]|-[A-Za-z0-9]|\\[nr])*"
            r"(?:-----END[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----)?",
            v.pem_private_key,
            classification="secret",
            max_length=64,
            prefix_closed=True,
            located=True,
            locator=r"-----BEGIN",
        ),
        d(
            "azure_storage_key",
            "AZURE_STORAGE_KEY",
            r"(?i)(?:AccountKey|SharedAccessKey|PrimaryKey|SecondaryKey)\s{0,2}=\s{0,2}"
            r"(?P<v>[A-Za-z0-9+/]{40,88}={0,2})",
            v.token_body(3.0),
            classification="secret",
            max_length=110,
            located=True,
            locator=r"(?i)(?:AccountKey|SharedAccessKey|PrimaryKey|SecondaryKey)",
        ),
        d(
            "azure_sas",
            "AZURE_SAS_TOKEN",
            r"[?&]sig=(?P<v>[A-Za-z0-9%+/]{30,120}(?:%3D|=){0,2})",
            v.token_body(3.0),
            classification="secret",
            max_length=130,
            located=True,
            locator=r"[?&]sig=",
        ),
        d(
            "github_token",
            "GITHUB_TOKEN",
            r"\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36,255}\b|\bgithub_pat_[A-Za-z0-9_]{22,255}\b",
            v.github_token,
            classification="secret",
            max_length=255,
            located=True,
            locator=r"\b(?:ghp|gho|ghu|ghs|ghr)_|\bgithub_pat_",
        ),
        d(
            "gitlab_token",
            "GITLAB_TOKEN",
            r"\b(?:glpat|gldt|glrt|glptt|glsoat)-[A-Za-z0-9_\-]{20,64}",
            v.token_body(3.0),
            classification="secret",
            max_length=72,
            located=True,
            locator=r"\b(?:glpat|gldt|glrt|glptt|glsoat)-",
        ),
        d(
            "slack_token",
            "SLACK_TOKEN",
            r"\bxox[abposre]-[A-Za-z0-9\-]{10,250}|https://hooks\.slack\.com/services/[A-Za-z0-9/]{20,120}",
            v.token_body(2.5),
            classification="secret",
            max_length=280,
            located=True,
            locator=r"\bxox[abposre]-|https://hooks\.slack\.com/services/",
        ),
        d(
            "stripe_key",
            "STRIPE_KEY",
            r"\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,247}\b|\bwhsec_[A-Za-z0-9]{24,64}\b",
            v.token_body(3.0),
            classification="secret",
            max_length=255,
            located=True,
            locator=r"\b(?:sk|rk|pk)_(?:live|test)_|\bwhsec_",
        ),
        d(
            "anthropic_key",
            "ANTHROPIC_API_KEY",
            r"\bsk-ant-(?:api|admin|oat|sid)\d{2}-[A-Za-z0-9_\-]{20,200}",
            v.token_body(3.0),
            score=0.99,
            classification="secret",
            max_length=220,
            located=True,
            locator=r"\bsk-ant-",
        ),
        d(
            "openai_key",
            "OPENAI_API_KEY",
            r"\bsk-(?:proj-|svcacct-|admin-|None-)?[A-Za-z0-9_\-]{20,200}",
            v.openai_key,
            classification="secret",
            max_length=220,
            located=True,
            locator=r"\bsk-",
        ),
        d(
            "jwt",
            "JWT",
            r"\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]*\.?[A-Za-z0-9_\-]*",
            v.jwt,
            classification="secret",
            max_length=24,
            prefix_closed=True,
            located=True,
            locator=r"\beyJ",
        ),
        d(
            "password",
            "PASSWORD",
            # with the names of environment variables and settings: DB_PASSWORD, CLIENT_SECRET
            r"(?i)\b(?:[a-z0-9]{1,20}_){0,3}(?:password|passwd|pwd|pass|secret)[\"']?\s{0,3}"
            r"(?:=|:|=>)\s{0,3}"
            r"(?P<v>\"[^\"\n]{1,128}\"|'[^'\n]{1,128}'|[^\s;,'\"&<>]{1,128})",
            v.password_value,
            classification="secret",
            context=("connection", "database", "server", "login", "user", "uid"),
            max_length=160,
            located=True,
            locator=r"(?i)\b(?:[a-z0-9]{1,20}_){0,3}(?:password|passwd|pwd|pass|secret)",
        ),
        d(
            "high_entropy",
            "HIGH_ENTROPY_SECRET",
            r"[A-Za-z0-9+/_\-]{20,}={0,2}",
            v.high_entropy,
            classification="secret",
            context=_SECRET_CTX,
            max_length=64,
            prefix_closed=True,
            keep=v.high_entropy_keep,
            spans=v.high_entropy_kept_spans,
        ),
    ]
