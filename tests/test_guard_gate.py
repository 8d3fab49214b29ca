"""The Hyperscan gate never misses a detector RE2 would match (fail closed), falls back to
the re2.Set where it must, and reads an engine error as "not scanned"; plus regression
tests for the card, phone and Aadhaar rules."""

from __future__ import annotations

import threading

import pytest
import re2
from benchmarks.guard_corpus import generate, sparse_text
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from annexa.guard import Guard, ScanError, parse_policy
from annexa.guard import engine as guard_engine
from annexa.guard.engine import _hs_pattern

hyperscan = pytest.importorskip("hyperscan")

GUARD = Guard()


def re2_truth(guard: Guard, data: bytes) -> set[int]:
    """The detectors whose RE2 pattern matches somewhere, pattern by pattern (for gated
    runs, whose feature the gate matches instead: the feature; see
    test_gated_runs_candidates_end_at_a_feature_end)."""
    compiled = guard._compiled
    return {
        i
        for i, regex in enumerate(compiled.regexes)
        if (
            re2.compile(compiled.detectors[i].runs.feature) if compiled.gated_runs[i] else regex
        ).search(data)
    }


def gate(guard: Guard, data: bytes) -> set[int]:
    assert guard._compiled.hs is not None
    return set(guard._compiled.hs.match(data))


def assert_no_missed_detector(guard: Guard, text: str) -> None:
    data = text.encode("utf-8")
    missed = re2_truth(guard, data) - gate(guard, data)
    names = sorted(guard._compiled.detectors[i].name for i in missed)
    assert not missed, f"gate missed {names} in {text!r}"


def test_hyperscan_gate_is_used_for_every_builtin_detector() -> None:
    hs = GUARD._compiled.hs
    assert hs is not None and hs.db is not None
    assert hs.residual_ids == []
    # kept out of the database on purpose (slow there, quick in RE2 or its runs) and
    # always reported
    names = [GUARD._compiled.detectors[i].name for i in hs.ungated]
    assert names == ["email", "it_fiscal_code"]
    assert set(hs.ungated) <= set(hs.match(b"no fiscal code here"))


def test_gate_never_misses_a_detector_on_the_corpus() -> None:
    samples = generate(1500, seed=11)
    # one text per sample, and the samples concatenated (matches across sample borders)
    for sample in samples:
        assert_no_missed_detector(GUARD, sample.text)
    for k in range(0, len(samples), 50):
        assert_no_missed_detector(GUARD, "\n".join(s.text for s in samples[k : k + 50]))
    for seed in range(40):
        assert_no_missed_detector(GUARD, sparse_text(4096, seed)[0])


SNIPPETS = [
    "ghp_",
    "github_pat_",
    "glpat-",
    "xoxb-",
    "sk-",
    "sk-ant-api03-",
    "sk_live_",
    "whsec_",
    "AKIA",
    "AIza",
    "eyJ",
    "0x",
    "bc1",
    "://",
    "https://",
    "www.",
    "@",
    "password",
    "Password=",
    "secret_access_key",
    "AccountKey=",
    "?sig=",
    "-----BEGIN PRIVATE KEY-----",
    "-----END PRIVATE KEY-----",
    "hooks.slack.com/services/",
    "+44 ",
    "(415) ",
    "::",
    "GB82 WEST ",
    "DEUTDEFF",
    "\\n",
]
ALPHABET = (
    "0123456789abcdefxyzABCDEFKSXYZ \t\n\v\f\r.-_:/+=@%&?'\"`<>;,()[]{}|\\ſ\u212aéÅ😀\u00a0\u2028"
)
TEXTS = st.lists(
    st.one_of(
        st.sampled_from(SNIPPETS),
        st.text(alphabet=ALPHABET, max_size=12),
        st.from_regex(r"[0-9]{1,5}([ .\-][0-9]{2,5}){0,4}", fullmatch=True),
        st.from_regex(r"[A-Za-z0-9+/_\-]{16,48}", fullmatch=True),
    ),
    max_size=24,
).map("".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TEXTS)
def test_gate_never_reports_fewer_detectors_than_re2(text: str) -> None:
    assert_no_missed_detector(GUARD, text)


