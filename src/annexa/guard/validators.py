"""Checksums and plausibility checks that run only on pattern candidates.

Every validator takes the whole text and the candidate span and returns ``None`` to reject
the candidate, a score in ``[0, 1]`` to accept it, or ``(score, start, end)`` to accept a
trimmed span. Validators never see text outside the candidate except to look at its
immediate neighbours (boundaries), so they stay cheap.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import ipaddress
import math
import operator
import re
from collections import Counter
from collections.abc import Callable
from typing import Any, NamedTuple, cast

import orjson
import phonenumbers
from stdnum import iban as std_iban
from stdnum import luhn as std_luhn
from stdnum.de import idnr as de_idnr
from stdnum.es import dni as es_dni
from stdnum.es import nie as es_nie
from stdnum.fr import nir as fr_nir
from stdnum.in_ import aadhaar as in_aadhaar
from stdnum.in_ import pan as in_pan
from stdnum.it import codicefiscale as it_cf
from stdnum.nl import bsn as nl_bsn

Verdict = float | tuple[float, int, int] | None
Validator = Callable[[str, int, int], Verdict]

_WORD = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")
_DIGITS = frozenset("0123456789")
_B64 = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")


def _before(text: str, start: int) -> str:
    return text[start - 1] if start > 0 else ""


def _after(text: str, end: int) -> str:
    return text[end] if end < len(text) else ""


# how far context words count (characters before and after a value): the engine's context
# boost, and validators that look for a word naming the value (SWIFT, BIC)
CONTEXT_BEFORE = 48
CONTEXT_AFTER = 16

_DIGIT_BYTES = b"0123456789"
_NOT_DIGIT_BYTES = bytes(b for b in range(256) if b not in _DIGIT_BYTES)
_ALNUM_ASCII = bytes(b for b in range(128) if chr(b).isalnum())


def digits_of(value: str) -> str:
    """The ASCII digits of ``value``, in order (one C-speed pass over its UTF-8: the bytes of
    other characters, ASCII or not, are all dropped)."""
    return value.encode("utf-8", "surrogatepass").translate(None, _NOT_DIGIT_BYTES).decode()


def ascii_digits(value: str) -> int:
    """How many ASCII digits ``value`` has (a C-speed byte pass; ``str.translate`` looks
    every character up in a dict)."""
    data = value.encode("utf-8", "surrogatepass")
    return len(data) - len(data.translate(None, _DIGIT_BYTES))


def _separators(value: str) -> set[str]:
    """The distinct characters of ``value`` that are not alphanumeric."""
    if value.isascii():  # the same set from a C-speed pass
        return set(value.encode().translate(None, _ALNUM_ASCII).decode())
    return {ch for ch in value if not ch.isalnum()}


def _isolated_number(text: str, start: int, end: int) -> bool:
    """True unless the candidate is glued to more digits, dots or dashes (ids, versions)."""
    left, right = _before(text, start), _after(text, end)
    if left in _DIGITS or right in _DIGITS:
        return False
    if left in ".-/" and _before(text, start - 1) in _DIGITS:
        return False
    return not (right in ".-/" and _after(text, end + 1) in _DIGITS)


# ---------------------------------------------------------------- payment and banking


_CARD_PREFIXES: tuple[tuple[int, int, tuple[int, ...]], ...] = (
    # (low, high) on the first 6 digits, allowed lengths
    (400000, 499999, (13, 16, 19)),  # Visa
    (510000, 559999, (16,)),  # Mastercard
    (222100, 272099, (16,)),  # Mastercard 2-series
    (340000, 349999, (15,)),  # Amex
    (370000, 379999, (15,)),  # Amex
    (601100, 601199, (16, 17, 18, 19)),  # Discover
    (644000, 659999, (16, 17, 18, 19)),  # Discover
    (622126, 622925, (16, 17, 18, 19)),  # Discover / UnionPay co-brand
    (620000, 629999, (16, 17, 18, 19)),  # UnionPay
    (352800, 358999, (16, 17, 18, 19)),  # JCB
    (300000, 305999, (14, 16, 17, 18, 19)),  # Diners Club
    (360000, 369999, (14, 16, 17, 18, 19)),  # Diners Club
    (380000, 399999, (16, 17, 18, 19)),  # Diners Club
    (220000, 220499, (16, 17, 18, 19)),  # Mir
    (500000, 509999, (12, 13, 14, 15, 16, 17, 18, 19)),  # Maestro
    (560000, 589999, (12, 13, 14, 15, 16, 17, 18, 19)),  # Maestro
    (639000, 639999, (12, 13, 14, 15, 16, 17, 18, 19)),  # Maestro
    (670000, 679999, (12, 13, 14, 15, 16, 17, 18, 19)),  # Maestro
    (606100, 608999, (16,)),  # RuPay
    (650000, 659999, (16,)),  # RuPay
)


# the prefix ranges a number of each length may fall in
_CARD_RANGES = {
    length: tuple((lo, hi) for lo, hi, lengths in _CARD_PREFIXES if length in lengths)
    for length in range(1, 20)
}


def card_brand_ok(number: str) -> bool:
    head = int(number[:6])
    return any(lo <= head <= hi for lo, hi in _CARD_RANGES.get(len(number), ()))


_LUHN_DOUBLE = bytes.maketrans(b"0123456789", b"0246813579")  # digit sum of twice a digit


def luhn_ok(number: str) -> bool:
    if not (number.isascii() and number.isdigit()):
        return std_luhn.is_valid(number)
    # byte sums of ASCII digits: 48 per digit over the digit values
    data = number.encode()
    total = sum(data[-1::-2]) + sum(data[-2::-2].translate(_LUHN_DOUBLE)) - 48 * len(data)
    return total % 10 == 0


def _card_check(text: str, start: int, end: int, value: str) -> float | None:
    # the pattern's values are ASCII digits with spaces or dashes between them
    sep = " " if " " in value else ""
    if "-" in value:
        if sep:
            return None  # mixed separators
        sep = "-"
    if not _isolated_number(text, start, end):
        return None
    number = value.replace(sep, "") if sep else value
    if not 13 <= len(number) <= 19 or not card_brand_ok(number) or not luhn_ok(number):
        return None
    if number.count(number[0]) == len(number):
        return None  # one repeated digit
    if sep:
        groups = [len(g) for g in value.split(sep)]
        if len(groups) < 3 or any(g < 4 for g in groups[:-1]):
            return None
    return 0.85


def credit_card(text: str, start: int, end: int) -> Verdict:
    value = text[start:end]
    verdict = _card_check(text, start, end, value)
    if verdict is not None or " " not in value:
        return verdict
    # The pattern may have swallowed a neighbouring number across a space ("card 4111...1111
    # 12:05:33" in a log, "2 4111 1111 ..." in a table): drop one group at either end.
    groups = value.split(" ")
    first, last = len(groups[0]) + 1, len(groups[-1]) + 1
    for lo, hi in ((0, last), (first, 0), (first, last)):
        if lo + hi >= len(value):
            continue
        sub = value[lo : len(value) - hi]
        verdict = _card_check(text, start + lo, start + lo + len(sub), sub)
        if verdict is not None:
            return (verdict, start + lo, start + lo + len(sub))
    return None


# A=10 .. Z=35, every other ASCII character to itself (a miss would cost a KeyError)
_BASE36 = {i: i for i in range(128)} | {65 + i: str(10 + i) for i in range(26)}
_IBAN_COUNTRIES: dict[str, tuple[re.Pattern[str] | None, bool]] = {}


def _iban_country(cc: str) -> tuple[re.Pattern[str] | None, bool]:
    """python-stdnum's BBAN structure for a country code (``None``: not an IBAN country)
    and whether it has a country-specific IBAN check as well."""
    entry = _IBAN_COUNTRIES.get(cc)
    if entry is None:
        props = std_iban._ibandb.info(cc)[0][1]
        structure = std_iban._struct_to_re(props.get("bban", "")) if props else None
        entry = (structure, std_iban._get_cc_module(cc) is not None)
        if len(_IBAN_COUNTRIES) < 1024:  # only valid codes recur; bound the junk
            _IBAN_COUNTRIES[cc] = entry
    return entry


def iban_ok(compact: str) -> bool:
    """``stdnum.iban.is_valid`` for the pattern's values (upper-case letters and digits)
    without its per-call database lookup: mod 97 of the rearranged number, then the
    country's BBAN structure; the few countries with an extra check go through stdnum."""
    try:
        structure, country_check = _iban_country(compact[:2])
    except Exception:  # a python-stdnum without these internals: ask it directly
        return std_iban.is_valid(compact)
    if structure is None or not (compact.isascii() and compact.isalnum()):
        return structure is not None and std_iban.is_valid(compact)
    if int((compact[4:] + compact[:4]).upper().translate(_BASE36)) % 97 != 1:
        return False
    if not structure.match(compact[4:]):
        return False
    return std_iban.is_valid(compact) if country_check else True


