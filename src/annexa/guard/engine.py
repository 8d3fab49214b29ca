"""The scanning engine: one gate pass, then RE2 spans, then validators on candidates only.

The text is encoded once to UTF-8. A gate tells, in a single linear-time pass, which
detectors match anywhere; clean text (the common case) costs that one pass. The gate is a
Hyperscan block-mode database (``HS_FLAG_SINGLEMATCH``: one report per detector, no
start-of-match; for "located" detectors a report per match end, which tells RE2 where to
look) when the ``hyperscan`` package is importable, else an ``re2.Set``. Only the
detectors that matched are then run through RE2 to locate their candidates, and only
candidates reach the (Python) validators. Both engines guarantee linear time: no input can
make a pattern backtrack.

The Hyperscan gate may over-report (a detector RE2 then finds nothing for) but must never
under-report: patterns are translated so that each Hyperscan language is a superset of the
RE2 one (see :func:`_hs_pattern`), texts Hyperscan cannot take (lone surrogates, which are
not valid UTF-8) go through the ``re2.Set``, and a Hyperscan error means "not scanned".
"""

from __future__ import annotations

import bisect
import operator
import re
import re._constants as _re_constants
import re._parser as _re_parser
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import cast

import ahocorasick
import re2

try:  # optional fast gate; the re2.Set gate is used without it
    import hyperscan
except ImportError:  # pragma: no cover - depends on the environment
    hyperscan = None  # type: ignore[assignment]

from annexa.guard import operators
from annexa.guard.detectors import CONTEXT_BOOST, Detector, builtin_detectors
from annexa.guard.findings import (
    Blocked,
    Finding,
    GuardError,
    RedactResult,
    ScanError,
    ScanResult,
    make_finding,
)
from annexa.guard.ner import MAX_SPAN
from annexa.guard.ner import from_policy as ner_from_policy
from annexa.guard.operators import RedactionState
from annexa.guard.policy import Policy
from annexa.guard.validators import CONTEXT_AFTER, CONTEXT_BEFORE
from annexa.guard.vault import PLACEHOLDER_MAX, Vault

_WORDCHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")
_RE2_MAX_MEM = 256 << 20
_SET_TRUSTED_BYTES = 16384
_UNANCHORED = re2._Anchor.UNANCHORED
_ANCHOR_START = re2._Anchor.ANCHOR_START
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


_HS_RELAX_ABOVE = 24  # {m,n} with n above this becomes {m,} in the gate (a superset)
_HS_REPEAT = re.compile(r"\{(\d+),(\d+)\}")
_HS_SPACE = "\\t\\n\\f\\r\\x20"  # RE2's \s; Hyperscan's also has \v (0x0B)


def _hs_pattern(pattern: str) -> str | None:
    r"""The pattern for the Hyperscan gate: its language a superset of RE2's, or ``None``.

    * ``(?P<name>`` groups become plain groups (the gate reports no spans);
    * ``\s`` becomes RE2's ``[\t\n\f\r ]``: Hyperscan's ``\s`` adds ``\v``, which made
      ``[^\s]`` narrower than RE2's and could hide a match;
    * a bounded repeat ``{m,n}`` with a large ``n`` becomes ``{m,}`` (UTF-8 bounded repeats
      of wide classes are "too large" for Hyperscan; dropping an upper bound only widens
      the language, so the gate may over-report, never miss).

    Non-ASCII patterns (case folding outside ASCII differs between engines) and anything
    this small scanner does not understand return ``None``: such a pattern stays on RE2.
    """
    if not pattern.isascii():
        return None
    out: list[str] = []
    i, n = 0, len(pattern)
    in_class = False
    class_start = -1
    while i < n:
        ch = pattern[i]
        if ch == "\\":
            if i + 1 >= n:
                return None
            esc = pattern[i + 1]
            if esc == "s":
                out.append(_HS_SPACE if in_class else "[" + _HS_SPACE + "]")
            elif esc in "SpPCQE" or (esc.isdigit() and esc != "0"):
                return None  # \S, Unicode classes, \C, quoting, back-references: keep on RE2
            else:
                out.append(pattern[i : i + 2])
            i += 2
            continue
        if in_class:
            if ch == "]" and i > class_start:
                in_class = False
            elif ch == "[" and pattern.startswith("[:", i):
                end = pattern.find(":]", i + 2)
                if end < 0:
                    return None
                out.append(pattern[i : end + 2])
                i = end + 2
                continue
            out.append(ch)
            i += 1
            continue
        if ch == "[":
            in_class = True
            class_start = i + 1
            if pattern.startswith("^", class_start):
                out.append("[^")
                i += 2
                class_start += 1
            else:
                out.append("[")
                i += 1
            continue  # a "]" right after "[" or "[^" is a literal (class_start)
        if ch == "(" and pattern.startswith("(?P<", i):
            end = pattern.find(">", i)
            if end < 0:
                return None
            out.append("(")
            i = end + 1
            continue
        if ch == "{":
            repeat = _HS_REPEAT.match(pattern, i)
            if repeat:
                low, high = int(repeat.group(1)), int(repeat.group(2))
                out.append(
                    f"{{{low},}}" if high > _HS_RELAX_ABOVE and high > low else repeat.group()
                )
                i = repeat.end()
                continue
        out.append(ch)
        i += 1
    return None if in_class else "".join(out)


