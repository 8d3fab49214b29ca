"""The engine's shortcuts give the results of validating every candidate of a whole-text
scan: runs (IPv6 and email windows), located detectors (RE2 only near the gate's reports),
the high-entropy spans without RE2, keep tests, score ceilings, the ungated pattern, the
generic-overlap filter; plus the exactness of the faster validators (phonenumbers' parse
and validity, Verhoeff, entropy, ...) and context check, and the GitHub token checksum."""

from __future__ import annotations

import binascii
import bisect
import contextlib
import math
import random
import string
from collections import Counter
from dataclasses import replace

import phonenumbers
import pytest
import re2
from benchmarks.guard_corpus import generate, sparse_text
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stdnum import iban as std_iban
from stdnum import luhn as std_luhn

from annexa.guard import Guard, parse_policy, resolve_overlaps
from annexa.guard import validators as v
from annexa.guard.engine import (
    _char_shifts,
    _Compiled,
    _context_near,
    _left_from,
    _match_lengths,
    _max_match_bytes,
    _right_from,
)
from annexa.guard.findings import make_finding

GUARD = Guard()


def _reference(guard: Guard) -> Guard:
    """The same guard with every shortcut off: each detector scans the whole text, every
    candidate is validated, nothing is skipped."""
    ref = Guard(guard.policy, warm=False)
    ref._compiled = _Compiled(
        [
            replace(
                det,
                runs=None,
                keep=None,
                keep_bytes=0,
                ceiling=None,
                gated=True,
                located=False,
                locator=None,
                spans=None,
            )
            for det in guard._compiled.detectors
        ]
    )
    return ref


REFERENCE = _reference(GUARD)
LOW = Guard(
    parse_policy(
        {
            "thresholds": {"PHONE_NUMBER": 0.25, "IN_AADHAAR": 0.4},
            "patterns": [  # custom patterns take the plain path
                {"name": "matter", "entity_type": "MATTER", "regex": r"\bMATTER-\d{6}\b"},
                {"name": "ticket", "entity_type": "TICKET", "regex": r"(?i)tkt_[a-z0-9]{8,}"},
            ],
        }
    )
)
LOW_REFERENCE = _reference(LOW)


def reference_findings(ref: Guard, text: str) -> list:
    """Validate every candidate of the whole-text scan, then resolve overlaps."""
    errors: list[str] = []
    candidates = ref._candidates(text, runs=False)
    findings = ref._validate(text, candidates, errors, set())
    assert not errors
    return resolve_overlaps(findings)


def assert_same_as_reference(text: str) -> None:
    for guard, ref in ((GUARD, REFERENCE), (LOW, LOW_REFERENCE)):
        result = guard.scan(text)
        assert result.status == "ok"
        assert result.findings == reference_findings(ref, text), text
        # the shortcuts only ever drop candidates, never add or move one
        fast = guard._candidates(text)
        full = ref._candidates(text, runs=False)
        assert set(fast) <= set(full)
        # located detectors and the high-entropy spans find every candidate RE2 finds (the
        # keep test may drop some)
        exact = {i for i, det in enumerate(guard.detectors) if det.located or det.spans}
        keeps = guard._compiled.keep
        assert [c for c in fast if c[0] in exact] == [
            c
            for c in full
            if c[0] in exact
            and (
                keeps[c[0]] is None
                or keeps[c[0]](text[c[1] : c[2]].encode("utf-8", "surrogatepass"))
            )
        ], text


def test_shortcuts_match_the_reference_on_the_corpus() -> None:
    for sample in generate(800, seed=23):
        assert_same_as_reference(sample.text)
    for seed in range(8):
        assert_same_as_reference(sparse_text(4096, seed)[0])