def iban(text: str, start: int, end: int) -> Verdict:
    value = text[start:end]
    compact = value.replace(" ", "")
    if not iban_ok(compact):
        # A spaced IBAN may have been followed by a word the pattern swallowed.
        parts = value.split(" ")
        while len(parts) > 2:
            parts.pop()
            candidate = " ".join(parts)
            if iban_ok(candidate.replace(" ", "")):
                return (0.9, start, start + len(candidate))
        return None
    return 0.9


_ISO_COUNTRIES = frozenset(
    [
        "AD",
        "AE",
        "AF",
        "AG",
        "AI",
        "AL",
        "AM",
        "AO",
        "AQ",
        "AR",
        "AS",
        "AT",
        "AU",
        "AW",
        "AX",
        "AZ",
        "BA",
        "BB",
        "BD",
        "BE",
        "BF",
        "BG",
        "BH",
        "BI",
        "BJ",
        "BL",
        "BM",
        "BN",
        "BO",
        "BQ",
        "BR",
        "BS",
        "BT",
        "BV",
        "BW",
        "BY",
        "BZ",
        "CA",
        "CC",
        "CD",
        "CF",
        "CG",
        "CH",
        "CI",
        "CK",
        "CL",
        "CM",
        "CN",
        "CO",
        "CR",
        "CU",
        "CV",
        "CW",
        "CX",
        "CY",
        "CZ",
        "DE",
        "DJ",
        "DK",
        "DM",
        "DO",
        "DZ",
        "EC",
        "EE",
        "EG",
        "EH",
        "ER",
        "ES",
        "ET",
        "FI",
        "FJ",
        "FK",
        "FM",
        "FO",
        "FR",
        "GA",
        "GB",
        "GD",
        "GE",
        "GF",
        "GG",
        "GH",
        "GI",
        "GL",
        "GM",
        "GN",
        "GP",
        "GQ",
        "GR",
        "GS",
        "GT",
        "GU",
        "GW",
        "GY",
        "HK",
        "HM",
        "HN",
        "HR",
        "HT",
        "HU",
        "ID",
        "IE",
        "IL",
        "IM",
        "IN",
        "IO",
        "IQ",
        "IR",
        "IS",
        "IT",
        "JE",
        "JM",
        "JO",
        "JP",
        "KE",
        "KG",
        "KH",
        "KI",
        "KM",
        "KN",
        "KP",
        "KR",
        "KW",
        "KY",
        "KZ",
        "LA",
        "LB",
        "LC",
        "LI",
        "LK",
        "LR",
        "LS",
        "LT",
        "LU",
        "LV",
        "LY",
        "MA",
        "MC",
        "MD",
        "ME",
        "MF",
        "MG",
        "MH",
        "MK",
        "ML",
        "MM",
        "MN",
        "MO",
        "MP",
        "MQ",
        "MR",
        "MS",
        "MT",
        "MU",
        "MV",
        "MW",
        "MX",
        "MY",
        "MZ",
        "NA",
        "NC",
        "NE",
        "NF",
        "NG",
        "NI",
        "NL",
        "NO",
        "NP",
        "NR",
        "NU",
        "NZ",
        "OM",
        "PA",
        "PE",
        "PF",
        "PG",
        "PH",
        "PK",
        "PL",
        "PM",
        "PN",
        "PR",
        "PS",
        "PT",
        "PW",
        "PY",
        "QA",
        "RE",
        "RO",
        "RS",
        "RU",
        "RW",
        "SA",
        "SB",
        "SC",
        "SD",
        "SE",
        "SG",
        "SH",
        "SI",
        "SJ",
        "SK",
        "SL",
        "SM",
        "SN",
        "SO",
        "SR",
        "SS",
        "ST",
        "SV",
        "SX",
        "SY",
        "SZ",
        "TC",
        "TD",
        "TF",
        "TG",
        "TH",
        "TJ",
        "TK",
        "TL",
        "TM",
        "TN",
        "TO",
        "TR",
        "TT",
        "TV",
        "TW",
        "TZ",
        "UA",
        "UG",
        "UM",
        "US",
        "UY",
        "UZ",
        "VA",
        "VC",
        "VE",
        "VG",
        "VI",
        "VN",
        "VU",
        "WF",
        "WS",
        "YE",
        "YT",
        "ZA",
        "ZM",
        "ZW",
        "XK",
    ]
)


_SWIFT_NAMED = re.compile(r"(?i)\b(?:swift|bic)\b")


def swift(text: str, start: int, end: int) -> Verdict:
    value = text[start:end]
    if value[4:6] not in _ISO_COUNTRIES or value[6:8] in ("00",):
        return None
    # All-letter 8/11 character words are common in upper-case prose and tables (BUSINESS,
    # DATABASE, CUSTOMER: a bank's country code in letters 5-6), near "bank" or "wire" too. A
    # digit in the location or branch code is a strong signal; without one the text must
    # name the code (SWIFT, BIC) just before it on its line, and the context boost then
    # lifts the score.
    if any(ch in _DIGITS for ch in value[6:]):
        return 0.6
    line_start = text.rfind("\n", max(0, start - CONTEXT_BEFORE), start) + 1
    if not _SWIFT_NAMED.search(text, max(line_start, start - CONTEXT_BEFORE), start):
        return None
    return 0.35


