"""The scanning engine: one RE2 set pass, then validators on candidates only.

The text is encoded once to UTF-8. An ``re2.Set`` over every detector tells, in a single
linear-time pass, which detectors match anywhere; clean text (the common case) costs that
one pass. Only the detectors that matched are then run to locate their candidates, and
only candidates reach the (Python) validators. RE2 guarantees linear time: no input can
make a pattern backtrack.
"""

from __future__ import annotations

import bisect
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

import ahocorasick
import re2

from annexa.guard import operators
from annexa.guard.detectors import CONTEXT_BOOST, Detector, builtin_detectors
from annexa.guard.findings import Blocked, Finding, GuardError, RedactResult, ScanError, ScanResult
from annexa.guard.operators import RedactionState
from annexa.guard.policy import Policy
from annexa.guard.vault import PLACEHOLDER_MAX, Vault

_WORDCHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")
_NONWORD = str.maketrans({ch: " " for ch in "\t\n\r.,;:!?()[]{}<>\"'`/\\|=+*&^%$@~-_"})
CONTEXT_BEFORE = 48
CONTEXT_AFTER = 16
_RE2_MAX_MEM = 256 << 20
_SET_TRUSTED_BYTES = 16384
_UNANCHORED = re2._Anchor.UNANCHORED
# Generic detectors lose every overlap with a specific one (see resolve_overlaps).
_GENERIC = frozenset({"high_entropy", "url", "phone"})
# Generic detectors whose validator never trims the candidate's span.
_UNTRIMMED = frozenset({"high_entropy"})


@dataclass(frozen=True, slots=True)
class Candidate:
    detector: Detector
    start: int
    end: int
    raw_end: int  # end of the whole pattern match (streaming hold-back uses it)


def _options() -> re2.Options:
    options = re2.Options()
    options.max_mem = _RE2_MAX_MEM
    return options


class _Compiled:
    def __init__(self, detectors: list[Detector]):
        self.detectors = detectors
        self.regexes = []
        self.value_group: list[int | None] = []
        self.generic = [det.name in _GENERIC for det in detectors]
        options = _options()
        self.set = re2.Set.SearchSet(options)
        for det in detectors:
            pattern = det.pattern.encode()
            regex = re2.compile(pattern, options)
            self.regexes.append(regex)
            self.value_group.append(regex.groupindex.get(b"v"))
            self.set.Add(pattern)
        self.set.Compile()
        # The C++ matcher behind each pattern: one call per match, no wrapper objects.
        self.matchers = [regex._regexp for regex in self.regexes]


class _Terms:
    """Organisation terms matched case-insensitively with Aho-Corasick on word boundaries."""

    def __init__(self, terms: Iterable[tuple[str, str, str]]):
        self.automaton = ahocorasick.Automaton()
        self.max_length = 0
        count = 0
        for value, entity_type, classification in terms:
            key = value.lower()
            self.automaton.add_word(key, (len(key), entity_type, classification))
            self.max_length = max(self.max_length, len(key))
            count += 1
        self.empty = count == 0
        if not self.empty:
            self.automaton.make_automaton()

    def find(self, text: str) -> list[Finding]:
        if self.empty:
            return []
        low = text.lower()
        if len(low) != len(text):  # a few characters lower-case to two; keep offsets aligned
            low = "".join(c.lower() if len(c.lower()) == 1 else c for c in text)
        out = []
        for end_idx, (length, entity_type, classification) in self.automaton.iter(low):
            start, end = end_idx - length + 1, end_idx + 1
            if start > 0 and low[start] in _WORDCHARS and low[start - 1] in _WORDCHARS:
                continue
            if end < len(low) and low[end - 1] in _WORDCHARS and low[end] in _WORDCHARS:
                continue
            out.append(
                Finding(entity_type, start, end, 1.0, text[start:end], "terms", classification)
            )
        return out