class _HyperscanGate:
    """Which detectors match anywhere, for valid UTF-8 text, in one Hyperscan block scan.

    Detectors whose pattern Hyperscan cannot take (see :func:`_hs_pattern`, or a compile
    error) are checked by a small residual ``re2.Set``; ``ungated`` ones (patterns that
    Hyperscan runs slowly and RE2 quickly) are always reported. ``located`` ones are
    reported at every end offset of a match (not ``HS_FLAG_SINGLEMATCH``), which tells the
    engine where RE2 needs to look (see ``Guard._candidates``). Scratch space is per thread.
    """

    def __init__(
        self, patterns: list[str], ungated: tuple[int, ...] = (), located: tuple[int, ...] = ()
    ):
        assert hyperscan is not None
        flags = hyperscan.HS_FLAG_UTF8 | hyperscan.HS_FLAG_ALLOWEMPTY
        self.ungated = list(ungated)
        translated = [None if i in ungated else _hs_pattern(p) for i, p in enumerate(patterns)]
        self.flags = [
            flags if i in located else flags | hyperscan.HS_FLAG_SINGLEMATCH
            for i in range(len(patterns))
        ]
        ids = [i for i, t in enumerate(translated) if t is not None]
        self.db = self._compile(translated, ids, self.flags)
        if self.db is None:  # find the patterns that do not compile on their own
            ids = [i for i in ids if self._compile(translated, [i], self.flags) is not None]
            self.db = self._compile(translated, ids, self.flags) if ids else None
        in_db = set(ids)
        # the located detectors whose every match end the database reports
        self.located = frozenset(i for i in located if i in in_db and self.db is not None)
        self.residual_ids = [
            i for i in range(len(patterns)) if i not in in_db and i not in self.ungated
        ]
        self.residual = None
        self.residual_regexes = []
        if self.residual_ids:
            options = _options()
            self.residual = re2.Set.SearchSet(options)
            for i in self.residual_ids:
                self.residual.Add(patterns[i].encode())
                self.residual_regexes.append(re2.compile(patterns[i].encode(), options))
            self.residual.Compile()
        self._scratch = hyperscan.Scratch(self.db) if self.db is not None else None
        self._local = threading.local()

    @staticmethod
    def _compile(translated: list[str | None], ids: list[int], flags: list[int]):  # type: ignore[no-untyped-def]
        try:
            db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
            db.compile(
                expressions=[translated[i].encode() for i in ids],  # type: ignore[union-attr]
                ids=ids,
                elements=len(ids),
                flags=[flags[i] for i in ids],
            )
        except Exception:
            return None
        return db

    def match(self, data: bytes) -> list[int]:
        """Indices of the detectors that may match; raises on any Hyperscan error."""
        return self.scan(data)[0]

    def scan(self, data: bytes) -> tuple[list[int], dict[int, list[int]]]:
        """Indices of the detectors that may match (a located one once per match end), and
        for each located detector the end offsets of its matches, in increasing order.
        Raises on any Hyperscan error."""
        hits = self.ungated.copy()
        ends: dict[int, list[int]] = {}
        if self.db is not None:
            scratch = getattr(self._local, "scratch", None)
            if scratch is None:
                scratch = self._local.scratch = self._scratch.clone()  # type: ignore[union-attr]
            reports: list[tuple[int, int]] = []
            append = reports.append
            try:
                self.db.scan(
                    data,
                    match_event_handler=lambda id_, start, end, flags, ctx: append((id_, end)),
                    scratch=scratch,
                )
            except Exception as exc:  # fail closed: never "no match" on an engine error
                raise RuntimeError(f"hyperscan scan failed: {exc}") from exc
            located = self.located
            for id_, end in reports:
                if id_ in located:
                    found = ends.get(id_)
                    if found is None:
                        ends[id_] = [end]
                        hits.append(id_)
                    else:
                        found.append(end)
                else:
                    hits.append(id_)
            for found in ends.values():
                found.sort()  # block mode reports in end order; do not rely on it
        if self.residual is not None:
            found_ids = self.residual.Match(data)
            if found_ids is None:
                if len(data) <= _SET_TRUSTED_BYTES:
                    found_ids = []
                else:
                    found_ids = [k for k, rx in enumerate(self.residual_regexes) if rx.search(data)]
            hits.extend(self.residual_ids[k] for k in found_ids)
        return hits, ends


class _Compiled:
    def __init__(self, detectors: list[Detector], *, use_hyperscan: bool = True):
        self.detectors = detectors
        self.regexes = []
        self.value_group: list[int | None] = []
        self.generic = [det.name in _GENERIC for det in detectors]
        self.untrimmed = [det.name in _UNTRIMMED for det in detectors]
        self.keep = [det.keep for det in detectors]
        self.keep_bytes = [max(det.keep_bytes, 1) for det in detectors]
        # what _validate needs of each detector, in one tuple
        self.plan = [
            (
                det.entity_type,
                det.name,
                det.classification,
                det.validator,
                det.score,
                det.ceiling,
                *_context_parts(det.context),
            )
            for det in detectors
        ]
        self.spans = [det.spans for det in detectors]
        options = _options()
        # The re2.Set gate: the fallback without Hyperscan or for text that is not valid
        # UTF-8 (lone surrogates, passed through with "surrogatepass").
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
        # Where a detector says its acceptable candidates can lie (see detectors.Runs).
        self.runs = [det.runs for det in detectors]
        # Located detectors (see Detector.located): the most UTF-8 bytes a match of the
        # pattern (width, None: unbounded) and of what the gate reports (reach) can span.
        self.width = [_max_match_bytes(det.pattern) for det in detectors]
        self.reach: list[int | None] = [None] * len(detectors)
        # and, where what the gate reports can only be a few lengths (in bytes), those: a
        # match then starts where one of them ends before a reported end (see _located)
        self.lengths: list[tuple[int, ...] | None] = [None] * len(detectors)
        gate_patterns = []
        for i, det in enumerate(detectors):
            reported = det.locator or det.pattern
            if det.located and det.runs is None and det.gated:
                self.reach[i] = _max_match_bytes(reported)
                lengths = _match_lengths(reported) if self.reach[i] is not None else None
                # with two lengths RE2 is called twice a match (one start fails): that
                # pays only for wide patterns, whose unanchored search scans far before
                # the match and back over it
                if lengths is not None and (
                    len(lengths) == 1 or (wide := self.width[i]) is None or wide > _WIDE
                ):
                    self.lengths[i] = lengths
            gate_patterns.append(reported if self.reach[i] is not None else det.pattern)
        # Detectors whose runs the gate finds (see detectors.Runs.gated): it reports every
        # end of a match of the feature, not of the pattern.
        self.gated_runs = [
            det.runs is not None and det.runs.gated and self.value_group[i] is None
            for i, det in enumerate(detectors)
        ]
        for i, det in enumerate(detectors):
            if self.gated_runs[i]:
                gate_patterns[i] = det.runs.feature.decode()  # type: ignore[union-attr]
        # and, of those, the generic ones: _scan runs them after the specific detectors,
        # only where a candidate could outlive the generic-overlap filter
        self.late = frozenset(
            i for i in range(len(detectors)) if self.gated_runs[i] and self.generic[i]
        )
        self.hs: _HyperscanGate | None = None
        if use_hyperscan and hyperscan is not None:
            try:
                self.hs = _hyperscan_gate(
                    tuple(gate_patterns),
                    tuple(i for i, det in enumerate(detectors) if not det.gated),
                    tuple(
                        i
                        for i, reach in enumerate(self.reach)
                        if reach is not None or self.gated_runs[i]
                    ),
                )
            except Exception:  # pragma: no cover - a broken install: keep the re2.Set gate
                self.hs = None