# ---------------------------------------------------------------- crypto wallets

_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX = {ch: i for i, ch in enumerate(_B58)}


_B58_PAIRS = {a + b: i * 58 + j for i, a in enumerate(_B58) for j, b in enumerate(_B58)}


def base58check_ok(value: str) -> bool:
    num = 0
    head = len(value) % 2
    if head:
        idx = _B58_INDEX.get(value[0])
        if idx is None:
            return False
        num = idx
    pairs = _B58_PAIRS
    for i in range(head, len(value), 2):  # two characters (58 ** 2) per step
        idx = pairs.get(value[i : i + 2])
        if idx is None:
            return False
        num = num * 3364 + idx
    raw = num.to_bytes((num.bit_length() + 7) // 8, "big")
    pad = len(value) - len(value.lstrip("1"))
    raw = b"\x00" * pad + raw
    if len(raw) < 5:
        return False
    body, check = raw[:-4], raw[-4:]
    return hashlib.sha256(hashlib.sha256(body).digest()).digest()[:4] == check


_BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


def _bech32_polymod(values: list[int]) -> int:
    gen = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
    chk = 1
    for v in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ v
        for i in range(5):
            chk ^= gen[i] if ((top >> i) & 1) else 0
    return chk


def bech32_ok(value: str) -> bool:
    value = value.lower()
    pos = value.rfind("1")
    if pos < 1 or pos + 7 > len(value):
        return False
    hrp, data = value[:pos], value[pos + 1 :]
    try:
        decoded = [_BECH32.index(ch) for ch in data]
    except ValueError:
        return False
    expanded = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]
    return _bech32_polymod(expanded + decoded) in (1, 0x2BC830A3)  # bech32, bech32m


def btc_address(text: str, start: int, end: int) -> Verdict:
    value = text[start:end]
    if value[:3].lower() in ("bc1", "tb1"):
        return 0.95 if bech32_ok(value) else None
    return 0.95 if base58check_ok(value) else None


def eth_address(text: str, start: int, end: int) -> Verdict:
    body = text[start + 2 : end]
    if len(set(body.lower())) < 6:
        return None
    return 0.8


# ---------------------------------------------------------------- network


def ipv4(text: str, start: int, end: int) -> Verdict:
    value = text[start:end]
    left, right = _before(text, start), _after(text, end)
    if left == "." or (right == "." and _after(text, end + 1) in _DIGITS):
        return None
    if left in ("v", "V") or right in _WORD:
        return None
    lead = text[max(0, start - 12) : start].lower()
    if any(word in lead for word in ("version", "release", "build", "ver ", "firmware")):
        return None
    # the pattern gives four groups of 1-3 ASCII digits: an address unless an octet is
    # over 255 or has a leading zero (which ipaddress refuses as ambiguous, and we too)
    for part in value.split("."):
        if (len(part) > 1 and part[0] == "0") or int(part) > 255:
            return None
    if value in ("0.0.0.0", "255.255.255.255"):  # noqa: S104 - not binding, just scoring
        return 0.5
    return 0.85


def ipv6(text: str, start: int, end: int) -> Verdict:
    value = text[start:end]
    left, right = _before(text, start), _after(text, end)
    if left in _WORD or left == ":" or right in _WORD:
        return None
    colons = value.count(":")
    if colons < 2 or (colons < 6 and "::" not in value):
        return None  # times ("10:22:31"), C++ scopes: without "::" an address has 6+ colons
    try:
        ipaddress.IPv6Address(value.split("%")[0])
    except ValueError:
        return None
    # "::" alone, or things such as "a::b" inside C++ code, need real hex groups
    groups = [g for g in value.split(":") if g]
    if len(groups) < 2 and "::" in value and len(value) < 5:
        return None
    return 0.85


def mac(text: str, start: int, end: int) -> Verdict:
    value = text[start:end]
    seps = _separators(value)
    if len(seps) != 1:
        return None
    if len(set(value.lower()) - seps) < 3:
        return None
    if seps == {":"} and all(ch in _DIGITS or ch == ":" for ch in value):
        return 0.45  # could be a time-like sequence; context decides
    return 0.8


def url(text: str, start: int, end: int) -> Verdict:
    value = text[start:end]
    trimmed = value.rstrip(".,;:!?)]}'\"*>")
    if value.count("(") > value.count(")") and trimmed != value and value.endswith(")"):
        trimmed = trimmed + ")"
    host = trimmed.split("//", 1)[-1]
    if (len(trimmed) < 10 or "." not in host) and not host.startswith("localhost"):
        return None
    return (0.6, start, start + len(trimmed))


def url_credentials(text: str, start: int, end: int) -> Verdict:
    value = text[start:end]
    user, _, password = value.partition(":")
    if not password or not user:
        return None
    if password.startswith("//"):
        return None
    return 0.95


def email(text: str, start: int, end: int) -> Verdict:
    value = text[start:end]
    local, _, domain = value.rpartition("@")
    if ".." in value or local.endswith(".") or local.startswith("."):
        return None
    if _before(text, start) in ("@",) or _after(text, end) == "@":
        return None
    head = text[max(0, start - 300) : start].rsplit(None, 1)  # the last word before it
    if head and "://" in head[-1] and "/" not in head[-1].split("://", 1)[1]:
        return None  # user-info of a URL (scheme://user:pass@host), not a mailbox
    tld = domain.rsplit(".", 1)[-1]
    if not tld.isalpha() or tld.lower() in ("png", "jpg", "jpeg", "gif", "svg", "webp"):
        return None
    return 0.95


# ---------------------------------------------------------------- phone numbers

_DATE_SHAPES = ("####-##-##", "##-##-####", "##.##.####", "####.##.##", "##/##/####")


_SHAPE = bytes(ord("#") if chr(b) in "0123456789" else b for b in range(256))


def _shape(value: str) -> str:
    """``value`` with each ASCII digit as "#"."""
    return value.encode("utf-8", "surrogatepass").translate(_SHAPE).decode("utf-8", "surrogatepass")


_PHONE_CACHE_MAX = 16384


def make_phone_validator(regions: tuple[str, ...]) -> Validator:
    # phonenumbers costs ~100 us a number; its verdict depends on the value alone, so it is
    # cached per distinct string (numbers recur in documents, logs and conversations).
    cache: dict[str, float | None] = {}
    prepare_phone_metadata(regions)

    def parse_verdict(value: str) -> float | None:
        if value in cache:
            return cache[value]
        if len(cache) >= _PHONE_CACHE_MAX:
            cache.clear()
        verdict = _phone_verdict(value, regions)
        cache[value] = verdict
        return verdict

    def check(text: str, start: int, end: int, value: str) -> float | None:
        digits = ascii_digits(value)
        if not 7 <= digits <= 15:
            return None
        if (_after(text, end) in "-/.:" and _after(text, end + 1).isdigit()) or (
            len(value) == 10 and _shape(value) in _DATE_SHAPES
        ):
            return None  # a date, or glued to a time / version / range ("10:22:31")
        return parse_verdict(value)

    def phone(text: str, start: int, end: int) -> Verdict:
        value = text[start:end]
        # The pattern takes any run of three or more digits; fewer than seven digits can
        # never pass (backing off below only shortens the value), so leave at once.
        if ascii_digits(value) < 7:
            return None
        left = _before(text, start)  # "" at the start of the text (and "" is in every str)
        glued_left = left != "+" and left != "" and (left in _WORD or left in "+-./")
        if glued_left or (_after(text, end) in _WORD and left != "+"):
            return None
        verdict = check(text, start, end, value)
        if verdict is not None:
            return verdict
        # Back off over trailing space-separated groups: a number followed by a count or by
        # the next log line's time ("+44 20 7946 0018 14:02:11") is still a phone number.
        cut = value.rfind(" ")
        while cut > 0:
            value = value[:cut].rstrip(" ")
            if value.endswith(("-", ".", "(")):
                break
            verdict = check(text, start, start + len(value), value)
            if verdict is not None:
                return (verdict, start, start + len(value))
            cut = value.rfind(" ")
        return None

    return phone


