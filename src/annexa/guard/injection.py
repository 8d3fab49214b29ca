"""Prompt-injection and jailbreak heuristics: a score in [0, 1] and the reasons for it.

Heuristics, not a classifier: each rule needs an imperative *structure* (override verb +
target such as "previous instructions"), not a single word, so benign prompts that say
"ignore", "system" or "act as" stay low. Patterns are RE2 (linear time).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field

import re2

_OPT = re2.Options()
_OPT.case_sensitive = False

_RULES: list[tuple[str, float, str]] = [
    (
        "instruction_override",
        0.6,
        r"\b(?:ignore|disregard|forget|override|bypass|skip)\b[^.\n]{0,40}?\b(?:all |any |the )?"
        r"(?:previous|prior|above|earlier|preceding|your|system|original|initial)\b[^.\n]{0,20}?"
        r"\b(?:instructions?|prompts?|rules|directives|guidelines|context|messages?)\b",
    ),
    (
        "new_instructions",
        0.35,
        r"\b(?:new|updated|real|actual) (?:instructions|system prompt|rules)\s*(?::|are|follow)",
    ),
    (
        "role_play_persona",
        0.55,
        r"\b(?:you are now|from now on,? you are|pretend (?:to be|you are)|act as|roleplay as)\b"
        r"[^.\n]{0,40}?\b(?:DAN|jailbr\w*|unfiltered|uncensored|unrestricted|evil|"
        r"no (?:rules|limits|restrictions)|without (?:any )?(?:rules|restrictions|filters|limits))",
    ),
    (
        "jailbreak_keyword",
        0.4,
        r"\b(?:do anything now|developer mode|jailbreak(?:ed)? mode|god mode|DAN mode)\b",
    ),
    (
        "system_prompt_spoofing",
        0.5,
        r"(?:^|\n)\s*(?:\[/?(?:system|INST)\]|<\|?(?:system|im_start|im_end|endoftext)\|?>|"
        r"###\s*(?:system|instruction)s?\s*:?|system\s*:\s*you are)",
    ),
    (
        "prompt_exfiltration",
        0.5,
        r"\b(?:reveal|print|show|repeat|output|leak|tell me)\b[^.\n]{0,30}?\b(?:your|the)\s+"
        r"(?:system prompt|initial instructions|hidden instructions|secret instructions|"
        r"instructions above)",
    ),
    (
        "markdown_image_exfiltration",
        0.6,
        r"!\[[^\]]{0,100}\]\(\s*https?://[^)\s]{1,300}[?&][^)\s=]{1,40}=[^)\s]{0,300}"
        r"(?:\{|\$|%7B|<)[^)]{0,300}\)",
    ),
    (
        "delimiter_injection",
        0.3,
        r"(?:-{5,}|={5,}|#{5,}|`{3,})\s*(?:end of (?:user )?(?:input|document|prompt|context)|"
        r"begin (?:system|admin|new))",
    ),
]

_COMPILED = [(name, weight, re2.compile(pattern, _OPT)) for name, weight, pattern in _RULES]
_BASE64 = re2.compile(r"[A-Za-z0-9+/]{24,}={0,2}")
_HIDDEN = frozenset(
    "\u200b\u200c\u200d\u2060\ufeff\u00ad\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
_TAGS = range(0xE0000, 0xE0080)  # Unicode tag characters ("ASCII smuggling")


@dataclass
class InjectionReport:
    score: float
    reasons: list[str] = field(default_factory=list)

    @property
    def suspicious(self) -> bool:
        return self.score >= 0.5


def detect_injection(text: str, *, _depth: int = 0) -> InjectionReport:
    reasons: list[str] = []
    score = 0.0
    for name, weight, regex in _COMPILED:
        if regex.search(text):
            reasons.append(name)
            score += weight
    hidden = sum(1 for ch in text if ch in _HIDDEN or ord(ch) in _TAGS)
    if hidden >= 3 or any(ord(ch) in _TAGS for ch in text):
        reasons.append(f"hidden_unicode ({hidden} invisible characters)")
        score += 0.5
    if _depth == 0:
        for match in _BASE64.finditer(text):
            blob = match.group(0)
            try:
                decoded = base64.b64decode(blob + "=" * (-len(blob) % 4), validate=True)
                inner = decoded.decode("utf-8")
            except (binascii.Error, ValueError):
                continue
            nested = detect_injection(inner, _depth=1)
            if nested.score >= 0.3:
                reasons.append("encoded_payload (base64: " + ", ".join(nested.reasons) + ")")
                score += 0.6
                break
    return InjectionReport(round(min(score, 1.0), 3), reasons)