PIECES = [
    "+44 20 7946 0958",
    "(415) 555-2671",
    "4155552671",
    "8001111",
    "0044 20 7946 0958",
    "2341 2341 2346",
    "aadhaar ",
    "943 476 5919",
    "nhs ",
    "phone ",
    "2001:db8::1",
    "fe80::1%eth0",
    "1:2:3:4:5:6:7:8",
    "10:22:31",
    "std::vector",
    "jane.doe@example.com",
    "a@b.co",
    "@",
    "mailto:x@y.org",
    "https://u:p@h.io/x",
    "4539 1488 0343 6467",
    "536-22-1234",
    "ghp_aBcD1234eFgH5678iJkL9012mNoP3456qRsT",
    "aB3dEf6hIj9kLm2nOp5qRs8t",
    "RSSMRA85T10A562S",
    "card ",
    "MATTER-123456",
    "tkt_ab12CD34ef",
    "TKT_ſ12345678",
    "paſſword=",
    "Pa55word: ",
    "Account\u212aey=",
    "AccountKey=",
    "?sig=",
    "sk-proj-",
    "sk-ant-api03-",
    "eyJ",
    "-----BEGIN",
    "https://",
    "www.",
    "xoxb-",
    "glpat-",
    "ghp_",
    "sk_live_",
    "AKIA",
    "0x",
    "192.168.1.1",
    "DE89 3704 0044 0532 0130 00",
    "AB 12 34 56 C",
    "00:1A:2B:3C:4D:5E",
]
ALPHABET = "0123456789 .-()+:@%_abcdefxyzABCDEFKSXYZ\t\nſ\u212aé—😀"
TEXTS = st.lists(
    st.one_of(
        st.sampled_from(PIECES),
        st.text(alphabet=ALPHABET, max_size=14),
        st.from_regex(r"\+?[0-9]{1,5}([ .\-][0-9]{1,5}){0,5}", fullmatch=True),
        st.from_regex(r"([0-9a-fA-F]{0,4}:){1,8}[0-9a-f]{0,4}", fullmatch=True),
        st.from_regex(r"[A-Za-z0-9+/_\-]{16,40}", fullmatch=True),
    ),
    max_size=20,
).map("".join)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TEXTS)
def test_shortcuts_match_the_reference(text: str) -> None:
    assert_same_as_reference(text)


def test_keep_bytes_are_what_keep_rejects() -> None:
    # a candidate under keep_bytes is dropped unsliced: keep would reject it anyway
    rng = random.Random(5)
    for det in GUARD.detectors:
        if det.keep_bytes:
            assert det.keep is not None, det.name
            for _ in range(2000):
                size = rng.randrange(det.keep_bytes)
                value = bytes(rng.choice(b"0123456789 .-()+aZ") for _ in range(size))
                assert not det.keep(value), (det.name, value)


def test_ceilings_respect_lower_thresholds() -> None:
    # bare national numbers score 0.3 and Aadhaar 0.45 without context: reported only
    # where the policy's threshold allows, exactly as without the ceiling
    assert [f.text for f in LOW.scan("ref 4155552671 here")] == ["4155552671"]
    assert not GUARD.scan("ref 4155552671 here").findings
    assert [f.score for f in GUARD.scan("call 4155552671 here")] == [0.65]
    assert [f.entity_type for f in LOW.scan("id 2341 2341 2346 x")] == ["IN_AADHAAR"]
    assert not GUARD.scan("id 2341 2341 2346 x").findings


def test_context_tokens_are_whole_words() -> None:
    ctx = ("card", "e-mail", "social security")
    assert _context_near(ctx, "my card: 4111", 9, 13)
    assert _context_near(ctx, "(CARD)4111", 6, 10)
    assert not _context_near(ctx, "cardholder 4111", 11, 15)
    assert not _context_near(ctx, "my e-mail 4111", 10, 14)  # "-" splits it: never a token
    assert _context_near(ctx, "Social Security 123", 16, 19)