def phone_keep(value: bytes) -> bool:
    """Under 7 digits the phone validator rejects a candidate (backing off only shortens).
    ``value`` is the candidate's UTF-8 (its characters are ASCII: one byte each)."""
    return len(value) >= 7 and len(value) - len(value.translate(None, _DIGIT_BYTES)) >= 7


def phone_ceiling(text: str, start: int, end: int) -> float | None:
    """A national number written as bare digits scores at most 0.3 (and is never trimmed)."""
    value = text[start:end]
    if value.isdigit() and value.isascii() and not value.startswith("00"):
        return 0.3
    return None


def at_most(score: float) -> Validator:
    """A ceiling for validators that never give more than ``score`` (nor trim)."""

    def ceiling(text: str, start: int, end: int) -> float:
        return score

    return ceiling


# Compiled metadata patterns: phonenumbers otherwise goes through re.compile's cache for
# each of them on every call (the module's own cache, where it has one).
if hasattr(phonenumbers, "enable_pattern_cache"):
    phonenumbers.enable_pattern_cache()

_VALIDITY: dict[int, Callable[[str], bool]] = {}


def _is_valid_number(parsed: phonenumbers.PhoneNumber) -> bool:
    """``phonenumbers.is_valid_number(parsed)``, from the same metadata compiled once per
    country code: the region is chosen as phonenumbers chooses it (the only region of the
    code, else the first whose leading digits match or, without those, whose number
    types know the number), and the number's type is known when its national significant
    number fits the general description and one of the type descriptions; here those are
    one pattern per region and number length (``tests/test_guard_fast.py`` checks the
    two agree)."""
    code = cast(int, parsed.country_code)  # parse() always sets it
    test = _VALIDITY.get(code)
    if test is None:
        test = _validity_test(code)
        if len(_VALIDITY) < 1024:  # parse() only returns real country codes
            _VALIDITY[code] = test
    return test(phonenumbers.national_significant_number(parsed))


def _never(number: str) -> bool:
    return False


_FULLMATCH: dict[str, Callable] = {}  # metadata pattern -> its compiled fullmatch


def _fullmatch(pattern: str) -> Callable:
    """The compiled ``fullmatch`` of a metadata pattern, compiled once (the metadata is
    finite; ``re``'s own cache holds 512 patterns and would recompile past that)."""
    found = _FULLMATCH.get(pattern)
    if found is None:
        found = _FULLMATCH[pattern] = re.compile(pattern).fullmatch
    return found


def _known_type_test(metadata: phonenumbers.PhoneMetadata) -> Callable[[str], bool]:
    """Whether phonenumbers' ``_number_type_helper`` gives a type other than UNKNOWN: the
    number fits the general description and one of the type descriptions (each with its
    possible lengths, then its pattern), for each length the descriptions it may fit."""
    by_length: dict[int, tuple[Callable, Callable] | None] = {}

    def known(number: str) -> bool:
        length = len(number)
        if length in by_length:
            entry = by_length[length]
        else:
            entry = by_length[length] = _length_tests(metadata, length)
        return entry is not None and entry[0](number) is not None and entry[1](number) is not None

    return known


def _type_descs(metadata: phonenumbers.PhoneMetadata) -> list[phonenumbers.PhoneNumberDesc | None]:
    """The type descriptions ``_number_type_helper`` tries, in its order."""
    types = [
        metadata.premium_rate,
        metadata.toll_free,
        metadata.shared_cost,
        metadata.voip,
        metadata.personal_number,
        metadata.pager,
        metadata.uan,
        metadata.voicemail,
        metadata.fixed_line,
    ]
    if not metadata.same_mobile_and_fixed_line_pattern:
        types.append(metadata.mobile)
    return types


def _applies(desc: phonenumbers.PhoneNumberDesc | None, length: int) -> bool:
    # phonenumbers' _is_number_matching_desc before its pattern match
    if desc is None or not desc.national_number_pattern:
        return False
    return not desc.possible_length or length in desc.possible_length


def _length_tests(
    metadata: phonenumbers.PhoneMetadata, length: int
) -> tuple[Callable, Callable] | None:
    """The general description's fullmatch and one fullmatch for every type description a
    number of ``length`` digits may fit (``None``: it fits none)."""
    general = metadata.general_desc
    kinds = [
        cast(phonenumbers.PhoneNumberDesc, d).national_number_pattern
        for d in _type_descs(metadata)
        if _applies(d, length)
    ]
    if general is None or not _applies(general, length) or not kinds:
        return None
    # one alternation: it fullmatches where one of the descriptions does, in one call
    # (the metadata patterns have no groups to refer to or flags to leak)
    either = "|".join(f"(?:{kind})" for kind in kinds)
    return _fullmatch(cast(str, general.national_number_pattern)), _fullmatch(either)


@functools.lru_cache(maxsize=64)  # per regions: later Guards skip the walk (~80 us)
def prepare_phone_metadata(regions: tuple[str, ...]) -> None:
    """Compile now the validity patterns of every region sharing a country code with
    ``regions``, for each of its possible lengths: compiling one costs ~1 ms, and left to
    the first number of that length it made the slowest 1 % of dense prompts 10x slower
    than the rest. (National numbers are read under these regions; "+" numbers of other
    countries still compile on first sight.) Once per process: the compiled patterns are
    shared by every Guard."""
    for region in regions:
        metadata = phonenumbers.PhoneMetadata.metadata_for_region(region.upper(), None)
        if metadata is None:
            continue
        code = cast(int, metadata.country_code)
        for other in phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(code, ()):
            other_metadata = phonenumbers.PhoneMetadata.metadata_for_region(other, None)
            if other_metadata is None or other_metadata.general_desc is None:
                continue
            for length in other_metadata.general_desc.possible_length or ():
                _length_tests(other_metadata, length)