def test_gate_translation_keeps_re2_semantics() -> None:
    # RE2's \s has no \v; Hyperscan's has, so [^\s] would have been narrower
    assert _hs_pattern(r"a\sb[^\s<>]") == r"a[\t\n\f\r\x20]b[^\t\n\f\r\x20<>]"
    assert _hs_pattern(r"(?P<v>x{1,128})") == "(x{1,})"
    assert _hs_pattern(r"x{2,5}\d{3}") == r"x{2,5}\d{3}"
    assert _hs_pattern(r"[]a]\s") == r"[]a][\t\n\f\r\x20]"
    assert _hs_pattern(r"a\Sb") is None  # \S is wider in RE2: keep it there
    assert _hs_pattern("café") is None
    for text in ("x\vy", "password=\v\v\vsecret1", "https://\v\vexample"):
        assert_no_missed_detector(GUARD, text)


def test_unicode_case_folding_is_not_missed() -> None:
    # RE2 folds "ſ" to "s" and the Kelvin sign to "k" under (?i)
    for text in ("paſſword=Xy7!abcd", "secret_access_\u212aey = " + "Ab1/" * 10):
        assert_no_missed_detector(GUARD, text)


def test_custom_patterns_hyperscan_cannot_take_stay_on_re2() -> None:
    policy = parse_policy(
        {
            "patterns": [
                {"name": "matter", "entity_type": "MATTER", "regex": r"\bM-\d{6}\b"},
                {"name": "greek", "entity_type": "GREEK", "regex": r"\p{Greek}{4}"},
                {"name": "nonspace", "entity_type": "TICKET", "regex": r"TKT:\S{5}"},
            ]
        }
    )
    g = Guard(policy)
    hs = g._compiled.hs
    assert hs is not None
    residual = {g._compiled.detectors[i].name for i in hs.residual_ids}
    assert residual == {"greek", "nonspace"}
    found = {(f.entity_type, f.text) for f in g.scan("M-123456 αβγδ TKT:ab\vcd ok")}
    assert {("MATTER", "M-123456"), ("GREEK", "αβγδ"), ("TICKET", "TKT:ab\vcd")} <= found


def test_lone_surrogates_use_the_re2_set() -> None:
    text = "\ud800 mail jane@example.com \udfff"
    result = GUARD.scan(text)
    assert result.status == "ok"
    assert [(f.entity_type, f.text) for f in result] == [("EMAIL_ADDRESS", "jane@example.com")]


def test_without_hyperscan_the_re2_set_gives_the_same_findings() -> None:
    g = Guard()
    g._compiled.hs = None
    for sample in generate(300, seed=5):
        assert g.scan(sample.text).findings == GUARD.scan(sample.text).findings


def test_hyperscan_error_means_not_scanned(monkeypatch: pytest.MonkeyPatch) -> None:
    g = Guard()

    class BrokenDb:
        def scan(self, *args: object, **kwargs: object) -> None:
            raise hyperscan.error("scratch in use")

    monkeypatch.setattr(g._compiled.hs, "db", BrokenDb())
    result = g.scan("nothing here")
    assert result.status == "error" and not result.clean
    assert "hyperscan" in result.errors[0]
    with pytest.raises(ScanError):
        g.redact("nothing here")


def test_re2_set_error_means_not_scanned() -> None:
    g = Guard()

    class Broken:
        def Match(self, data: bytes) -> list[int]:
            raise MemoryError("DFA out of memory")

    g._compiled.set = Broken()
    g._compiled.hs = None
    assert g.scan("nothing here").status == "error"
    with pytest.raises(ScanError):
        g.redact("nothing here")


def test_threads_share_the_database_with_their_own_scratch() -> None:
    samples = [s.text for s in generate(200, seed=3)]
    expected = [GUARD.scan(t).findings for t in samples]
    failures: list[str] = []

    def work() -> None:
        for text, want in zip(samples, expected, strict=True):
            result = GUARD.scan(text)
            if result.status != "ok" or result.findings != want:
                failures.append(text)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures


def test_guards_share_one_compiled_database() -> None:
    assert Guard()._compiled.hs is GUARD._compiled.hs
    assert guard_engine._GATES


# ------------------------------------------------------------------ validator regressions