def test_context_check_matches_its_definition() -> None:
    # tokens: split on whitespace after mapping these separators to spaces
    separators = str.maketrans({ch: " " for ch in "\t\n\r.,;:!?()[]{}<>\"'`/\\|=+*&^%$@~-_"})

    def defined(context: tuple[str, ...], text: str, start: int, end: int) -> bool:
        joined = text[max(0, start - 48) : start].lower() + " | " + text[end : end + 16].lower()
        tokens = set(joined.translate(separators).split())
        return any((w in joined) if " " in w else (w in tokens) for w in context)

    rng = random.Random(4)
    contexts = [d.context for d in GUARD.detectors if d.context]
    contexts.append(("", "a b", "x\ty", "ſ", "k", "e-mail", "ss#"))
    alphabet = [*"ab cdp\t\n|.-_@#ſKİΣσ", "card", "phone", "SSN", "e-mail", "nhs", "\u2028", "\xa0"]
    for _ in range(20000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        start = rng.randint(0, len(text))
        end = rng.randint(start, len(text))
        context = rng.choice(contexts)
        assert _context_near(context, text, start, end) == defined(context, text, start, end)


def test_char_shifts_map_utf8_offsets() -> None:
    rng = random.Random(3)
    chars = ["a", " ", "é", "—", "😀", "ſ", "\u212a", "中", "\x7f", "\u07ff", "\u0800"]
    for _ in range(500):
        text = "".join(rng.choice(chars) for _ in range(rng.randint(0, 40)))
        positions, shifts = _char_shifts(text.encode())
        for i in range(len(text) + 1):
            offset = len(text[:i].encode())
            assert offset - shifts[bisect.bisect_left(positions, offset)] == i


# ------------------------------------------------------------------ faster validators


def test_iban_ok_agrees_with_stdnum() -> None:
    rng = random.Random(5)
    countries = ["GB", "DE", "FR", "NL", "BE", "ES", "NO", "ME", "IT", "XX", "QQ"]
    for _ in range(3000):
        cc = rng.choice(countries)
        body = "".join(rng.choice(string.digits + "ABCDEFGHIJ") for _ in range(rng.randint(8, 26)))
        if rng.random() < 0.7:
            body = "".join(rng.choice(string.digits) for _ in range(rng.randint(10, 24)))
        check = std_iban.calc_check_digits(cc + "00" + body) if rng.random() < 0.7 else "00"
        value = cc + check + body
        assert v.iban_ok(value) == std_iban.is_valid(value), value


def test_luhn_and_brand_agree_with_the_definitions() -> None:
    rng = random.Random(6)
    for _ in range(5000):
        number = "".join(rng.choice(string.digits) for _ in range(rng.randint(0, 20)))
        assert v.luhn_ok(number) == std_luhn.is_valid(number), number
    assert v.card_brand_ok("4539148803436467") and not v.card_brand_ok("9539148803436467")


def test_entropy_is_bit_identical() -> None:
    rng = random.Random(7)
    for _ in range(3000):
        value = "".join(
            rng.choice(string.ascii_letters[:12] + "0189+/=") for _ in range(rng.randint(1, 200))
        )
        counts, n = Counter(value), len(value)
        assert v.shannon_entropy(value) == -sum(c / n * math.log2(c / n) for c in counts.values())


def _phone_examples() -> list[phonenumbers.PhoneNumber]:
    types = [
        phonenumbers.PhoneNumberType.FIXED_LINE,
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.TOLL_FREE,
        phonenumbers.PhoneNumberType.PREMIUM_RATE,
        phonenumbers.PhoneNumberType.SHARED_COST,
        phonenumbers.PhoneNumberType.VOIP,
        phonenumbers.PhoneNumberType.PERSONAL_NUMBER,
        phonenumbers.PhoneNumberType.PAGER,
        phonenumbers.PhoneNumberType.UAN,
        phonenumbers.PhoneNumberType.VOICEMAIL,
    ]
    examples = [
        phonenumbers.example_number_for_type(region, kind)
        for region in sorted(phonenumbers.SUPPORTED_REGIONS)
        for kind in types
    ]
    examples += [
        phonenumbers.example_number_for_non_geo_entity(code)
        for code in sorted(phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS)
    ]
    return [e for e in examples if e is not None]


def _mutated(rng: random.Random, digits: str) -> str:
    out = list(digits)
    for _ in range(rng.randint(0, 3)):
        op = rng.random()
        if op < 0.5 and out:
            out[rng.randrange(len(out))] = rng.choice(string.digits)
        elif op < 0.75:
            out.insert(rng.randrange(len(out) + 1), rng.choice(string.digits))
        elif out:
            out.pop(rng.randrange(len(out)))
    return "".join(out)


def test_phone_validity_agrees_with_phonenumbers() -> None:
    # every example number of every type and region, mutated ones, and random ones parsed
    # with "+", as US and as GB numbers: the compiled test gives is_valid_number's answer
    rng = random.Random(8)
    codes = sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE)
    parsed_numbers = []
    for example in _phone_examples():
        parsed_numbers.append(example)
        nsn = phonenumbers.national_significant_number(example)
        for _ in range(3):
            text = f"+{example.country_code}{_mutated(rng, nsn)}"
            with contextlib.suppress(phonenumbers.NumberParseException):
                parsed_numbers.append(phonenumbers.parse(text, None))
    for _ in range(6000):
        code = rng.choice([*codes, 1, 1, 44, 44, 49, 39])
        digits = "".join(rng.choice(string.digits) for _ in range(rng.randint(2, 15)))
        for text, default in ((f"+{code}{digits}", None), (digits, "US"), (digits, "GB")):
            with contextlib.suppress(phonenumbers.NumberParseException):
                parsed_numbers.append(phonenumbers.parse(text, default))
    valid = 0
    for parsed in parsed_numbers:
        expected = phonenumbers.is_valid_number(parsed)
        assert v._is_valid_number(parsed) == expected, parsed
        valid += expected
    assert len(parsed_numbers) > 15000 and valid > 1500