def _validity_test(country_code: int) -> Callable[[str], bool]:
    """``is_valid_number`` for the national significant numbers of one country code."""
    regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(country_code)
    if not regions:
        return _never
    metadata_for_region = phonenumbers.PhoneMetadata.metadata_for_region

    def valid_for_region(region: str) -> Callable[[str], bool]:  # is_valid_number_for_region
        if region == phonenumbers.REGION_CODE_FOR_NON_GEO_ENTITY:
            metadata = phonenumbers.PhoneMetadata.metadata_for_nongeo_region(country_code, None)
        else:
            metadata = metadata_for_region(region.upper(), None)
            if metadata is not None and metadata.country_code != country_code:
                return _never
        return _never if metadata is None else _known_type_test(metadata)

    if len(regions) == 1:
        return valid_for_region(regions[0])
    # region_code_for_number: the first region whose leading digits match, or (without
    # leading digits) whose number types know the number; each region's metadata is
    # loaded when the search first reaches it (+1 has 25), as phonenumbers does
    unset = object()
    entries: list = [unset] * len(regions)

    def region_entry(region: str) -> tuple | None:  # type: ignore[type-arg]
        metadata = metadata_for_region(region.upper(), None)
        if metadata is None:
            return None
        known = _known_type_test(metadata)
        # is_valid_number_for_region of a geographic region: the same metadata
        final = known if metadata.country_code == country_code else _never
        if metadata.leading_digits is not None:
            return (re.compile(metadata.leading_digits).match, None, final)
        return (None, known, final)

    def valid(number: str) -> bool:
        for k, entry in enumerate(entries):
            if entry is unset:
                entry = entries[k] = region_entry(regions[k])
            if entry is None:
                continue
            leading, known, final = entry
            if leading is not None:
                if leading(number):
                    return final(number)
            elif known(number):
                return final is known or final(number)  # (known twice: the same answer)
        return False  # no region: is_valid_number_for_region(number, None)

    return valid


class _ParseBackEnd(NamedTuple):
    """The phonenumbers internals that ``parse`` runs once it has a number's digits."""

    min_nsn: int
    max_nsn: int
    extract_country_code: Callable
    strip_national_prefix: Callable
    test_length: Callable
    not_possible: tuple
    set_leading_zeros: Callable
    region_for_code: Callable
    metadata_for: Callable


def _parse_back_end() -> _ParseBackEnd | None:
    """phonenumbers' internals for the fast parsers, or ``None`` (another phonenumbers:
    then ``parse`` itself runs)."""
    try:
        util = phonenumbers.phonenumberutil
        result = util.ValidationResult
        return _ParseBackEnd(
            util._MIN_LENGTH_FOR_NSN,
            util._MAX_LENGTH_FOR_NSN,
            util._extract_country_code,
            util._maybe_strip_national_prefix_carrier_code,
            util._test_number_length,
            (result.TOO_SHORT, result.IS_POSSIBLE_LOCAL_ONLY, result.INVALID_LENGTH),
            util._set_italian_leading_zeros_for_phone_number,
            util.region_code_for_country_code,
            phonenumbers.PhoneMetadata.metadata_for_region_or_calling_code,
        )
    except AttributeError:  # pragma: no cover - depends on the phonenumbers release
        return None


_PARSE_BACK_END = _parse_back_end()
_PHONE_CHARS = b"0123456789 .-()"


def parse_international(number: str) -> phonenumbers.PhoneNumber | None:
    """``phonenumbers.parse("+" + number, None)``, ``None`` where it raises.

    For what the phone pattern gives after its "+" (ASCII digits, spaces, dots, dashes and
    parentheses, ending on a digit, at least 3 digits) ``parse`` finds no extension, keeps
    the number viable and normalises it to its digits: this starts from the digits and
    runs the rest of ``parse`` (country code, national prefix, length checks, Italian
    leading zeros) through phonenumbers' own functions. Other input goes to ``parse``
    (``tests/test_guard_fast.py`` checks the two agree)."""
    back_end = _PARSE_BACK_END
    if back_end is None or not _plain_phone_input(number):
        return _parse_or_none("+" + number)
    digits = digits_of(number)
    if len(digits) < 3:
        return _parse_or_none("+" + number)
    min_nsn = back_end.min_nsn
    if len(digits) <= min_nsn:
        return None  # too short after the "+"
    country_code, national = back_end.extract_country_code(digits)
    if country_code == 0:
        return None  # no country code
    metadata = back_end.metadata_for(country_code, back_end.region_for_code(country_code))
    if metadata is None or len(national) < min_nsn:
        return _parse_or_none("+" + number)  # let phonenumbers decide (or raise)
    return _national_number(back_end, country_code, national, metadata)


def _national_number(
    back_end: _ParseBackEnd, country_code: int, national: str, metadata: phonenumbers.PhoneMetadata
) -> phonenumbers.PhoneNumber | None:
    """The end of ``parse`` once the country is known: the national prefix stripped where
    the rest stays a possible length, the length checked, Italian leading zeros kept."""
    _, stripped, _ = back_end.strip_national_prefix(national, metadata)
    if back_end.test_length(stripped, metadata) not in back_end.not_possible:
        national = stripped
    if not back_end.min_nsn <= len(national) <= back_end.max_nsn:
        return None
    parsed = phonenumbers.PhoneNumber(country_code=country_code)
    back_end.set_leading_zeros(national, parsed)
    parsed.national_number = int(national)
    return parsed


def _plain_phone_input(number: str) -> bool:
    """What the phone pattern gives (after any "+"): ASCII digits, spaces, dots, dashes
    and parentheses, ending on a digit; the input the fast parsers handle themselves."""
    return (
        number.isascii()
        and number[-1:].isdigit()
        and not number.encode().translate(None, _PHONE_CHARS)
    )


def _parse_or_none(number: str, region: str | None = None) -> phonenumbers.PhoneNumber | None:
    try:
        return phonenumbers.parse(number, region)
    except phonenumbers.NumberParseException:
        return None


def _national_front_end() -> tuple | None:  # type: ignore[type-arg]
    """What :func:`parse_national` needs of phonenumbers beyond ``_PARSE_BACK_END``."""
    try:
        util: Any = phonenumbers.phonenumberutil  # re_compile is not in its stubs
        return (util.SUPPORTED_REGIONS, util.re_compile, util.PhoneMetadata.metadata_for_region)
    except AttributeError:  # pragma: no cover - depends on the phonenumbers release
        return None


_NATIONAL_FRONT_END = _national_front_end()


def parse_national(number: str, region: str) -> phonenumbers.PhoneNumber | None:
    """``phonenumbers.parse(number, region)``, ``None`` where it raises.

    For what the phone pattern gives without "+" (ASCII digits, spaces, dots, dashes and
    parentheses, ending on a digit, at least 3 digits) ``parse`` drops what comes before
    the first digit, finds the number viable and without an extension, and normalises it
    to its digits (its ``normalize_digits_only`` loop was a third of its cost). Where the
    digits start with neither the region's international prefix nor its country code,
    nothing more is extracted from them: this starts from the digits and runs the rest
    of ``parse`` (national prefix, length checks, Italian leading zeros) through
    phonenumbers' own functions. Other input goes to ``parse`` (``tests/test_guard_fast.py``
    checks the two agree)."""
    back_end, front_end = _PARSE_BACK_END, _NATIONAL_FRONT_END
    if back_end is None or front_end is None or not _plain_phone_input(number):
        return _parse_or_none(number, region)
    supported, re_compile, metadata_for_region = front_end
    digits = digits_of(number)
    # parse raises for a region it does not support (it takes the code as given)
    metadata = metadata_for_region(region, None) if region in supported else None
    if (
        len(digits) < 3
        or metadata is None
        or digits.startswith(str(metadata.country_code))
        or re_compile(metadata.international_prefix or "NonMatch").match(digits)
    ):
        return _parse_or_none(number, region)
    return _national_number(back_end, metadata.country_code, digits, metadata)


