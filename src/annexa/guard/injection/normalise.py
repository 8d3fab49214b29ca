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

# Cyrillic and Greek letters drawn like Latin ones. Folded only inside a word that also
# has Latin letters: a Russian or Greek word is left as it is.
_LOOK_ALIKES = str.maketrans(
    "аеорсухіјѕԁһԛԝаАВЕКМНОРСТХІЈЅԌοΑΒΕΖΗΙΚΜΝΟΡΤΥΧνρτ",
    "aeopcyxijsdhqwaABEKMHOPCTXIJSGoABEZHIKMNOPTYXvpt",
)
_LOOK_ALIKE_CHARS = frozenset("аеорсухіјѕԁһԛԝаАВЕКМНОРСТХІЈЅԌοΑΒΕΖΗΙΚΜΝΟΡΤΥΧνρτ")
_WORD = re.compile(r"\w+")
# Six or more single letters, one space (or a few) apart: "i g n o r e  a l l" (group 1).
_SPACED = re2.compile(r"(?:^|\PL)((?:\pL {1,3}){5,}\pL)(?:\PL|$)")


@dataclass(frozen=True, slots=True)
class Normalised:
    text: str
    origin: list[int] | None  # origin[i]: the offset in the original of text[i]; None: same

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The original span of ``text[start:end]``."""
        if self.origin is None:
            return start, end
        if end <= start:
            at = self.origin[start] if start < len(self.origin) else self.origin[-1]
            return at, at
        return self.origin[start], self.origin[end - 1] + 1

    @property
    def changed(self) -> bool:
        return self.origin is not None


def normalise(text: str) -> Normalised:
    if text.isascii() and not _SPACED.search(text):
        return Normalised(text, None)
    chars: list[str] = []
    origin: list[int] = []
    cache: dict[str, str] = {}
    for i, ch in enumerate(text):
        if ch < "\x80":
            chars.append(ch)
            origin.append(i)
            continue
        out = cache.get(ch)
        if out is None:
            invisible = ch in INVISIBLE or ord(ch) in TAGS
            out = "" if invisible else unicodedata.normalize("NFKC", ch)
            cache[ch] = out
        for piece in out:
            chars.append(piece)
            origin.append(i)
    folded = _fold_look_alikes("".join(chars))
    collapsed, kept = _collapse_spaced(folded)
    if kept is not None:
        origin = [origin[k] for k in kept]
    if collapsed == text and origin == list(range(len(text))):
        return Normalised(text, None)
    origin.append(len(text))  # where an empty match at the very end maps to
    return Normalised(collapsed, origin)


def _fold_look_alikes(text: str) -> str:
    if text.isascii():
        return text

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