_GATES: dict[tuple[tuple[str, ...], tuple[int, ...], tuple[int, ...]], _HyperscanGate] = {}
_GATES_LOCK = threading.Lock()


def _hyperscan_gate(
    patterns: tuple[str, ...], ungated: tuple[int, ...] = (), located: tuple[int, ...] = ()
) -> _HyperscanGate:
    """One compiled database per pattern list (compiling takes ~0.5 s; guards share it:
    the database is read-only and each thread has its own scratch)."""
    key = (patterns, ungated, located)
    with _GATES_LOCK:
        gate = _GATES.get(key)
        if gate is None:
            if len(_GATES) >= 16:
                _GATES.pop(next(iter(_GATES)))
            gate = _GATES[key] = _HyperscanGate(list(patterns), ungated, located)
        return gate


_POSIX_CLASS = re.compile(r"\[:\^?[A-Za-z]+:\]")


def _max_match_bytes(pattern: str) -> int | None:
    r"""An upper bound on the UTF-8 bytes of any match of the RE2 ``pattern`` (all of
    them non-empty), or ``None``: unbounded, possibly empty, or a pattern this small
    analyser does not vouch for.

    The pattern is parsed by Python's ``re`` parser, which reads the RE2 syntax the built-in
    detectors use the same way; a pattern it rejects (``\p``, ``\C``, ``\Q``, ...) or may
    read differently (``{,n}``: a repeat in Python, literal text in RE2; POSIX classes such
    as ``[[:^alpha:]]``, a literal set in Python; back-references, look-around) gives
    ``None``. A character counts 1 byte only where it can only be ASCII
    (RE2's ``\d``, ``\w``, ``\s`` are ASCII); anything else, and everything under ``(?i)``
    (RE2 folds ``k`` to the Kelvin sign, ``s`` to the long s), counts 4.
    """
    if "{," in pattern or _POSIX_CLASS.search(pattern):
        return None
    try:
        parsed = _re_parser.parse(pattern)
        low, high = _width(parsed, bool(parsed.state.flags & _re_constants.SRE_FLAG_IGNORECASE))
    except Exception:  # not a pattern this analyser understands
        return None
    return high if low > 0 else None


def _char_bytes(items: list, fold: bool) -> int:  # type: ignore[type-arg]
    """The most UTF-8 bytes one character matched by a class's ``items`` can take."""
    c = _re_constants
    most = 1
    for op, arg in items:
        if op is c.LITERAL:
            most = max(most, len(chr(arg).encode()))
        elif op is c.RANGE:
            most = max(most, len(chr(arg[1]).encode()))
        elif op is c.CATEGORY and arg in (c.CATEGORY_DIGIT, c.CATEGORY_SPACE, c.CATEGORY_WORD):
            continue  # ASCII in RE2
        else:  # NEGATE, \D \S \W, anything else: any character
            return 4
    return 4 if fold else most


def _width(parsed, fold: bool) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """(fewest characters, most bytes) of a match of a parsed (sub)pattern; raises
    ``ValueError`` when unbounded or not understood."""
    c = _re_constants
    low = high = 0
    for op, arg in parsed:
        if op is c.LITERAL:
            low += 1
            high += 4 if fold else len(chr(arg).encode())
        elif op is c.IN:
            low += 1
            high += _char_bytes(arg, fold)
        elif op in (c.ANY, c.NOT_LITERAL):
            low += 1
            high += 4
        elif op is c.AT:
            continue
        elif op is c.SUBPATTERN:
            _, add_flags, del_flags, sub = arg
            sub_fold = fold
            if add_flags & c.SRE_FLAG_IGNORECASE:
                sub_fold = True
            if del_flags & c.SRE_FLAG_IGNORECASE:
                sub_fold = False
            sub_low, sub_high = _width(sub, sub_fold)
            low += sub_low
            high += sub_high
        elif op is c.BRANCH:
            widths = [_width(alt, fold) for alt in arg[1]]
            low += min(w[0] for w in widths)
            high += max(w[1] for w in widths)
        elif op in (c.MAX_REPEAT, c.MIN_REPEAT):
            least, most, sub = arg
            if most is c.MAXREPEAT or most >= 1 << 16:
                raise ValueError("unbounded repeat")
            sub_low, sub_high = _width(sub, fold)
            low += least * sub_low
            high += most * sub_high
        else:
            raise ValueError(f"not analysed: {op}")
    return low, high


_LENGTHS_MAX = 64  # lengths tracked while analysing a pattern
_ANCHORED_LENGTHS = 2  # at most this many: RE2 tries each start (see Guard._located)
_WIDE = 64  # two lengths only for patterns whose matches can be wider (in bytes)


def _match_lengths(pattern: str) -> tuple[int, ...] | None:
    r"""Every UTF-8 byte length a match of the RE2 ``pattern`` can have (all of them
    non-zero), in decreasing order, when there are at most ``_ANCHORED_LENGTHS``; else
    ``None``, as for anything :func:`_max_match_bytes` does not vouch for and for anything
    that can match a character outside ASCII (under ``(?i)`` RE2 folds ``k`` and ``s`` to
    non-ASCII ones): there a character's length is not known from the pattern.
    """
    if "{," in pattern or _POSIX_CLASS.search(pattern):
        return None
    try:
        parsed = _re_parser.parse(pattern)
        if parsed.state.flags & _re_constants.SRE_FLAG_IGNORECASE:
            return None
        lengths = _lengths(parsed)
    except Exception:  # not a pattern this analyser understands, or too many lengths
        return None
    if 0 in lengths or len(lengths) > _ANCHORED_LENGTHS:
        return None
    return tuple(sorted(lengths, reverse=True))


def _ascii_items(items: list) -> bool:  # type: ignore[type-arg]
    """Whether a class's ``items`` can only match ASCII characters (one byte each)."""
    c = _re_constants
    for op, arg in items:
        if op is c.LITERAL:
            if arg >= 0x80:
                return False
        elif op is c.RANGE:
            if arg[1] >= 0x80:
                return False
        elif op is not c.CATEGORY or arg not in (
            c.CATEGORY_DIGIT,
            c.CATEGORY_SPACE,
            c.CATEGORY_WORD,
        ):
            return False  # NEGATE, \D \S \W: non-ASCII characters too
    return True