class _NationalLengths(NamedTuple):
    """What bounds the length of a valid number written without "+" for one region."""

    lengths: frozenset[int]  # the possible lengths of a valid national significant number
    prefixes: tuple[str, ...]  # the national prefixes parse may take off
    country_code: str  # which parse may take off too, before the national prefix
    idd: Callable[[str], object]  # the international prefix: then any country's number
    strippable: tuple[str, ...]  # the country code and the national prefixes


@functools.lru_cache(maxsize=512)
def _national_lengths(region: str) -> _NationalLengths | None:
    """Where it can be told from the metadata, the bounds :func:`_may_be_valid_national`
    checks; ``None`` (no shortcut) for a region whose national prefix is not a choice of
    digit strings, that rewrites what it strips, or one of whose country's regions has no
    possible lengths."""
    if region not in phonenumbers.SUPPORTED_REGIONS:
        return None
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region, None)
    if metadata is None or metadata.national_prefix_transform_rule:
        return None
    prefix = metadata.national_prefix_for_parsing
    if prefix and not re.fullmatch(r"\d+(?:\|\d+)*", prefix):
        return None
    lengths: set[int] = set()
    for other in phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(cast(int, metadata.country_code), ()):
        other_metadata = phonenumbers.PhoneMetadata.metadata_for_region(other, None)
        general = other_metadata.general_desc if other_metadata else None
        possible = general.possible_length if general else None
        if not possible:
            return None
        lengths.update(possible)
    prefixes = tuple(prefix.split("|")) if prefix else ()
    idd = re.compile(metadata.international_prefix or "NonMatch").match
    country_code = str(metadata.country_code)
    strippable = tuple(p for p in (country_code, *prefixes) if p)
    return _NationalLengths(frozenset(lengths), prefixes, country_code, idd, strippable)


def _may_be_valid_national(digits: str, region: str) -> bool:
    """False only where no number parsed from ``digits`` (the digits of a value without "+")
    under ``region`` can be valid: the national significant number is what is left once
    parse has taken off the country code and the national prefix, if it did, and a valid
    one has a possible length of one of the country's regions. Digits that start with the
    international prefix may be any country's number: True. A shortcut past
    :func:`parse_national` for the digit runs that no reading makes a number (twelve digits
    in fours, eight in two fours); ``tests/test_guard_fast.py`` checks it never drops a
    valid one."""
    bounds = _national_lengths(region)
    if bounds is None or bounds.idd(digits):
        return True
    if not digits.startswith(bounds.strippable):  # most digits: parse takes nothing off
        return len(digits) in bounds.lengths
    readings = {digits}
    if digits.startswith(bounds.country_code):
        readings.add(digits[len(bounds.country_code) :])
    # parse takes the national prefix off once; after the country code, the check that
    # decides to keep it off has already taken it off once (1 1 1 414 473 2085 under US)
    for _ in range(2):
        readings |= {
            reading[len(prefix) :]
            for reading in readings
            for prefix in bounds.prefixes
            if prefix and reading.startswith(prefix)
        }
    return any(len(reading) in bounds.lengths for reading in readings)


def _phone_verdict(value: str, regions: tuple[str, ...]) -> float | None:
    if value.startswith("+") or value.startswith("00"):
        parsed = parse_international(value.lstrip("+")[2 if value.startswith("00") else 0 :])
        if parsed is None:
            return None
        if _is_valid_number(parsed):
            return 0.75
        # A possible length under a real country code, written with "+": a phone number
        # outside the current numbering plan (or an overseas range); context decides.
        return 0.4 if phonenumbers.is_possible_number(parsed) else None
    groups = value.replace("(", " ").replace(")", " ").replace("-", " ").replace(".", " ").split()
    if len(groups) > 1 and len(groups[-1]) < 3:
        return None  # 4-4-2 references and the like are not national phone formats
    seps = _separators(value) - {"+", "(", ")"}
    digits = digits_of(value)
    for region in regions:
        if not _may_be_valid_national(digits, region):
            continue
        parsed = parse_national(value, region)
        if parsed is None:
            continue
        if _is_valid_number(parsed):
            if "(" in value or len(seps - {"("}) >= 1:
                return 0.55
            return 0.3
    return None


# ---------------------------------------------------------------- national ids


def us_ssn(text: str, start: int, end: int) -> Verdict:
    value = text[start:end]
    seps = _separators(value)
    if len(seps) > 1 or not _isolated_number(text, start, end):
        return None
    if seps and (value[3] != value[6]):
        return None
    digits = digits_of(value)
    area, group, serial = int(digits[:3]), int(digits[3:5]), int(digits[5:])
    if area == 0 or area == 666 or area >= 900 or group == 0 or serial == 0:
        return None
    if digits in ("078051120", "219099999", "123456789") or len(set(digits)) == 1:
        return None
    return 0.6 if seps else 0.25


_NINO_BAD_PREFIX = frozenset({"BG", "GB", "NK", "KN", "TN", "NT", "ZZ"})


def uk_nino(text: str, start: int, end: int) -> Verdict:
    value = text[start:end].replace(" ", "").upper()
    if value[:2] in _NINO_BAD_PREFIX or value[0] in "DFIQUV" or value[1] in "DFIOQUV":
        return None
    return 0.7


def uk_nhs(text: str, start: int, end: int) -> Verdict:
    value = text[start:end]
    if len(_separators(value)) > 1 or not _isolated_number(text, start, end):
        return None
    digits = digits_of(value)
    if len(digits) != 10 or len(set(digits)) == 1:
        return None
    # sum of digit * weight (10 down to 2) from the ASCII codes: 48 * (10 + ... + 2) = 2592
    total = sum(map(operator.mul, digits[:9].encode(), range(10, 1, -1))) - 2592
    check = 11 - total % 11
    if check == 11:
        check = 0
    if check == 10 or check != int(digits[9]):
        return None
    return 0.4


def _stdnum(module, score: float, numeric: bool = True) -> Validator:  # type: ignore[no-untyped-def]
    def validate(text: str, start: int, end: int) -> Verdict:
        if numeric and not _isolated_number(text, start, end):
            return None
        value = text[start:end]
        if numeric and len(set(digits_of(value))) <= 2:
            return None
        try:
            return score if module.is_valid(value) else None
        except Exception:  # stdnum raises on odd input; a failed check is a rejection
            return None

    return validate


de_tax_id = _stdnum(de_idnr, 0.4)
fr_nir_check = _stdnum(fr_nir, 0.75)
es_dni_check = _stdnum(es_dni, 0.7, numeric=False)
es_nie_check = _stdnum(es_nie, 0.75, numeric=False)
it_fiscal_code = _stdnum(it_cf, 0.9, numeric=False)
nl_bsn_check = _stdnum(nl_bsn, 0.3)
in_pan_check = _stdnum(in_pan, 0.7, numeric=False)