def found(text: str) -> list[tuple[str, str, float]]:
    result = GUARD.scan(text)
    assert result.status == "ok"
    return [(f.entity_type, f.text, f.score) for f in result]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("card 4539 1488 0343 6467 12:05:33 ok", "4539 1488 0343 6467"),  # trailing group
        ("row 2 4539 1488 0343 6467", "4539 1488 0343 6467"),  # leading group
        ("4539 1488 0343 6467 7", "4539 1488 0343 6467"),
        ("amex 3782 822463 10005 ok", "3782 822463 10005"),  # Amex 4-6-5
        ("amex 3782-822463-10005 ok", "3782-822463-10005"),
        ("visa 4000 0000 0000 0000 006 ok", "4000 0000 0000 0000 006"),  # 19 digits 4-4-4-4-3
        ("visa 4000-0000-0000-0000-006 ok", "4000-0000-0000-0000-006"),
    ],
)
def test_card_groupings_and_backing_off(text: str, value: str) -> None:
    assert ("CREDIT_CARD", value) in [(t, v) for t, v, _ in found(text)]


def test_card_with_mixed_or_short_groups_is_rejected() -> None:
    assert "CREDIT_CARD" not in [t for t, _, _ in found("n 4539 1488-0343 6467 x")]
    assert "CREDIT_CARD" not in [t for t, _, _ in found("n 453 91488 0343 6467 x")]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("log +44 20 7946 0018 14:02:11 WARN", "+44 20 7946 0018"),  # next line's time
        ("call +44 20 7946 0958 3 times", "+44 20 7946 0958"),  # a trailing count
        ("+44 20 7946 0958", "+44 20 7946 0958"),  # at the very start of the text
        ("020 7946 0958 is mine", "020 7946 0958"),
    ],
)
def test_phone_backs_off_over_trailing_groups(text: str, value: str) -> None:
    assert ("PHONE_NUMBER", value) in [(t, v) for t, v, _ in found(text)]


def test_phone_of_possible_but_invalid_length_needs_context() -> None:
    # +1 555 123 4567: a possible length for +1, but not a valid NANP number: score 0.4
    assert "PHONE_NUMBER" not in [t for t, _, _ in found("sent +1 555 123 4567 ok")]
    assert ("PHONE_NUMBER", "+1 555 123 4567", 0.75) in found("phone: +1 555 123 4567")


def test_phone_rejects_dates_times_and_short_numbers() -> None:
    for text in (
        "at 2024-03-15 10:22:31 order 48213",
        "on 15.03.2024 at 10:22",
        "2024-07-25T21:34:39Z WARN",
        "build 1583 of 2024",
    ):
        assert "PHONE_NUMBER" not in [t for t, _, _ in found(text)], text


def test_aadhaar_needs_verhoeff_and_context() -> None:
    assert ("IN_AADHAAR", "2341 2341 2346") in [
        (t, v) for t, v, _ in found("aadhaar 2341 2341 2346")
    ]
    assert ("IN_AADHAAR", "2341-2341-2346") in [(t, v) for t, v, _ in found("UIDAI 2341-2341-2346")]
    assert ("IN_AADHAAR", "234123412346") in [(t, v) for t, v, _ in found("aadhaar 234123412346")]
    assert "IN_AADHAAR" not in [t for t, _, _ in found("ref 2341 2341 2346 logged")]  # no context
    assert "IN_AADHAAR" not in [t for t, _, _ in found("aadhaar 2341 2341 2347")]  # Verhoeff
    assert "IN_AADHAAR" not in [t for t, _, _ in found("aadhaar 1341 2341 2346")]  # starts 0/1
    # inside a longer grouped number (a card, an account): not an Aadhaar
    assert "IN_AADHAAR" not in [t for t, _, _ in found("aadhaar 2341 2341 2346 7788")]
    assert "IN_AADHAAR" not in [t for t, _, _ in found("aadhaar 7788 2341 2341 2346")]


def test_guard_is_warm_after_construction() -> None:
    import time

    g = Guard()
    t0 = time.perf_counter()
    g.scan("mail jane@example.com or call +44 20 7946 0958, card 4539 1488 0343 6467")
    assert time.perf_counter() - t0 < 0.05
