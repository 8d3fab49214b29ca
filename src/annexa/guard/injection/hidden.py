"""Invisible characters that carry or disguise an instruction.

Three kinds, each told apart from its everyday use:

* tag characters (U+E0000-E007F) spell ASCII a model reads and a person never sees
  ("ASCII smuggling"); the only everyday use is a subdivision flag (🏴 then a few tag
  letters and the cancel tag: England, Scotland, Wales), which is left alone;
* zero-width characters inside Latin words or in long runs split words past filters or
  encode bits; the joiners between emoji (👩‍💻) and inside words of scripts that need
  them (Persian, Indic), the byte-order mark at the start and soft hyphens are ordinary;
* bidirectional overrides reorder what a reader sees; in a text without right-to-left
  letters they have no use.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from annexa.guard.injection.normalise import TAG_CLASS, TAGS

_ZERO_WIDTH = frozenset("\u200b\u200c\u200d\u2060\ufeff\u180e\u2061\u2062\u2063\u2064\u034f")
_FILLERS = frozenset("\u115f\u1160\u3164\uffa0")  # Hangul fillers: blank "letters"
_BIDI_OVERRIDES = frozenset("\u202a\u202b\u202d\u202e\u2066\u2067\u2068")
_ZERO_WIDTH_RUN = re.compile("[" + "".join(sorted(_ZERO_WIDTH | _FILLERS)) + "]+")
_TAG_RUN = re.compile(f"[{TAG_CLASS}]+")
_BIDI_RUN = re.compile("[" + "".join(sorted(_BIDI_OVERRIDES)) + "]")
COUNT_CAP = 1000  # invisible characters counted at most
_FLAG = "\U0001f3f4"
_CANCEL_TAG = 0xE007F
_EMOJI_RANGES = ((0x1F000, 0x1FAFF), (0x2600, 0x27BF), (0x2B00, 0x2BFF), (0x1F1E6, 0x1F1FF))


@dataclass(frozen=True, slots=True)
class HiddenFinding:
    kind: str  # "tag_characters", "zero_width" or "bidi_override"
    start: int
    end: int
    count: int
    decoded: str = ""  # what tag characters spell


def hidden_characters(text: str) -> list[HiddenFinding]:
    if text.isascii():
        return []
    found: list[HiddenFinding] = []
    found.extend(_tag_runs(text))
    found.extend(_zero_width(text))
    bidi = [m.start() for m in _BIDI_RUN.finditer(text)]
    if bidi and not _has_right_to_left(text):
        found.append(HiddenFinding("bidi_override", bidi[0], bidi[-1] + 1, len(bidi)))
    return found


def _tag_runs(text: str) -> list[HiddenFinding]:
    runs: list[HiddenFinding] = []
    for run in _TAG_RUN.finditer(text):
        i, j = run.span()
        if not _subdivision_flag(text, i, j):
            decoded = "".join(
                chr(ord(ch) - TAGS.start) for ch in run.group(0) if ord(ch) < _CANCEL_TAG
            )
            runs.append(HiddenFinding("tag_characters", i, j, j - i, decoded))
    return runs


def _subdivision_flag(text: str, start: int, end: int) -> bool:
    """🏴 + 2-7 tag letters or digits + the cancel tag (Unicode's emoji tag sequences)."""
    body = text[start : end - 1]
    return (
        start > 0
        and text[start - 1] == _FLAG
        and ord(text[end - 1]) == _CANCEL_TAG
        and 2 <= len(body) <= 7
        and all(0xE0030 <= ord(c) <= 0xE0039 or 0xE0061 <= ord(c) <= 0xE007A for c in body)
    )


def _zero_width(text: str) -> list[HiddenFinding]:
    odd: list[int] = []
    longest = (0, 0)  # (length, start) of the longest run
    for run in _ZERO_WIDTH_RUN.finditer(text):
        start, end = run.span()
        longest = max(longest, (end - start, start))
        odd.extend(i for i in range(start, end) if not _ordinary_zero_width(text, i))
        if len(odd) >= COUNT_CAP:
            break  # suspicious whatever follows; the count says "at least"
    if len(odd) >= 3:
        return [HiddenFinding("zero_width", odd[0], odd[-1] + 1, len(odd))]
    length, start = longest
    if length >= 4:  # bits spelt in invisible characters
        return [HiddenFinding("zero_width", start, start + length, length)]
    return []


def _ordinary_zero_width(text: str, i: int) -> bool:
    ch = text[i]
    if ch == "\ufeff" and i == 0:
        return True  # a byte-order mark
    if ch in _FILLERS:
        return False
    before = _neighbour(text, i, -1)
    after = _neighbour(text, i, 1)
    if ch in "\u200d\u200c":
        if _emoji(before) or _emoji(after):
            return True  # 👩‍💻, 🏳️‍🌈
        if _script_letter(before) and _script_letter(after):
            return True  # می‌خواهم, क्‍ष
    return False


def _neighbour(text: str, i: int, step: int) -> str:
    """The next visible character before or after ``i`` (skipping variation selectors)."""
    j = i + step
    while 0 <= j < len(text) and ("\ufe00" <= text[j] <= "\ufe0f" or text[j] in _ZERO_WIDTH):
        j += step
    return text[j] if 0 <= j < len(text) else ""


def _emoji(ch: str) -> bool:
    if not ch:
        return False
    code = ord(ch)
    return any(lo <= code <= hi for lo, hi in _EMOJI_RANGES) or unicodedata.category(ch) == "So"


def _script_letter(ch: str) -> bool:
    """A letter or mark of a script other than Latin (where joiners shape the writing)."""
    return bool(ch) and not ch.isascii() and unicodedata.category(ch)[0] in "LM"


def _has_right_to_left(text: str) -> bool:
    return any(unicodedata.bidirectional(ch) in ("R", "AL") for ch in text if ord(ch) >= 0x590)