def _in_grouped_run(text: str, start: int, end: int) -> bool:
    """True when a space or dash and a further four-digit group continue the number."""
    after = text[end : end + 6]
    if len(after) >= 5 and after[0] in " -" and after[1:5].isdigit():
        return len(after) == 5 or not after[5].isdigit()
    before = text[max(0, start - 6) : start]
    if len(before) >= 5 and before[-1] in " -" and before[-5:-1].isdigit():
        return len(before) == 5 or not before[0].isdigit()
    return False


def in_aadhaar_check(text: str, start: int, end: int) -> Verdict:
    """Verhoeff checksum (python-stdnum); a tenth of random 12-digit numbers pass it, so
    a context word ("Aadhaar", "UIDAI", "UID") must lift the score over the threshold."""
    if not _isolated_number(text, start, end) or _in_grouped_run(text, start, end):
        return None
    value = text[start:end]
    try:
        if not aadhaar_ok(value):
            return None
    except Exception:
        return None
    return 0.45 if " " in value or "-" in value else 0.3


def _verhoeff_steps() -> list[list[list[int]]]:
    """python-stdnum's Verhoeff tables folded into one: [position % 8][check][digit]."""
    from stdnum import verhoeff

    mul, perm = verhoeff._multiplication_table, verhoeff._permutation_table
    return [[[mul[c][perm[i][d]] for d in range(10)] for c in range(10)] for i in range(8)]


try:
    _VERHOEFF: list[list[list[int]]] | None = _verhoeff_steps()
except Exception:  # a python-stdnum without these internals: ask it directly
    _VERHOEFF = None


def aadhaar_ok(value: str) -> bool:
    """``stdnum.in_.aadhaar.is_valid`` for the pattern's values (ASCII digits, spaces and
    dashes): 12 digits not starting with 0 or 1, not a palindrome, Verhoeff checksum 0;
    anything else goes to python-stdnum."""
    number = value.replace(" ", "").replace("-", "")
    if (
        _VERHOEFF is None
        or len(number) != 12
        or not (number.isascii() and number.isdigit())
        or number[0] in "01"
    ):
        return in_aadhaar.is_valid(value)
    if number == number[::-1]:
        return False
    steps = _VERHOEFF
    check = 0
    for i, byte in enumerate(number[::-1].encode()):
        check = steps[i & 7][check][byte - 48]
    return check == 0


# ---------------------------------------------------------------- secrets


_ENTROPY_TERMS: dict[int, list[float]] = {}


def shannon_entropy(value: str) -> float:
    n = len(value)
    # the same terms, in the same (first occurrence) order, as summing over
    # Counter(value).values(): the result is identical to the last bit
    if n > 128:
        return -sum(c / n * math.log2(c / n) for c in Counter(value).values())
    terms = _ENTROPY_TERMS.get(n)
    if terms is None:
        terms = [0.0] + [c / n * math.log2(c / n) for c in range(1, n + 1)]
        _ENTROPY_TERMS[n] = terms
    return -sum(map(terms.__getitem__, Counter(value).values()))


_HEX = b"0123456789abcdefABCDEF-"
# seven or more lower-case letters in a row, a third of them or more vowels as in English
# words: a word inside an identifier (uploadsbucket2024Prod7Region, getUserInformation2x);
# random tokens have such runs too (one in twenty of 32 characters), mostly with fewer vowels
_LOWER_RUN = re.compile(r"[a-z]{7,}")
_VOWELS = frozenset("aeiou")


# three capitalised words of five letters or more: a CamelCase name (HTTPRequestHandler-
# Factory2Impl); a random token of 32 characters has that one time in a hundred and fifty
_CAMEL_WORD = re.compile(r"[A-Z][a-z]{4,}")


def _wordlike_run(value: str) -> bool:
    if len(_CAMEL_WORD.findall(value)) >= 3:
        return True
    # twelve lower-case letters in a row (an alphabet in code, a long name): a random token
    # of 64 characters has that one time in ten thousand
    return any(
        len(run) >= 12 or 3 * sum(ch in _VOWELS for ch in run) >= len(run)
        for run in _LOWER_RUN.findall(value)
    )


def _looks_random(value: str, min_classes: int = 2) -> bool:
    if value.isascii():  # the same test without a Python loop over the characters
        classes = (value.lower() != value) + (value.upper() != value) + (ascii_digits(value) > 0)
        return classes >= min_classes
    classes = sum(
        (
            any(ch.isupper() for ch in value),
            any(ch.islower() for ch in value),
            any(ch.isdigit() for ch in value),
        )
    )
    return classes >= min_classes


def token_body(min_entropy: float = 3.0) -> Validator:
    """Vendor-prefixed tokens: accept when the random part does not look like a placeholder."""

    def validate(text: str, start: int, end: int) -> Verdict:
        value = text[start:end]
        if _after(text, end) in _WORD:
            return None
        tail = value[-20:]
        if shannon_entropy(tail) < min_entropy * 0.8 or "xxxx" in value.lower():
            return None
        return 0.95

    return validate


_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_GITHUB_CHECKSUMMED = ("ghp_", "gho_", "ghu_", "ghs_", "ghr_")
_github_body = token_body(3.0)


def github_checksum_ok(token: str) -> bool:
    """GitHub's token format (2021): after ``ghp_`` / ``gho_`` / ``ghu_`` / ``ghs_`` /
    ``ghr_``, 30 random base62 characters and then their CRC32 in base62 (0-9, A-Z, a-z),
    six characters, zero-padded."""
    if len(token) != 40 or not token.startswith(_GITHUB_CHECKSUMMED) or not token.isascii():
        return False
    crc = binascii.crc32(token[4:34].encode())
    check = []
    for _ in range(6):
        crc, digit = divmod(crc, 62)
        check.append(_BASE62[digit])
    return "".join(reversed(check)) == token[34:]


def github_token(text: str, start: int, end: int) -> Verdict:
    """A token whose checksum holds is GitHub's for certain (0.99). A 40-character token of
    a checksummed kind whose checksum fails is most likely an example, a fake or a mistyped
    one: still reported (0.8) if it looks random, as are other forms (0.95)."""
    verdict = _github_body(text, start, end)
    value = text[start:end]
    if len(value) != 40 or not value.startswith(_GITHUB_CHECKSUMMED):
        return verdict  # github_pat_ tokens and longer forms have no checksum to check
    if github_checksum_ok(value):
        return 0.99 if _after(text, end) not in _WORD else None
    return None if verdict is None else 0.8


def openai_key(text: str, start: int, end: int) -> Verdict:
    value = text[start:end]
    if _after(text, end) in _WORD or _before(text, start) in _WORD:
        return None
    if value.startswith("sk-ant-"):
        return None  # Anthropic's format; its own detector reports it
    body = value[3:]
    if not _looks_random(body, 3) or shannon_entropy(body) < 3.5:
        return None
    return 0.95