def test_a_phone_validator_compiles_its_countries_validity_up_front(monkeypatch) -> None:
    # every region sharing a country code with the validator's regions, at every possible
    # length, is compiled when the validator is made: checking a number then compiles
    # nothing (a compile was ~1 ms, the slowest 1 % of dense prompts)
    monkeypatch.setattr(v, "_FULLMATCH", {})
    monkeypatch.setattr(v, "_VALIDITY", {})
    v.prepare_phone_metadata.cache_clear()  # (an earlier validator for these regions)
    validator = v.make_phone_validator(("CA", "NZ"))
    compiled = set(v._FULLMATCH)
    assert compiled
    rng = random.Random(3)
    checked = 0
    for code in (1, 64):
        for region in phonenumbers.COUNTRY_CODE_TO_REGION_CODE[code]:
            metadata = phonenumbers.PhoneMetadata.metadata_for_region(region, None)
            for length in metadata.general_desc.possible_length:
                digits = "".join(rng.choice(string.digits) for _ in range(length))
                parsed = phonenumbers.PhoneNumber(country_code=code, national_number=int(digits))
                v._is_valid_number(parsed)
                checked += 1
    text = "call +1 613 555 0123 or 09 555 0123"
    validator(text, 5, 20)
    validator(text, 24, len(text))
    assert checked > 25 and set(v._FULLMATCH) == compiled


def test_parse_international_agrees_with_phonenumbers() -> None:
    # what the phone pattern gives after "+" (digits with spaces, dots, dashes and
    # parentheses), and odd input that takes phonenumbers' own parse
    rng = random.Random(9)
    codes = sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE)
    examples = [
        f"{e.country_code}{phonenumbers.national_significant_number(e)}" for e in _phone_examples()
    ]
    parsed = 0
    for _ in range(20000):
        if rng.random() < 0.5:
            digits = _mutated(rng, rng.choice(examples))
        else:
            digits = "0" * (rng.random() < 0.1) + str(rng.choice([*codes, 1, 44, 0, 999]))
            digits += "".join(rng.choice(string.digits) for _ in range(rng.randint(0, 16)))
        number = "".join(
            ch + (rng.choice([" ", ".", "-", "(", ")", "  "]) if rng.random() < 0.25 else "")
            for ch in digits
        )
        if rng.random() < 0.1:
            number = "(" + number
        if rng.random() < 0.1:
            number += rng.choice([")", " ", "-", "x12", "é"])
        try:
            expected = phonenumbers.parse("+" + number, None)
        except phonenumbers.NumberParseException:
            expected = None
        assert v.parse_international(number) == expected, number
        parsed += expected is not None
    assert parsed > 10000