_LEAD = re.compile(rb"[\xc0-\xff]")  # UTF-8 lead bytes of multi-byte characters


def _char_mapper(data: bytes) -> Callable[[int], int]:
    """Map UTF-8 byte offsets (on character boundaries) to str offsets.

    One C-speed pass finds the lead bytes of multi-byte characters; an offset then maps by
    bisecting the cumulative count of continuation bytes before it.
    """
    positions: list[int] = []
    cumulative: list[int] = []
    extra = 0
    for match in _LEAD.finditer(data):
        lead = data[match.start()]
        extra += 1 if lead < 0xE0 else 2 if lead < 0xF0 else 3
        positions.append(match.start())
        cumulative.append(extra)

    def to_char(offset: int) -> int:
        i = bisect.bisect_left(positions, offset)
        return offset - (cumulative[i - 1] if i else 0)

    return to_char


class Guard:
    """Finds sensitive data. Thread-safe after construction; build once, reuse.

    ``Guard()`` gives every built-in pattern detector; a :class:`Policy` adds organisation
    terms, custom patterns, allow/deny lists, context words and thresholds.
    """

    def __init__(
        self,
        policy: Policy | None = None,
        *,
        phone_regions: tuple[str, ...] = ("US", "GB"),
        ner: object | None = None,
        key: bytes | None = None,
    ):
        self.policy = policy or Policy()
        self.key = key
        self.ner = ner
        disabled = set(self.policy.disabled)
        detectors = [
            det for det in builtin_detectors(phone_regions) if det.entity_type not in disabled
        ]
        for entity_type, words in self.policy.context.items():
            detectors = [
                replace(det, context=det.context + tuple(w.lower() for w in words))
                if det.entity_type == entity_type
                else det
                for det in detectors
            ]
        for pat in self.policy.patterns:
            detectors.append(
                Detector(
                    pat.name,
                    pat.entity_type,
                    pat.regex,
                    None,
                    score=pat.score,
                    classification=pat.classification,
                    context=tuple(w.lower() for w in pat.context),
                    max_length=pat.max_length,
                )
            )
        self._compiled = _Compiled(detectors)
        terms = [(t.value, t.entity_type, t.classification) for t in self.policy.terms]
        terms += [(value, "DENY_LIST", "restricted") for value in self.policy.deny]
        self._terms = _Terms(terms)
        self._allow = {value.lower() for value in self.policy.allow}
        self._lock = threading.Lock()
        self.max_entity_length = max(
            [det.max_length for det in detectors] + [self._terms.max_length, 1]
        )
        self.hold_back = self.max_entity_length + CONTEXT_AFTER + 2

    @property
    def detectors(self) -> list[Detector]:
        return list(self._compiled.detectors)

    # ------------------------------------------------------------------ scanning

    def scan(self, text: str) -> ScanResult:
        """Find sensitive data. ``result.status == "error"`` means "not scanned", never clean."""
        findings, _, errors = self._scan(text)
        return ScanResult(findings, "error" if errors else "ok", errors)

    def candidates(self, text: str) -> list[Candidate]:
        """Raw pattern candidates before validation (used by the streaming redactor)."""
        detectors = self._compiled.detectors
        return [Candidate(detectors[i], s, e, r) for i, s, e, r in self._candidates(text)]

    def _candidates(self, text: str) -> list[tuple[int, int, int, int]]:
        """(detector index, start, end, raw end) in str offsets, detector by detector."""
        if not isinstance(text, str):
            raise TypeError(f"Guard.scan expects str, got {type(text).__name__}")
        data = text.encode("utf-8", "surrogatepass")
        compiled = self._compiled
        hits = compiled.set.Match(data)
        if hits is None:
            # The binding answers None both for "no match" and for "the DFA gave up" (out of
            # memory). A DFA cannot run out on short input; on long input, confirm pattern
            # by pattern (RE2 falls back to its NFA there), so a failure never reads as clean.
            hits = [] if len(data) <= _SET_TRUSTED_BYTES else self._confirm(data)
        raw: list[tuple[int, int, int, int]] = []
        append = raw.append
        size = len(data)
        for index in sorted(hits):
            match = compiled.matchers[index].Match
            group = compiled.value_group[index]
            pos = 0
            while True:
                spans = match(_UNANCHORED, data, pos, size)
                whole_start, whole_end = spans[0]
                if whole_start < 0:
                    break
                start, end = spans[group] if group is not None else (whole_start, whole_end)
                if end > start >= 0:
                    append((index, start, end, whole_end))
                if whole_end == pos:  # an empty match: step past it
                    if pos >= size:
                        break
                    pos += 1
                    while pos < size and 0x80 <= data[pos] < 0xC0:
                        pos += 1
                else:
                    pos = whole_end
        if raw and not text.isascii():
            to_char = _char_mapper(data)
            raw = [(i, to_char(s), to_char(e), to_char(r)) for i, s, e, r in raw]
        return raw

    def _confirm(self, data: bytes) -> list[int]:
        return [i for i, regex in enumerate(self._compiled.regexes) if regex.search(data)]

    def _scan(self, text: str) -> tuple[list[Finding], list[tuple[int, int, int, int]], list[str]]:
        """Findings, raw candidates and errors.

        Specific detectors are validated first and their overlaps resolved. A generic
        detector (phone, URL, high entropy) always loses an overlap to a specific finding
        (see :func:`resolve_overlaps`), so a generic candidate that cannot escape a kept
        specific span is dropped before its (costly) validator runs: the result is the same
        as validating everything.
        """
        try:
            candidates = self._candidates(text)
        except TypeError:
            raise
        except Exception as exc:  # fail closed: the caller learns the text was not scanned
            return [], [], [f"pattern matching failed: {type(exc).__name__}: {exc}"]
        errors: list[str] = []
        compiled = self._compiled
        generic_flags = compiled.generic
        specific_cands = [c for c in candidates if not generic_flags[c[0]]]
        generic_cands = [c for c in candidates if generic_flags[c[0]]]
        failed: set[str] = set()
        findings = self._validate(text, specific_cands, errors, failed)
        try:
            findings.extend(self._terms.find(text))
        except Exception as exc:
            errors.append(f"term matching failed: {type(exc).__name__}: {exc}")
        if self.ner is not None:
            try:
                findings.extend(self.ner.analyze(text))  # type: ignore[attr-defined]
            except Exception as exc:
                errors.append(f"NER tier failed: {type(exc).__name__}: {exc}")
        if generic_cands:
            findings = resolve_overlaps(findings)
            kept = [(f.start, f.end) for f in findings if _priority(f)]
            if kept:
                starts = [s for s, _ in kept]
                survivors = []
                for cand in generic_cands:
                    _, start, end, _ = cand
                    i = bisect.bisect_right(starts, start) - 1
                    if compiled.detectors[cand[0]].name in _UNTRIMMED:
                        # the finding keeps the candidate's span: any overlap loses
                        if i >= 0 and kept[i][1] > start:
                            continue
                        if i + 1 < len(kept) and kept[i + 1][0] < end:
                            continue
                    elif i >= 0 and kept[i][1] >= end:
                        continue  # inside a kept span: every trimmed span overlaps it too
                    survivors.append(cand)
                generic_cands = survivors
            findings.extend(self._validate(text, generic_cands, errors, failed))
        return resolve_overlaps(findings), candidates, errors

    def _validate(
        self,
        text: str,
        candidates: list[tuple[int, int, int, int]],
        errors: list[str],
        failed: set[str],
    ) -> list[Finding]:
        findings: list[Finding] = []
        detectors = self._compiled.detectors
        threshold_default = self.policy.default_threshold
        thresholds = self.policy.thresholds
        allow = self._allow
        for index, start, end, _ in candidates:
            det = detectors[index]
            score = det.score
            if det.validator is not None:
                try:
                    verdict = det.validator(text, start, end)
                except Exception as exc:
                    if det.name not in failed:
                        failed.add(det.name)
                        errors.append(f"detector {det.name} failed: {type(exc).__name__}: {exc}")
                    continue
                if verdict is None:
                    continue
                if verdict.__class__ is tuple:
                    score, start, end = verdict  # type: ignore[misc]
                else:
                    score = verdict  # type: ignore[assignment]
                if end <= start:
                    continue
            if det.context and score < 1.0:
                lo = text[max(0, start - CONTEXT_BEFORE) : start].lower()
                hi = text[end : end + CONTEXT_AFTER].lower()
                joined = lo + " | " + hi
                tokens = set(joined.translate(_NONWORD).split())
                if any((w in joined) if " " in w else (w in tokens) for w in det.context):
                    score = min(1.0, score + CONTEXT_BOOST)
            if score < thresholds.get(det.entity_type, threshold_default):
                continue
            value = text[start:end]
            if allow and value.lower() in allow:
                continue
            findings.append(
                Finding(
                    det.entity_type,
                    start,
                    end,
                    round(score, 3),
                    value,
                    det.name,
                    det.classification,
                )
            )
        return findings