def aws_secret(text: str, start: int, end: int) -> Verdict:
    value = text[start:end]
    if _after(text, end) in _B64 or _after(text, end) == "=":
        return None
    if not _looks_random(value, 3) or shannon_entropy(value) < 4.0:
        return None
    return 0.9


def jwt(text: str, start: int, end: int) -> Verdict:
    value = text[start:end]
    header = value.split(".", 1)[0]
    try:
        decoded = base64.urlsafe_b64decode(header + "=" * (-len(header) % 4))
        data = orjson.loads(decoded)
    except (binascii.Error, ValueError, orjson.JSONDecodeError):
        return None
    if not isinstance(data, dict) or not ("alg" in data or "typ" in data):
        return None
    return 0.95


def pem_private_key(text: str, start: int, end: int) -> Verdict:
    value = text[start:end]
    trimmed = value.rstrip(" \t\r\n\\nr")
    # keep a literal "\n" escape inside JSON strings from being eaten partially
    while trimmed.endswith("\\"):
        trimmed = trimmed[:-1]
    return (0.99, start, start + len(trimmed))


_PLACEHOLDER_WORDS = frozenset(
    {
        "password",
        "changeme",
        "secret",
        "xxxxxx",
        "******",
        "<password>",
        "none",
        "null",
        "true",
        "false",
        "required",
        "optional",
        "example",
        "your_password",
        "yourpassword",
        "hunter2",
    }
)


# a template or variable standing in for the value: ${DB_PASSWORD}, $PASSWORD, {{ pw }},
# {password}, %(password)s, %s, %DB_PASSWORD%, <password>
_PLACEHOLDER_VALUE = re.compile(
    r"\$\{[^}]*\}|\$[A-Za-z_]\w*|\{\{?[^{}]*\}\}?|%\(\w+\)[sd]|%[sd]|%[A-Za-z_]\w*%|<[^<>]*>"
)


# an unquoted value that is code, not a literal: a call or subscript (form.get(, Annotated[),
# an attribute (visitor.secret, body.client_secret), a constant (TOKEN_PREFIX), markdown
_CODE_VALUE = re.compile(
    r"[^()\[\]`]*[()\[\]`].*|[a-z_][a-z0-9_]*(?:\.[a-z_][a-z0-9_]*)+|[A-Z][A-Z0-9]*_[A-Z0-9_]+",
    re.DOTALL,
)


def password_value(text: str, start: int, end: int) -> Verdict:
    raw = text[start:end]
    value = raw.strip("'\"")
    if (
        len(value) < 6
        or value.lower() in _PLACEHOLDER_WORDS
        or _PLACEHOLDER_VALUE.fullmatch(value)
        or (raw == value and _CODE_VALUE.fullmatch(value))
    ):
        return None
    if value.isalpha() and value.islower():
        return 0.35  # a word after "password:" in prose; context may lift it
    return 0.8


def high_entropy_keep(value: bytes) -> bool:
    """The high-entropy validator wants upper and lower case letters and the digits
    :func:`_digits_needed` asks for. ``value`` is the candidate's UTF-8."""
    if not value.isascii():  # not from the (ASCII) pattern: leave it to the validator
        return True
    return (
        value.lower() != value
        and value.upper() != value
        and len(value) - len(value.translate(None, _DIGIT_BYTES))
        >= _digits_needed(len(value.rstrip(b"=")))
    )


def _digits_needed(length: int) -> int:
    """Digits a high-entropy candidate needs: two, or one from 24 characters (the "=" padding
    not counted), where a random token has few digits one time in twenty-five and an
    identifier's words show as lower-case runs."""
    return 1 if length >= 24 else 2


_TOKEN_RUN = bytes(
    ord("c")
    if chr(b) in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/_-"
    else ord(".")
    for b in range(256)
)
# The last 20 bytes of a run of 20 or more and the byte after it: ``bytes.find`` skips 21
# bytes wherever the window ends inside a run ("c" * 20 walked the text byte by byte).
_TOKEN_RUN_END = b"c" * 20 + b"."


def high_entropy_spans(data: bytes, keep: bool = False) -> list[tuple[int, int]]:
    r"""The matches of ``[A-Za-z0-9+/_\-]{20,}={0,2}`` (the high-entropy pattern) that RE2
    finds in ``data`` from its start, without RE2: its first class cannot hold "=" and the
    match is greedy with no choice to make, so each is a maximal run of that class of 20
    or more bytes (found with ``bytes.find`` on a translated copy), and up to two "="
    after it; the scan goes on after them. With ``keep``, only those that
    :func:`high_entropy_keep` accepts (the same test, without a call per span)."""
    mask = data.translate(_TOKEN_RUN)
    find = mask.find
    rfind = mask.rfind
    size = len(data)
    out: list[tuple[int, int]] = []
    append = out.append
    found = find(_TOKEN_RUN_END)
    while True:
        if found >= 0:
            end = found + 20
            start = rfind(b".", 0, found) + 1
            found = find(_TOKEN_RUN_END, end + 1)
        else:  # a run that reaches the end of the text, if any
            start = rfind(b".") + 1
            end = size
            if end - start < 20:
                break
        if keep:
            value = data[start:end]  # ASCII; the "=" after it changes nothing here
            if (
                value.lower() == value
                or value.upper() == value
                or len(value.translate(None, _DIGIT_BYTES))
                > end - start - _digits_needed(end - start)
            ):
                if end == size:
                    break
                continue
        if end == size:
            append((start, end))
            break
        if data[end] == 0x3D:  # "="
            end += 2 if data[end + 1 : end + 2] == b"=" else 1
        append((start, end))
    return out


def high_entropy_kept_spans(data: bytes) -> list[tuple[int, int]]:
    """:func:`high_entropy_spans` that :func:`high_entropy_keep` accepts."""
    return high_entropy_spans(data, True)


def high_entropy(text: str, start: int, end: int) -> Verdict:
    value = text[start:end]
    n = len(value)
    if n > 512 or _before(text, start) in _WORD or _after(text, end) in _WORD:
        return None
    if not value.encode("utf-8", "surrogatepass").translate(None, _HEX):
        return None  # hex digests, UUIDs: common in code and logs
    if text.endswith("base64,", 0, start):
        return None  # a data URI's payload: an inline image or file, not a credential
    if not _looks_random(value, 3):
        return None
    if value.isascii():  # the pattern is ASCII; the loops below are the general case
        if ascii_digits(value) < _digits_needed(len(value.rstrip("="))):
            return None
        if _wordlike_run(value):
            return None  # camelCase or snake_case identifiers: words in lower case
    else:
        if sum(ch.isdigit() for ch in value) < 2:
            return None
        runs = longest = 0
        for ch in value:
            runs = runs + 1 if ch.islower() else 0
            longest = max(longest, runs)
        if longest >= 7:
            return None
    if value.count("/") >= 2 and not value.endswith("=") and shannon_entropy(value) < 4.6:
        return None  # paths such as a/b/c: require clearly random segments
    threshold = 0.82 * math.log2(min(n, 64))
    if shannon_entropy(value) < threshold:
        return None
    return 0.6