def _lengths(parsed) -> frozenset[int]:  # type: ignore[no-untyped-def]
    """The byte lengths of the matches of a parsed (sub)pattern of ASCII characters;
    raises ``ValueError`` when not understood, unbounded, possibly non-ASCII or when there
    are more than ``_LENGTHS_MAX``."""
    c = _re_constants
    out = frozenset({0})
    for op, arg in parsed:
        if op is c.AT:
            continue
        if op is c.LITERAL:
            if arg >= 0x80:
                raise ValueError("non-ASCII literal")
            step = frozenset({1})
        elif op is c.IN:
            if not _ascii_items(arg):
                raise ValueError("class with non-ASCII characters")
            step = frozenset({1})
        elif op is c.SUBPATTERN:
            _, add_flags, _, sub = arg
            if add_flags & c.SRE_FLAG_IGNORECASE:
                raise ValueError("case folding")
            step = _lengths(sub)
        elif op is c.BRANCH:
            step = frozenset().union(*(_lengths(alt) for alt in arg[1]))
        elif op in (c.MAX_REPEAT, c.MIN_REPEAT):
            least, most, sub = arg
            if most is c.MAXREPEAT or most > _LENGTHS_MAX:
                raise ValueError("unbounded or long repeat")
            inner = _lengths(sub)
            step, reps = frozenset(), frozenset({0})
            for count in range(most + 1):
                if count >= least:
                    step |= reps
                reps = frozenset(a + b for a in reps for b in inner)
                if len(step) > _LENGTHS_MAX or len(reps) > _LENGTHS_MAX:
                    raise ValueError("too many lengths")
        else:
            raise ValueError(f"not analysed: {op}")
        out = frozenset(a + b for a in out for b in step)
        if len(out) > _LENGTHS_MAX:
            raise ValueError("too many lengths")
    return out


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


_ASCII = bytes(range(128))


def _char_shifts(data: bytes) -> tuple[list[int], list[int]]:
    """Lead byte positions of multi-byte UTF-8 characters, and before each position (and
    after the last: ``shifts[-1]``) how many continuation bytes the text has so far.

    A byte offset ``b`` on a character boundary is the str offset
    ``b - shifts[bisect_left(positions, b)]``. The lead bytes present are read off the
    non-ASCII bytes (one C-speed pass), then found with ``bytes.find``.
    """
    leads = sorted(b for b in set(data.translate(None, _ASCII)) if b >= 0xC0)
    found: list[tuple[int, int]] = []
    for lead in leads:
        extra = 1 if lead < 0xE0 else 2 if lead < 0xF0 else 3
        byte = bytes((lead,))
        pos = data.find(byte)
        while pos >= 0:
            found.append((pos, extra))
            pos = data.find(byte, pos + extra + 1)
    if len(leads) > 1:
        found.sort()
    positions = [pos for pos, _ in found]
    shifts = [0]
    total = 0
    for _, extra in found:
        total += extra
        shifts.append(total)
    return positions, shifts


class _CharMap:
    """Maps a text's UTF-8 offsets to str offsets (see :func:`_char_shifts`), computed on
    first use; nothing to map for ASCII text."""

    __slots__ = ("_maps", "ascii", "data")

    def __init__(self, data: bytes, text: str):
        self.data = data
        self.ascii = text.isascii()
        self._maps: tuple[list[int], list[int]] | None = None

    def maps(self) -> tuple[list[int], list[int]]:
        if self._maps is None:
            self._maps = _char_shifts(self.data)
        return self._maps


def _left_from(a: list[int], x: int, j: int) -> int:
    """``bisect_left(a, x)`` for sorted ``a``, from ``j``, the answer to a query close by:
    candidates come in text order and multi-byte characters or kept spans lie between few
    of them, so most answers are ``j`` or the next index (two comparisons, no search)."""
    n = len(a)
    if j < n and a[j] < x:
        j += 1
        if j < n and a[j] < x:
            return bisect.bisect_left(a, x, j)
        return j
    if j > 0 and a[j - 1] >= x:
        return bisect.bisect_left(a, x, 0, j)
    return j


def _right_from(a: list[int], x: int, j: int) -> int:
    """``bisect_right(a, x)``, as :func:`_left_from`."""
    n = len(a)
    if j < n and a[j] <= x:
        j += 1
        if j < n and a[j] <= x:
            return bisect.bisect_right(a, x, j)
        return j
    if j > 0 and a[j - 1] > x:
        return bisect.bisect_right(a, x, 0, j)
    return j


def _str_offsets(
    data: bytes, raw: list[tuple[int, int, int, int]], charmap: _CharMap
) -> list[tuple[int, int, int, int]]:
    """``raw`` candidates with their UTF-8 offsets as str offsets."""
    if not raw or charmap.ascii:
        return raw
    positions, shifts = charmap.maps()
    converted: list[tuple[int, int, int, int]] = []
    add = converted.append
    first = positions[0] if positions else len(data)
    # after the last multi-byte character every offset shifts by the same total: most
    # candidates of a text with a few such characters need no search
    last = positions[-1] if positions else len(data)
    total = shifts[-1]
    k = 0  # bisect_left(positions, the last offset converted)
    for cand in raw:
        i, s, e, r = cand
        if r <= first:  # before the first multi-byte character: the same offsets
            add(cand)
            continue
        if s > last:
            add((i, s - total, e - total, r - total))
            continue
        k = _left_from(positions, s, k)
        s_str = s - shifts[k]
        k = _left_from(positions, e, k)
        e_str = e - shifts[k]
        if r == e:
            add((i, s_str, e_str, e_str))
        else:
            add((i, s_str, e_str, r - shifts[_left_from(positions, r, k)]))
    return converted


class _Covered:
    """The kept specific spans of a text (str offsets, sorted, disjoint), for
    :meth:`Guard._gated_runs`."""

    __slots__ = ("charmap", "ends", "starts")

    def __init__(self, starts: list[int], ends: list[int], charmap: _CharMap):
        self.starts = starts
        self.ends = ends
        self.charmap = charmap


_detector_index = operator.itemgetter(0)