def _national_number(rng: random.Random, prefixes: list[str], prefix_rate: float, odd: bool) -> str:
    """3 to 17 digits, sometimes after a prefix (a national or international prefix, a
    country code), with separators between them; ``odd`` adds a bracket in front, or an
    extension, a letter or a "+1" at the end, now and then."""
    digits = "".join(rng.choice(string.digits) for _ in range(rng.randint(3, 17)))
    if rng.random() < prefix_rate:
        digits = rng.choice(prefixes) + digits
    number = "".join(
        ch + (rng.choice([" ", ".", "-", "(", ")", "  ", ") "]) if rng.random() < 0.25 else "")
        for ch in digits
    )
    if odd:
        if rng.random() < 0.15:
            number = "(" + number
        if rng.random() < 0.05:
            number += rng.choice([")", " ", "-", "x12", "é", "+1"])
    return number


def test_parse_national_agrees_with_phonenumbers() -> None:
    # what the phone pattern gives without "+", with national and international prefixes
    # and country codes in front, for the default regions and ones with Italian leading
    # zeros, national prefix rules or several regions per code, and odd input and regions
    # that take phonenumbers' own parse
    rng = random.Random(12)
    regions = ["US", "GB", "US", "GB", "DE", "IT", "CA", "AR", "MX", "BR", "IN", "JP"]
    regions += ["us", "XX", "001"]
    parsed = 0
    prefixes = ["0", "1", "44", "011", "00", "01", "440", "0044"]
    for _ in range(20000):
        number = _national_number(rng, prefixes, 0.2, odd=True)
        region = rng.choice(regions)
        try:
            expected = phonenumbers.parse(number, region)
        except phonenumbers.NumberParseException:
            expected = None
        got = v.parse_national(number, region)
        assert got == expected, (number, region)
        if expected is not None:
            assert v._is_valid_number(got) == phonenumbers.is_valid_number(expected)
        parsed += expected is not None
    assert parsed > 12000


def test_the_national_length_shortcut_never_drops_a_valid_number() -> None:
    """_may_be_valid_national answers False only where phonenumbers finds no valid number
    (same inputs as above, and the digit runs of dense text: fours, threes, dates)."""
    rng = random.Random(31)
    regions = ["US", "GB", "DE", "IT", "CA", "AR", "MX", "BR", "IN", "JP", "FR", "AU", "GG"]
    regions += ["us", "XX", "001"]
    pruned = valid = 0
    prefixes = ["0", "1", "44", "011", "00", "01", "440", "0044", "180020"]
    for _ in range(30000):
        # only what the phone pattern gives: digits and separators (no extension, no letters)
        number = _national_number(rng, prefixes, 0.3, odd=False)
        region = rng.choice(regions)
        try:
            parsed = phonenumbers.parse(number, region)
            is_valid = phonenumbers.is_valid_number(parsed)
        except phonenumbers.NumberParseException:
            is_valid = False
        allowed = v._may_be_valid_national(v.digits_of(number), region)
        assert allowed or not is_valid, (number, region)
        pruned += not allowed
        valid += is_valid
    assert valid > 1000 and pruned > 5000, (valid, pruned)


def test_ascii_digits() -> None:
    assert v.ascii_digits("+44 (20) 7946-0958") == 12
    assert v.ascii_digits("٣٤٥ 12é") == 2  # Arabic-Indic digits are not ASCII digits


def test_string_helpers_match_their_definitions() -> None:
    rng = random.Random(10)
    alphabet = "0123456789 -.()+abcXYZé—٣\ud800_:"
    for _ in range(20000):
        value = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 14)))
        assert v.digits_of(value) == "".join(ch for ch in value if ch in "0123456789")
        assert v._separators(value) == {ch for ch in value if not ch.isalnum()}
        assert v._shape(value) == "".join("#" if ch in "0123456789" else ch for ch in value)