def _priority(finding: Finding) -> int:
    """Specific detectors beat generic ones (a GitHub token is not "some high-entropy string")."""
    return 0 if finding.detector in _GENERIC else 1


def resolve_overlaps(findings: list[Finding]) -> list[Finding]:
    """Keep the best finding where spans overlap: higher score, then longer, then earlier."""
    if len(findings) <= 1:
        return findings
    ranked = sorted(
        findings,
        key=lambda f: (-_priority(f), -f.score, -(f.end - f.start), f.start),
    )
    taken: list[tuple[int, int]] = []
    kept: list[Finding] = []
    for f in ranked:
        i = bisect.bisect_left(taken, (f.start, f.end))
        if i > 0 and taken[i - 1][1] > f.start:
            continue
        if i < len(taken) and taken[i][0] < f.end:
            continue
        taken.insert(i, (f.start, f.end))
        kept.append(f)
    kept.sort(key=lambda f: f.start)
    return kept


# ---------------------------------------------------------------------- redaction


def apply_operators(
    guard: Guard,
    text: str,
    findings: list[Finding],
    *,
    destination: str | None,
    state: RedactionState,
) -> tuple[str, list[str]]:
    """Replace each finding per the policy. Raises :class:`Blocked` before changing anything."""
    rules = [guard.policy.rule_for(f.entity_type, f.classification, destination) for f in findings]
    blocked = [f for f, rule in zip(findings, rules, strict=True) if rule.action == "block"]
    if blocked:
        kinds = ", ".join(sorted({f.entity_type for f in blocked}))
        raise Blocked(f"policy blocks this text: it contains {kinds}", blocked)
    out: list[str] = []
    last = 0
    actions = []
    for finding, rule in zip(findings, rules, strict=True):
        action = rule.action
        actions.append(action)
        out.append(text[last : finding.start])
        value, etype = finding.text, finding.entity_type
        if action == "allow":
            out.append(value)
        elif action == "redact":
            out.append(operators.redact(value))
        elif action == "mask":
            out.append(operators.mask(value, rule.keep_last))
        elif action == "tag":
            out.append(state.tag(etype, value))
        elif action in ("pseudonymise", "fake"):
            key = state.key or guard.key
            if not key:
                raise GuardError(
                    f"the {action} action needs an organisation key (Guard(key=...) or "
                    "RedactionState(key=...))"
                )
            fn = operators.pseudonym if action == "pseudonymise" else operators.fake
            out.append(fn(key, etype, value))
        elif action == "vault":
            if state.vault is None:
                raise GuardError("the vault action needs RedactionState(vault=Vault(key))")
            out.append(state.vault.put(etype, value))
        else:  # pragma: no cover - pydantic restricts actions
            raise GuardError(f"unknown action {action!r}")
        last = finding.end
    out.append(text[last:])
    return "".join(out), actions


