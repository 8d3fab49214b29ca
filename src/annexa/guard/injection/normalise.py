"""The text the injection rules read: obfuscation undone, each character traced back.

Attackers hide an instruction from word filters in ways a model still reads through:
full-width or styled letters ("ｉｇｎｏｒｅ"), invisible characters inside words
("ig\u200bnore"), look-alike letters from another script inside a Latin word ("ignоre"
with a Cyrillic "о") and spaced-out letters ("i g n o r e"). :func:`normalise` undoes
those four and keeps, for every character it gives, the offset of the character it came
from, so a rule's match is reported where it is in the original text.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import re2

# Characters that render as nothing. Dropped before the rules run (hidden.py judges
# whether their presence is itself suspicious).
INVISIBLE = frozenset(
    "\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b\u180c\u180d\u180e\u200b\u200c\u200d"
    "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2060\u2061\u2062\u2063\u2064\u2066\u2067"
    "\u2068\u2069\u3164\ufe00\ufe01\ufe02\ufe03\ufe04\ufe05\ufe06\ufe07\ufe08\ufe09\ufe0a"
    "\ufe0b\ufe0c\ufe0d\ufe0e\ufe0f\ufeff\uffa0"
)
TAGS = range(0xE0000, 0xE0080)  # Unicode tag characters: invisible ASCII look-alikes
TAG_CLASS = f"{chr(TAGS.start)}-{chr(TAGS.stop - 1)}"  # the same, inside a regex [...]

# Cyrillic and Greek letters drawn like Latin ones. Folded only inside a word that also
# has Latin letters: a Russian or Greek word is left as it is.
_LOOK_ALIKES = str.maketrans(
    "аеорсухіјѕԁһԛԝаАВЕКМНОРСТХІЈЅԌοΑΒΕΖΗΙΚΜΝΟΡΤΥΧνρτ",
    "aeopcyxijsdhqwaABEKMHOPCTXIJSGoABEZHIKMNOPTYXvpt",
)
_LOOK_ALIKE_CHARS = frozenset("аеорсухіјѕԁһԛԝаАВЕКМНОРСТХІЈЅԌοΑΒΕΖΗΙΚΜΝΟΡΤΥΧνρτ")
_WORD = re.compile(r"\w+")
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")
# (RE2 for the whole-text searches: a DFA over the UTF-8, several times re's speed there)
_DROPPED = re2.compile("[" + "".join(sorted(INVISIBLE)) + TAG_CLASS + "]")
# a Latin letter next to a letter of another script, in either order
_MIXED = re2.compile(r"[A-Za-z][^\x00-\x7f\PL]|[^\x00-\x7f\PL][A-Za-z]")
# Six or more single letters, one space (or a few) apart: "i g n o r e  a l l" (group 1).
_SPACED = re2.compile(r"(?:^|\PL)((?:\pL {1,3}){5,}\pL)(?:\PL|$)")


@dataclass(frozen=True, slots=True)
class Normalised:
    text: str
    # origin[i]: the offset in the original of text[i]; None: the same offset (look-alikes
    # folded one for one at most)
    origin: list[int] | None
    changed: bool = False  # whether text differs from the original

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The original span of ``text[start:end]``."""
        if self.origin is None:
            return start, end
        if end <= start:
            at = self.origin[start] if start < len(self.origin) else self.origin[-1]
            return at, at
        return self.origin[start], self.origin[end - 1] + 1


def normalise(text: str) -> Normalised:
    origin: list[int] | None = None  # None while each character is where it was
    base = text
    if not text.isascii() and (
        not unicodedata.is_normalized("NFKC", text) or _DROPPED.search(text)
    ):
        base, origin = _compatible(text)
    folded = _fold_look_alikes(base)  # one character for one: offsets hold
    collapsed, kept = _collapse_spaced(folded)
    if kept is not None:
        origin = [origin[k] for k in kept] if origin is not None else kept
    if origin is None:
        return Normalised(collapsed, None, collapsed != text)
    if collapsed == text and len(origin) == len(text):
        return Normalised(text, None)  # (origin is then 0, 1, 2, ...: nothing was dropped)
    origin.append(len(text))  # where an empty match at the very end maps to
    return Normalised(collapsed, origin, True)


def _compatible(text: str) -> tuple[str, list[int]]:
    """``text`` with invisible characters dropped and the others NFKC-normalised one by
    one, and the offset each character of the result comes from (ASCII runs copied whole)."""
    pieces: list[str] = []
    origin: list[int] = []
    cache: dict[str, str] = {}
    pos = 0
    for run in _NON_ASCII.finditer(text):
        start, end = run.span()
        pieces.append(text[pos:start])
        origin.extend(range(pos, start))
        for i in range(start, end):
            ch = text[i]
            out = cache.get(ch)
            if out is None:
                invisible = ch in INVISIBLE or ord(ch) in TAGS
                out = cache[ch] = "" if invisible else unicodedata.normalize("NFKC", ch)
            if out:
                pieces.append(out)
                origin.extend([i] * len(out))
        pos = end
    pieces.append(text[pos:])
    origin.extend(range(pos, len(text)))
    return "".join(pieces), origin


def _fold_look_alikes(text: str) -> str:
    if text.isascii() or not _MIXED.search(text):
        return text  # no word has a Latin letter next to another script's

    def fold(match: re.Match[str]) -> str:
        word = match.group(0)
        if word.isascii() or not any("a" <= c.lower() <= "z" for c in word):
            return word
        if not any(c in _LOOK_ALIKE_CHARS for c in word):
            return word
        return word.translate(_LOOK_ALIKES)  # one character for one: offsets hold

    return _WORD.sub(fold, text)


def _collapse_spaced(text: str) -> tuple[str, list[int] | None]:
    """``text`` with spaced-out letters joined into words (a run of two or more spaces
    inside them separates words), and the offsets of the characters kept."""
    runs = [match.span(1) for match in _SPACED.finditer(text)]
    if not runs:
        return text, None
    out: list[str] = []
    kept: list[int] = []
    pos = 0
    for start, end in runs:
        out.append(text[pos:start])
        kept.extend(range(pos, start))
        i = start
        while i < end:
            ch = text[i]
            if ch != " ":
                out.append(ch)
                kept.append(i)
                i += 1
                continue
            j = i
            while j < end and text[j] == " ":
                j += 1
            if j - i >= 2:  # a word gap
                out.append(" ")
                kept.append(i)
            i = j
        pos = end
    out.append(text[pos:])
    kept.extend(range(pos, len(text)))
    return "".join(out), kept