def test_aadhaar_ok_agrees_with_stdnum() -> None:
    from stdnum import verhoeff
    from stdnum.in_ import aadhaar

    rng = random.Random(11)
    values = ["234554432", "234567765432", "2345 6776 5432", "2341 2341 2346", "1341 2341 2346"]
    for _ in range(20000):
        body = "".join(rng.choice(string.digits) for _ in range(rng.choice([10, 11, 11, 12])))
        number = body + (verhoeff.calc_check_digit(body) if rng.random() < 0.5 else "7")
        if rng.random() < 0.05:
            number = number[:6] + number[5::-1]  # a palindrome
        sep = rng.choice(["", " ", "-"])
        values.append(sep.join((number[:4], number[4:8], number[8:])))
    for value in values:
        assert v.aadhaar_ok(value) == aadhaar.is_valid(value), value


TOKENS = st.text(alphabet="aZ9+/_-=.= é\n", max_size=80) | st.from_regex(
    r"([aZ9+/_-]{18,24}[=. ]{0,3}){0,4}", fullmatch=True
)


@settings(max_examples=300, deadline=None)
@given(TOKENS)
def test_high_entropy_spans_are_re2_matches(text: str) -> None:
    data = text.encode()
    pattern = next(d.pattern for d in GUARD.detectors if d.name == "high_entropy")
    regex = re2.compile(pattern.encode())
    assert v.high_entropy_spans(data) == [m.span() for m in regex.finditer(data)]
    assert v.high_entropy_kept_spans(data) == [
        m.span() for m in regex.finditer(data) if v.high_entropy_keep(m.group())
    ]


def test_high_entropy_spans_on_the_corpus() -> None:
    pattern = next(d.pattern for d in GUARD.detectors if d.name == "high_entropy")
    regex = re2.compile(pattern.encode())
    texts = [s.text for s in generate(400, seed=12)] + ["a" * 19, "a" * 20 + "===", "x" * 40]
    texts += ["aB3" * 7, "aB3" * 7 + "=", "aB3" * 7 + ".", "x aB3" * 7 + " " + "aB3" * 7]
    # one digit: enough from 24 characters, the "=" padding not counted
    texts += ["9" + "Z" * 21 + "a=", "9" + "Z" * 22 + "a=", "9" + "Z" * 22 + "a"]
    for text in texts:
        data = text.encode()
        matches = list(regex.finditer(data))
        assert v.high_entropy_spans(data) == [m.span() for m in matches]
        kept = [m.span() for m in matches if v.high_entropy_keep(m.group())]
        assert v.high_entropy_kept_spans(data) == kept


def test_max_match_bytes() -> None:
    assert _max_match_bytes(r"\bM-\d{6}\b") == 8
    assert _max_match_bytes(r"[^a]{2}") == 8  # any character: up to 4 bytes
    assert _max_match_bytes(r"é{2}") == 4
    assert _max_match_bytes(r"(?i)ab") == 8  # RE2 folds k and s beyond ASCII
    assert _max_match_bytes(r"(?i:k)z") == 5
    assert _max_match_bytes(r"a|bcd") == 3
    # unbounded, possibly empty, or read differently by RE2 and Python's parser
    odd = (r"a+", r"a{2,}", r"a?", r"x{,3}", r"\p{Greek}", r"(a)\1", r"(?=a)b", r"[[:^alpha:]]")
    for pattern in odd:
        assert _max_match_bytes(pattern) is None, pattern