def _redact(
    self: Guard,
    text: str,
    *,
    destination: str | None = None,
    state: RedactionState | None = None,
) -> RedactResult:
    """Scan and replace. Raises :class:`ScanError` if any detector failed (fail closed) and
    :class:`Blocked` if the policy blocks a finding; never returns unscanned text."""
    findings, _, errors = self._scan(text)
    if errors:
        raise ScanError("text was not fully scanned: " + "; ".join(errors), errors)
    state = state if state is not None else RedactionState(key=self.key)
    redacted, actions = apply_operators(self, text, findings, destination=destination, state=state)
    return RedactResult(redacted, findings, actions)


Guard.redact = _redact  # type: ignore[attr-defined]


class StreamRedactor:
    """Redacts text that arrives in chunks.

    Emits only text that no later chunk can change: it holds back the last
    ``guard.hold_back`` characters, and further back to the start of any candidate that
    reaches into that tail (a value split across chunks is never let out in part). The
    output of any chunking equals ``guard.redact`` of the whole text.
    """

    def __init__(
        self,
        guard: Guard,
        *,
        destination: str | None = None,
        state: RedactionState | None = None,
    ):
        self.guard = guard
        self.destination = destination
        self.state = state if state is not None else RedactionState(key=guard.key)
        self.findings: list[Finding] = []
        self._left = ""
        self._buf = ""
        self._consumed = 0  # characters of the stream already emitted
        self._context = max(guard.hold_back, 300) + CONTEXT_BEFORE
        self._closed = False

    def feed(self, chunk: str) -> str:
        if self._closed:
            raise GuardError("stream already closed")
        self._buf += chunk
        if len(self._buf) <= self.guard.hold_back:
            return ""
        return self._drain(final=False)

    def close(self) -> str:
        out = self._drain(final=True)
        self._closed = True
        return out

    def _drain(self, *, final: bool) -> str:
        window = self._left + self._buf
        base = len(self._left)
        findings, candidates, errors = self.guard._scan(window)
        if errors:
            raise ScanError("stream was not fully scanned: " + "; ".join(errors), errors)
        if final:
            cut = len(window)
        else:
            cut = len(window) - self.guard.hold_back
            spans = [(start, raw_end) for _, start, _, raw_end in candidates]
            spans += [(f.start, f.end) for f in findings]
            changed = True
            while changed and cut > base:
                changed = False
                for start, end in spans:
                    if start < cut < end:
                        cut = start
                        changed = True
            cut = max(cut, base)
        emit = [f for f in findings if base <= f.start and f.end <= cut]
        shifted = [replace(f, start=f.start - base, end=f.end - base) for f in emit]
        raw = window[base:cut]
        out, _ = apply_operators(
            self.guard, raw, shifted, destination=self.destination, state=self.state
        )
        self.findings.extend(
            replace(f, start=f.start + self._consumed, end=f.end + self._consumed) for f in shifted
        )
        self._consumed += len(raw)
        self._left = (self._left + raw)[-self._context :]
        self._buf = window[cut:]
        return out


class StreamRestorer:
    """Restores vault placeholders in a stream, holding back a possibly split placeholder."""

    def __init__(self, vault: Vault):
        self.vault = vault
        self._buf = ""

    def feed(self, chunk: str) -> str:
        self._buf += chunk
        cut = len(self._buf)
        lt = self._buf.rfind("<", max(0, cut - PLACEHOLDER_MAX))
        if lt != -1 and ">" not in self._buf[lt:]:
            cut = lt
        out, self._buf = self._buf[:cut], self._buf[cut:]
        return self.vault.restore(out)

    def close(self) -> str:
        out, self._buf = self._buf, ""
        return self.vault.restore(out)