_WARM_TEXT = (
    "Hi, jane.doe@example.com, call +44 20 7946 0958 or (415) 555-2671 at 2024-03-15 "
    "10:22:31. Card 4539 1488 0343 6467, IBAN GB82 WEST 1234 5698 7654 32, SWIFT DEUTDEFF500, "
    "SSN 536-22-1234, NHS 943 476 5919, NI AB 12 34 56 C, aadhaar 2341 2341 2346, "
    "ip 192.168.10.1 and 2001:db8:85a3::8a2e:370:7334, mac 00:1A:2B:3C:4D:5E, "
    "https://example.com/a?b=1 postgres://admin:s3cr3tPw@db.local/x Password=Pa55w0rd!x "
    "btc 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa eth 0x52908400098527886E0F7030069857D2E4169EE7 "
    "AKIAZ3MHK4QW7RTPLX2N ghp_aBcD1234eFgH5678iJkL9012mNoP3456qRsT "
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJlX3g "
    "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z x7Kq2mPz9Rt4Wv8Ya1Bc3dE4f "
    "Grüße 😀 José, version 2.14.3, order 48213, id 123e4567-e89b-12d3-a456-426614174000."
)


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
        warm: bool = True,
    ):
        self.policy = policy or Policy()
        self.key = key
        if ner is None and self.policy.ner is not None:
            ner = ner_from_policy(self.policy.ner)
        self.ner = ner
        self._disabled = frozenset(self.policy.disabled)
        detectors = [
            det for det in builtin_detectors(phone_regions) if det.entity_type not in self._disabled
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
            [det.max_length for det in detectors]
            + [self._terms.max_length, 1]
            + ([MAX_SPAN] if ner is not None else [])
        )
        self.hold_back = self.max_entity_length + CONTEXT_AFTER + 2
        if warm:
            # RE2 builds each pattern's DFA lazily, and the first validator calls import
            # and index their data: pay that here rather than on the first prompt.
            self._scan(_WARM_TEXT)

    def redact(
        self,
        text: str,
        *,
        destination: str | None = None,
        state: RedactionState | None = None,
    ) -> RedactResult:
        """Scan and replace. Raises :class:`ScanError` if any detector failed (fail closed)
        and :class:`Blocked` if the policy blocks a finding; never returns unscanned text."""
        findings, _, errors = self._scan(text)
        if errors:
            raise ScanError("text was not fully scanned: " + "; ".join(errors), errors)
        state = state if state is not None else RedactionState(key=self.key)
        redacted, actions = apply_operators(
            self, text, findings, destination=destination, state=state
        )
        return RedactResult(redacted, findings, actions)

    @property
    def detectors(self) -> list[Detector]:
        return list(self._compiled.detectors)

    # ------------------------------------------------------------------ scanning

    def scan(self, text: str) -> ScanResult:
        """Find sensitive data. ``result.status == "error"`` means "not scanned", never clean."""
        findings, _, errors = self._scan(text)
        return ScanResult(findings, "error" if errors else "ok", errors)

    def candidates(self, text: str) -> list[Candidate]:
        """Pattern candidates before validation (used by the streaming redactor); the
        shortcuts of :meth:`_candidates` leave out only candidates no validator accepts."""
        detectors = self._compiled.detectors
        return [Candidate(detectors[i], s, e, r) for i, s, e, r in self._candidates(text)]

    def _candidates(self, text: str, *, runs: bool = True) -> list[tuple[int, int, int, int]]:
        """(detector index, start, end, raw end) in str offsets, detector by detector.

        A detector with ``runs`` (IPv6, email) is matched only inside the runs of text where
        its feature matches: every match of the detector lies inside one maximal run of the
        characters it can consume, so inside a run it finds what a scan of the whole text
        finds there; every candidate its validator can accept contains a match of the
        feature ("::" or 6 colons, "@"), so the runs without one, and the rest of a run
        where it no longer matches, hold only candidates it rejects.

        A ``located`` detector's matches each start with a match of its locator (or are
        one) whose end the Hyperscan gate reported, at most ``reach`` bytes from the start:
        so RE2 starts only ``reach`` bytes before the next reported end (and not at all
        after the last one), and finds the same leftmost match as from the scan position
        without running its DFA over the text between (see :meth:`_located`).

        A detector with ``spans`` gets its matches from that function instead of RE2 (the
        same ones, less those its ``keep`` rejects), and one with ``keep`` loses the
        candidates that test rejects (which its validator would reject) before any
        bookkeeping.

        ``runs=False`` scans the whole text with RE2 for every detector and keeps every
        candidate (the reference).
        """
        data, hits, located = self._gate(text, runs)
        raw = self._raw(data, hits, located, runs)
        return _str_offsets(data, raw, _CharMap(data, text))

    def _gate(self, text: str, runs: bool = True) -> tuple[bytes, list[int], dict[int, list[int]]]:
        """The UTF-8 of ``text``, the detectors the gate reports (in index order) and, for
        those reported at every end, the ends. ``runs=False`` (the reference) asks the
        ``re2.Set``: every detector whose pattern matches, whatever its gate pattern."""
        if not isinstance(text, str):
            raise TypeError(f"Guard.scan expects str, got {type(text).__name__}")
        compiled = self._compiled
        located: dict[int, list[int]] = {}
        try:
            data = text.encode("utf-8")
        except UnicodeEncodeError:  # lone surrogates: not UTF-8, so not for Hyperscan
            data = text.encode("utf-8", "surrogatepass")
            hits = self._set_match(data)
        else:
            if compiled.hs is not None and runs:
                hits, located = compiled.hs.scan(data)
            else:
                hits = self._set_match(data)
        return data, sorted(hits), located

    def _raw(
        self,
        data: bytes,
        hits: Iterable[int],
        located: dict[int, list[int]],
        runs: bool = True,
        covered: _Covered | None = None,
    ) -> list[tuple[int, int, int, int]]:
        """(detector index, start, end, raw end) in UTF-8 offsets, detector by detector
        (see :meth:`_candidates`); ``covered`` for :meth:`_gated_runs`."""
        compiled = self._compiled
        raw: list[tuple[int, int, int, int]] = []
        append = raw.append
        size = len(data)
        for index in hits:
            keep = compiled.keep[index] if runs else None
            ends = located.get(index)
            if ends is not None:
                if compiled.gated_runs[index]:
                    self._gated_runs(raw, data, index, ends, keep, covered)
                else:
                    self._located(raw, data, index, ends, keep)
                continue
            finder = compiled.spans[index] if runs else None
            if finder is not None:  # it leaves out what keep rejects
                raw.extend([(index, start, end, end) for start, end in finder(data)])
                continue
            match = compiled.matchers[index].Match
            group = compiled.value_group[index]
            least = compiled.keep_bytes[index] if runs else 1
            detector_runs = compiled.runs[index] if runs else None
            if detector_runs is None:
                windows: Iterable[tuple[int, int]] = ((0, size),)
                feature = None
            else:
                windows = detector_runs.find(data)
                feature = detector_runs.holds
            for pos, stop in windows:
                while True:
                    spans = match(_UNANCHORED, data, pos, stop)
                    whole_start, whole_end = spans[0]
                    if whole_start < 0:
                        break
                    if group is None:
                        start, end = whole_start, whole_end
                    else:
                        start, end = spans[group]
                    if (
                        end - start >= least
                        and start >= 0
                        and (keep is None or keep(data[start:end]))
                    ):
                        append((index, start, end, whole_end))
                    if whole_end == pos:  # an empty match: step past it
                        if pos >= stop:
                            break
                        pos += 1
                        while pos < stop and 0x80 <= data[pos] < 0xC0:
                            pos += 1
                    else:
                        pos = whole_end
                    if feature is not None and not feature(data, pos, stop):
                        break  # no candidate it can accept left in this run
        return raw

    def _gated_runs(
        self,
        raw: list[tuple[int, int, int, int]],
        data: bytes,
        index: int,
        ends: list[int],
        keep: Callable[[bytes], bool] | None,
        covered: _Covered | None = None,
    ) -> None:
        """The candidates of a detector whose runs the gate found (see detectors.Runs.gated),
        from the ends of the feature matches it reported.

        Every candidate the validator can accept ends at a reported end, inside the run
        of ``chars`` holding it: RE2 scans those runs only, each from its start (a match
        never crosses a byte outside the run, so it finds what a scan of the whole text
        finds there), and stops once the last reported end of the run is behind it.

        With ``covered`` (the kept specific spans, for a generic detector) it also stops
        once every byte a match can start with, from its position to the last reported
        end, lies inside one of them: the candidates it would still find there are the
        ones the generic-overlap filter drops (see :meth:`_scan`).
        """
        compiled = self._compiled
        match = compiled.matchers[index].Match
        least = compiled.keep_bytes[index]
        mask = data.translate(compiled.runs[index].table)  # type: ignore[union-attr]
        size = len(data)
        append = raw.append
        starts: list[int] = []
        stops: list[int] = []
        positions: list[int] = []
        shifts = [0]
        if covered is not None:  # inlined: dense text has some 30 runs, most covered
            starts, stops = covered.starts, covered.ends
            if not covered.charmap.ascii:
                positions, shifts = covered.charmap.maps()
        # fingers into positions and starts (see _left_from): the runs come in text order
        p = j = 0
        k, count = 0, len(ends)
        while k < count:
            end_at = ends[k]
            pos = mask.rfind(b"\0", 0, end_at) + 1  # the run holding the reported end
            stop = mask.find(b"\0", end_at)
            if stop < 0:
                stop = size
            k += 1
            while k < count and ends[k] <= stop:  # a run holds a few ends
                k += 1
            last = ends[k - 1]  # the run's acceptable candidates end by here
            # a byte offset in the (ASCII) run is its str offset plus the continuation
            # bytes before the run
            shift = 0
            if covered is not None:
                p = _left_from(positions, pos, p)
                shift = shifts[p]
            while pos < last:
                if covered is not None:
                    # a byte a match can start with (2 in the mask) outside every kept span?
                    at = mask.find(b"\2", pos, last)
                    while at >= 0:
                        j = _right_from(starts, at - shift, j)
                        i = j - 1
                        if i < 0 or stops[i] <= at - shift:
                            break
                        at = mask.find(b"\2", stops[i] + shift, last)
                    if at < 0:
                        break  # what is left would start inside a kept span
                spans = match(_UNANCHORED, data, pos, stop)
                start, end = spans[0]
                if start < 0:
                    break
                if end - start >= least and (keep is None or keep(data[start:end])):
                    append((index, start, end, end))
                pos = end if end > pos else pos + 1  # (the pattern cannot match empty)

    def _located(
        self,
        raw: list[tuple[int, int, int, int]],
        data: bytes,
        index: int,
        ends: list[int],
        keep: Callable[[bytes], bool] | None,
    ) -> None:
        """The candidates of a located detector (see Detector.located), from the end
        offsets the gate reported for it (of matches of its locator, or of its pattern).

        A match of the pattern starting at or after ``pos`` starts with a reported match
        (the whole match without a locator), which ends after ``pos``, at most ``reach``
        bytes after the start: no match starts between ``pos`` and the next reported end
        ``e`` minus ``reach``, so RE2 starts there and finds the leftmost match from
        ``pos``. With a bounded ``width``, every match starting at or before ``e`` ends by
        ``e + width``: RE2 looks only up to there, and its match counts if it starts at or
        before ``e`` (then it is the leftmost one; otherwise none starts by ``e``). After
        the last reported end no match starts.

        Where what the gate reports can only have one or two lengths (``lengths``), every
        match starts at a reported end minus one of them: RE2 tries just those starts,
        anchored, in order.
        """
        compiled = self._compiled
        match = compiled.matchers[index].Match
        group = compiled.value_group[index]
        reach = compiled.reach[index]
        width = compiled.width[index]
        size = len(data)
        append = raw.append
        pos = 0
        lengths = compiled.lengths[index]
        if lengths is not None:
            # Every match starts with a reported match of one of these lengths: its start
            # is a reported end minus a length. RE2 tries those starts in order, anchored
            # (no reverse pass to find the start, whose DFA kept building states for unseen
            # tokens, and no scan of the text before it); the first that matches is the
            # leftmost match from pos, and its span that of an unanchored search.
            if len(lengths) == 1:
                starts: Iterable[int] = [end_at - lengths[0] for end_at in ends]
            else:
                starts = sorted({end_at - length for end_at in ends for length in lengths})
            for start_at in starts:
                if start_at < pos:
                    continue
                if width is None or start_at + width >= size:
                    spans = match(_ANCHOR_START, data, start_at, size)
                else:
                    spans = match(_ANCHOR_START, data, start_at, start_at + width)
                whole_start, whole_end = spans[0]
                if whole_start < 0:
                    continue
                start, end = spans[group] if group is not None else (whole_start, whole_end)
                if end > start >= 0 and (keep is None or keep(data[start:end])):
                    append((index, start, end, whole_end))
                pos = whole_end
            return
        for end_at in ends:
            if end_at <= pos:
                continue
            lo = end_at - reach  # type: ignore[operator]
            if lo < pos:
                lo = pos
            if width is None:
                spans = match(_UNANCHORED, data, lo, size)
                whole_start, whole_end = spans[0]
                if whole_start < 0:
                    return  # none from pos to the end of the text
            else:
                stop = end_at + width
                spans = match(_UNANCHORED, data, lo, stop if stop < size else size)
                whole_start, whole_end = spans[0]
                if whole_start < 0 or whole_start > end_at:
                    pos = end_at  # none starts by end_at
                    continue
            start, end = spans[group] if group is not None else (whole_start, whole_end)
            if end > start >= 0 and (keep is None or keep(data[start:end])):
                append((index, start, end, whole_end))
            pos = whole_end

    def _set_match(self, data: bytes) -> list[int]:
        hits = self._compiled.set.Match(data)
        if hits is None:
            # The binding answers None both for "no match" and for "the DFA gave up" (out of
            # memory). A DFA cannot run out on short input; on long input, confirm pattern
            # by pattern (RE2 falls back to its NFA there), so a failure never reads as clean.
            hits = [] if len(data) <= _SET_TRUSTED_BYTES else self._confirm(data)
        return hits

    def _confirm(self, data: bytes) -> list[int]:
        return [i for i, regex in enumerate(self._compiled.regexes) if regex.search(data)]

    def _scan(
        self, text: str, *, complete: bool = False
    ) -> tuple[list[Finding], list[tuple[int, int, int, int]], list[str]]:
        """Findings, raw candidates and errors.

        Specific detectors are validated first and their overlaps resolved. A generic
        detector (phone, URL, high entropy) always loses an overlap to a specific finding
        (see :func:`resolve_overlaps`), and its validator may trim a candidate's end but
        never moves its start: so a generic candidate that starts inside a kept specific
        span (or, for high entropy, which is never trimmed, overlaps one at all) is dropped
        before its (costly) validator runs. The result is the same as validating everything.

        The ``late`` detectors (phone) are matched only then, and not where every candidate
        left would start inside a kept span (see :meth:`_gated_runs`): the candidates
        returned lack those, unless ``complete`` (the streaming redactor holds back text
        by them).
        """
        compiled = self._compiled
        late: list[int] = []
        try:
            data, hits, located = self._gate(text)
            if compiled.late and not complete:
                late = [i for i in hits if i in compiled.late]
                if late:
                    hits = [i for i in hits if i not in compiled.late]
            charmap = _CharMap(data, text)
            candidates = _str_offsets(data, self._raw(data, hits, located), charmap)
        except TypeError:
            raise
        except Exception as exc:  # fail closed: the caller learns the text was not scanned
            return [], [], [f"pattern matching failed: {type(exc).__name__}: {exc}"]
        errors: list[str] = []
        generic_flags = compiled.generic
        specific_cands: list[tuple[int, int, int, int]] = []
        generic_cands: list[tuple[int, int, int, int]] = []
        for cand in candidates:
            (generic_cands if generic_flags[cand[0]] else specific_cands).append(cand)
        failed: set[str] = set()
        findings = self._validate(text, specific_cands, errors, failed)
        try:
            findings.extend(self._terms.find(text))
        except Exception as exc:
            errors.append(f"term matching failed: {type(exc).__name__}: {exc}")
        if self.ner is not None:
            try:
                findings.extend(self._named(self.ner.analyze(text)))  # type: ignore[attr-defined]
            except Exception as exc:
                errors.append(f"NER tier failed: {type(exc).__name__}: {exc}")
        if generic_cands or late:
            findings = resolve_overlaps(findings)
            kept = [(f.start, f.end) for f in findings if f.detector not in _GENERIC]
            starts = [s for s, _ in kept]
            if late:
                try:
                    covered = _Covered(starts, [e for _, e in kept], charmap)
                    raw = self._raw(data, late, located, covered=covered)
                    more = _str_offsets(data, raw, charmap)
                except Exception as exc:  # fail closed, as above
                    return [], [], [f"pattern matching failed: {type(exc).__name__}: {exc}"]
                if more:
                    candidates = candidates + more
                    # in detector order, as _candidates gives them (validation order)
                    generic_cands = sorted(generic_cands + more, key=_detector_index)
            if kept:
                last = len(kept) - 1
                untrimmed = compiled.untrimmed
                survivors = []
                j = 0  # bisect_right(starts, the last start), a finger (see _left_from)
                for cand in generic_cands:
                    start = cand[1]
                    j = _right_from(starts, start, j)
                    i = j - 1
                    if i >= 0 and kept[i][1] > start:
                        continue  # starts inside a kept span: so does every trimmed span
                    if untrimmed[cand[0]] and i < last and kept[i + 1][0] < cand[2]:
                        continue  # the finding would keep this span, which overlaps
                    survivors.append(cand)
                generic_cands = survivors
            findings.extend(self._validate(text, generic_cands, errors, failed))
        return resolve_overlaps(findings), candidates, errors

    def _named(self, found: list[Finding]) -> list[Finding]:
        """The NER tier's findings under the policy's thresholds, allow-list and disabled
        entities, as the pattern tier's are."""
        policy = self.policy
        return [
            f
            for f in found
            if f.entity_type not in self._disabled
            and f.score >= policy.thresholds.get(f.entity_type, policy.default_threshold)
            and f.text.lower() not in self._allow
        ]

    def _validate(
        self,
        text: str,
        candidates: list[tuple[int, int, int, int]],
        errors: list[str],
        failed: set[str],
    ) -> list[Finding]:
        findings: list[Finding] = []
        append = findings.append
        plan = self._compiled.plan
        default = self.policy.default_threshold
        thresholds = self.policy.thresholds
        allow = self._allow
        for index, start, end, _ in candidates:
            (entity_type, name, classification, validator, score, ceiling, phrases, words) = plan[
                index
            ]
            threshold = thresholds.get(entity_type, default) if thresholds else default
            near = None  # whether a context word is near text[start:end], once known
            if validator is not None:
                if ceiling is not None:
                    top = cast(float | None, ceiling(text, start, end))  # never trims
                    if top is not None and top < threshold:
                        if top + CONTEXT_BOOST < threshold or not (phrases or words):
                            continue  # whatever the validator says, the score stays too low
                        near = _near(phrases, words, text, start, end)
                        if not near:
                            continue
                    span = (start, end)
                try:
                    verdict = validator(text, start, end)
                except Exception as exc:
                    if name not in failed:
                        failed.add(name)
                        errors.append(f"detector {name} failed: {type(exc).__name__}: {exc}")
                    continue
                if verdict is None:
                    continue
                if verdict.__class__ is tuple:
                    score, start, end = verdict  # type: ignore[misc]
                    if end <= start:
                        continue
                    if near is not None and span != (start, end):
                        near = None
                else:
                    score = verdict  # type: ignore[assignment]
            if score < 1.0 and (phrases or words):
                if near is None:
                    near = _near(phrases, words, text, start, end)
                if near:
                    score = min(1.0, score + CONTEXT_BOOST)
            if score < threshold:
                continue
            value = text[start:end]
            if allow and value.lower() in allow:
                continue
            rounded = _ROUNDED.get(score) if score.__class__ is float else None
            if rounded is None:
                rounded = round(score, 3)
                if len(_ROUNDED) < 4096 and score.__class__ is float:  # a few constants
                    _ROUNDED[score] = rounded
            append(make_finding(entity_type, start, end, rounded, value, name, classification))
        return findings