def test_match_lengths() -> None:
    assert _match_lengths(r"\bsk-") == (3,)
    assert _match_lengths(r"\b(?:ghp|gho)_|\bgithub_pat_") == (11, 4)
    assert _match_lengths(r"\b[A-Z]{4}(?:[A-Z0-9]{3})?\b") == (7, 4)
    assert _match_lengths(r"\d(?:[ \-]?\d){2}") is None  # three lengths
    # unbounded, possibly empty, possibly non-ASCII (a character's length is not known),
    # or read differently by RE2 and Python's parser
    odd = (r"a+", r"a?", r"x{,3}", r"é", r"[^a]", r".", r"\S", r"(?i)ab", r"(?i:k)", r"\p{L}")
    for pattern in odd:
        assert _match_lengths(pattern) is None, pattern


def test_located_detectors_are_bounded_and_their_locators_are_prefixes() -> None:
    compiled = GUARD._compiled
    hs = compiled.hs
    assert hs is not None
    # the gate also reports every end of the features of gated runs (phone)
    gated = {i for i, flag in enumerate(compiled.gated_runs) if flag}
    assert {GUARD.detectors[i].name for i in gated} == {"phone"}
    located = {det.name for i, det in enumerate(GUARD.detectors) if i in hs.located - gated}
    assert located == {det.name for det in GUARD.detectors if det.located}
    assert gated <= hs.located
    samples = [s.text for s in generate(600, seed=13)] + [sparse_text(4096, 3)[0]]
    samples += ["paſſword=Xy7!abcd", "secret_access_\u212aey = " + "Ab1/" * 10]
    for i in hs.located - gated:
        det = GUARD.detectors[i]
        regex = re2.compile(det.pattern.encode())
        locator = re2.compile((det.locator or det.pattern).encode())
        width, reach = compiled.width[i], compiled.reach[i]
        assert reach is not None and (width is not None or det.locator is not None)
        for text in samples:
            data = text.encode()
            for m in regex.finditer(data):
                if width is not None:
                    assert m.end() - m.start() <= width, (det.name, m.group())
                # the gate reports a locator match that starts where the match starts
                prefix = locator.match(data, m.start())
                assert prefix is not None and prefix.end() - m.start() <= reach, det.name
                lengths = compiled.lengths[i]
                assert lengths is None or prefix.end() - m.start() in lengths, det.name


# ------------------------------------------------------------------ GitHub tokens


def _github(prefix: str, body: str) -> str:
    crc = binascii.crc32(body.encode())
    digits = ""
    while crc:
        crc, d = divmod(crc, 62)
        digits = v._BASE62[d] + digits
    return prefix + body + digits.rjust(6, "0")


def test_github_checksum() -> None:
    # computed by hand with the published algorithm (CRC32 of the 30 characters after the
    # prefix, base62 0-9A-Za-z, six characters zero-padded)
    token = "ghp_Q2v7Lw9Kx1Rt5Yb3Nm8Pz4Hc6Jd0Fg" + "0qPXkN"  # a leading zero: padded
    assert token == _github("ghp_", "Q2v7Lw9Kx1Rt5Yb3Nm8Pz4Hc6Jd0Fg")
    assert v.github_checksum_ok(token)
    assert not v.github_checksum_ok(token[:-1] + ("n" if token[-1] != "n" else "m"))
    assert not v.github_checksum_ok("ghx_" + token[4:])  # not a checksummed kind
    assert not v.github_checksum_ok(token + "A")
    rng = random.Random(9)
    alphabet = string.ascii_letters + string.digits
    for prefix in ("ghp_", "gho_", "ghu_", "ghs_", "ghr_"):
        for _ in range(50):
            assert v.github_checksum_ok(_github(prefix, "".join(rng.choices(alphabet, k=30))))


@pytest.mark.parametrize(
    ("text", "score"),
    [
        ("token " + _github("ghp_", "Q2v7Lw9Kx1Rt5Yb3Nm8Pz4Hc6Jd0Fg") + " ok", 0.99),
        ("token ghp_aBcD1234eFgH5678iJkL9012mNoP3456qRsT ok", 0.8),  # checksum fails
        ("token ghs_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8S9t0" + " ok", 0.95),  # longer form
    ],
)
def test_github_token_scores(text: str, score: float) -> None:
    found = GUARD.scan(text).findings
    assert [(f.entity_type, f.score) for f in found] == [("GITHUB_TOKEN", score)]