# round(score, 3) per score (float rounding goes through a decimal conversion)
_ROUNDED: dict[float, float] = {}


def _context_near(context: tuple[str, ...], text: str, start: int, end: int) -> bool:
    """Whether a context word (a token) or phrase is within reach of ``text[start:end]``.

    A token is a maximal run of characters that are neither whitespace nor
    ``_SEPARATORS`` (what mapping those to spaces and ``split()`` gives); a phrase (it has
    a space) may appear anywhere.
    """
    phrases, words = _context_parts(context)
    return _near(phrases, words, text, start, end)


def _near(
    phrases: tuple[str, ...], words: tuple[str, ...], text: str, start: int, end: int
) -> bool:
    """:func:`_context_near` for a context already split by :func:`_context_parts`."""
    joined = (
        text[start - CONTEXT_BEFORE if start > CONTEXT_BEFORE else 0 : start]
        + " | "
        + text[end : end + CONTEXT_AFTER]
    ).lower()
    for phrase in phrases:
        if phrase in joined:
            return True
    separators = _SEPARATORS
    last = len(joined)
    for word in words:
        if word not in joined:
            continue
        i = joined.find(word)
        while i >= 0:
            if i == 0 or (ch := joined[i - 1]) in separators or ch.isspace():
                j = i + len(word)
                if j == last or (ch := joined[j]) in separators or ch.isspace():
                    return True
            i = joined.find(word, i + 1)
    return False


_SEPARATORS = frozenset("\t\n\r.,;:!?()[]{}<>\"'`/\\|=+*&^%$@~-_")
_CONTEXT_PARTS: dict[tuple[str, ...], tuple[tuple[str, ...], tuple[str, ...]]] = {}


def _separates(ch: str) -> bool:
    return ch in _SEPARATORS or ch.isspace()


def _context_parts(context: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Phrases (with a space) and the words that can be tokens at all (no separator)."""
    parts = _CONTEXT_PARTS.get(context)
    if parts is None:
        phrases = tuple(w for w in context if " " in w)
        words = tuple(
            w for w in context if w and " " not in w and not any(_separates(c) for c in w)
        )
        parts = (phrases, words)
        if len(_CONTEXT_PARTS) < 1024:
            _CONTEXT_PARTS[context] = parts
    return parts


def _priority(finding: Finding) -> int:
    """Specific detectors beat generic ones (a GitHub token is not "some high-entropy string")."""
    return 0 if finding.detector in _GENERIC else 1


def _rank(f: Finding) -> tuple[bool, float, int, int]:
    # specific first (the same order as -_priority), then higher score, longer, earlier
    return (f.detector in _GENERIC, -f.score, f.start - f.end, f.start)


_start = operator.attrgetter("start")  # a sort key without a Python call per finding


def resolve_overlaps(findings: list[Finding]) -> list[Finding]:
    """Keep the best finding where spans overlap: higher score, then longer, then earlier.

    In rank order, a finding is kept unless it overlaps one kept before it. Whether it is
    depends only on the findings it overlaps, so the choice is made cluster by cluster
    (maximal runs of findings, in start order, joined by overlaps), with the same result
    as over the whole list: a dense document has a few small clusters among thousands of
    lone findings, which are kept as they are."""
    if len(findings) <= 1:
        return findings
    ordered = sorted(findings, key=_start)
    kept: list[Finding] = []
    cluster: list[Finding] = []
    reach = -1  # the furthest end in the cluster
    for f in ordered:
        if f.start < reach:
            cluster.append(f)
            if f.end > reach:
                reach = f.end
            continue
        if len(cluster) == 1:
            kept.append(cluster[0])
        elif cluster:
            kept.extend(_resolve_cluster(cluster))
        cluster = [f]
        reach = f.end
    if len(cluster) == 1:
        kept.append(cluster[0])
    else:
        kept.extend(_resolve_cluster(cluster))
    return kept


def _resolve_cluster(cluster: list[Finding]) -> list[Finding]:
    """:func:`resolve_overlaps` of findings joined by overlaps, in start order."""
    taken: list[tuple[int, int]] = []
    kept: list[Finding] = []
    bisect_left = bisect.bisect_left
    for f in sorted(cluster, key=_rank):
        i = bisect_left(taken, (f.start, f.end))
        if i > 0 and taken[i - 1][1] > f.start:
            continue
        if i < len(taken) and taken[i][0] < f.end:
            continue
        taken.insert(i, (f.start, f.end))
        kept.append(f)
    kept.sort(key=_start)
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
    vaulted = [
        (f.entity_type, f.text) for f, r in zip(findings, rules, strict=True) if r.action == "vault"
    ]
    if vaulted and state.vault is None:
        raise GuardError("the vault action needs RedactionState(vault=Vault(key))")
    keyed = {r.action for r in rules} & {"pseudonymise", "fake"}
    if keyed and not (state.key or guard.key):
        raise GuardError(
            f"the {min(keyed)} action needs an organisation key (Guard(key=...) or "
            "RedactionState(key=...))"
        )
    # One store call for the whole text: a database vault takes its locks in one fixed
    # order then, so concurrent redactions cannot deadlock.
    placeholders = iter(
        state.vault.put_many(vaulted) if state.vault is not None and vaulted else ()
    )
    out: list[str] = []
    last = 0
    actions: list[str] = []
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
            assert key  # checked above
            fn = operators.pseudonym if action == "pseudonymise" else operators.fake
            out.append(fn(key, etype, value))
        elif action == "vault":
            out.append(next(placeholders))
        else:  # pragma: no cover - pydantic restricts actions
            raise GuardError(f"unknown action {action!r}")
        last = finding.end
    out.append(text[last:])
    return "".join(out), actions


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
        findings, candidates, errors = self.guard._scan(window, complete=True)
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