def test_github_placeholder_is_not_a_token_even_with_a_checksum_shape() -> None:
    assert not GUARD.scan("token ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx ok").findings


def test_fast_findings_equal_dataclass_findings() -> None:
    from annexa.guard.findings import Finding, make_finding

    args = ("EMAIL_ADDRESS", 3, 9, 0.95, "a@b.co", "email", "personal")
    fast, slow = make_finding(*args), Finding(*args)
    assert fast == slow and hash(fast) == hash(slow) and repr(fast) == repr(slow)
    assert fast.to_dict() == slow.to_dict()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TEXTS)
def test_gated_runs_candidates_end_at_a_feature_end(text: str) -> None:
    _assert_kept_matches_end_at_a_feature(text)


def test_gated_runs_on_the_corpus() -> None:
    for sample in generate(600, seed=29):
        _assert_kept_matches_end_at_a_feature(sample.text)
    # the late pass with the kept spans: the findings of a scan are the reference's
    for seed in range(4):
        assert_same_as_reference("\n".join(s.text for s in generate(60, seed=100 + seed)))


def _assert_kept_matches_end_at_a_feature(text: str) -> None:
    """What the engine's gated runs rely on (see detectors.Runs.gated): every match the
    keep test accepts has a match of the feature ending where it ends, and consists of
    run bytes only; the candidates equal the kept matches of a whole-text scan."""
    import re

    compiled = GUARD._compiled
    data = text.encode("utf-8", "surrogatepass")
    for i, flag in enumerate(compiled.gated_runs):
        if not flag:
            continue
        det = compiled.detectors[i]
        tail = re.compile(b"(?:" + det.runs.feature.removesuffix(rb"\b") + rb")\Z")
        kept = []
        for m in compiled.regexes[i].finditer(data):
            value = m.group()
            if len(value) < det.keep_bytes or not det.keep(value):
                continue
            kept.append((m.start(), m.end()))
            assert tail.search(value), (det.name, value)
            assert all(compiled.runs[i].table[b] for b in value), (det.name, value)
            assert compiled.runs[i].table[value[0]] == 2, (det.name, value)
        data_ascii = text.isascii()
        found = [(s, e) for j, s, e, _ in GUARD._candidates(text) if j == i]
        if data_ascii:
            assert found == kept, text


def _resolve_globally(findings: list) -> list:
    """The rule, over the whole list at once: in rank order (specific before generic, higher
    score, longer, earlier), keep a finding unless it overlaps one kept already."""
    kept: list = []
    ranked = sorted(
        findings,
        key=lambda f: (
            f.detector in {"high_entropy", "url", "phone"},
            -f.score,
            f.start - f.end,
            f.start,
        ),
    )
    for f in ranked:
        if all(f.end <= k.start or k.end <= f.start for k in kept):
            kept.append(f)
    return sorted(kept, key=lambda f: f.start)


@settings(max_examples=400, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 120),
            st.integers(1, 25),
            st.sampled_from([0.3, 0.5, 0.75, 0.9, 1.0]),
            st.sampled_from(["phone", "url", "email", "credit_card", "high_entropy"]),
        ),
        max_size=40,
    )
)
def test_overlaps_resolve_cluster_by_cluster_as_over_the_whole_list(spans: list) -> None:
    findings = [
        make_finding("X", start, start + length, score, "x" * length, detector, "internal")
        for start, length, score, detector in spans
    ]
    assert resolve_overlaps(findings) == _resolve_globally(findings)


@settings(max_examples=500, deadline=None)
@given(
    st.lists(st.integers(0, 60), max_size=30).map(sorted),
    st.integers(-5, 65),
    st.integers(0, 30),
)
def test_a_bisect_from_a_finger_is_the_bisect(items: list[int], x: int, finger: int) -> None:
    finger = min(finger, len(items))
    assert _left_from(items, x, finger) == bisect.bisect_left(items, x)
    assert _right_from(items, x, finger) == bisect.bisect_right(items, x)
