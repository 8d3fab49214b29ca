"""Optional NER tier for PERSON / LOCATION / ORGANIZATION. Off by default.

The pattern tier never depends on it. A backend is any object with
``analyze(text) -> list[Finding]``; pass it as ``Guard(ner=...)``. If it raises, the scan
reports ``status="error"`` (fail closed).
"""

from __future__ import annotations

from typing import Protocol

from annexa.guard.findings import Finding, GuardError


class NerBackend(Protocol):
    def analyze(self, text: str) -> list[Finding]: ...


class SpacyNer:
    """PERSON/LOCATION/ORGANIZATION from a spaCy pipeline (``pip install spacy`` + a model)."""

    _LABELS = {
        "PERSON": "PERSON",
        "PER": "PERSON",
        "GPE": "LOCATION",
        "LOC": "LOCATION",
        "ORG": "ORGANIZATION",
    }

    def __init__(self, model: str):
        try:
            import spacy  # type: ignore[import-not-found]
        except ImportError:
            raise GuardError(
                f"the NER tier needs spaCy: pip install spacy && python -m spacy download {model}"
            ) from None
        try:
            self._nlp = spacy.load(model)
        except OSError:
            raise GuardError(
                f"spaCy model {model!r} is not installed: python -m spacy download {model}"
            ) from None

    def analyze(self, text: str) -> list[Finding]:
        out = []
        for ent in self._nlp(text).ents:
            label = self._LABELS.get(ent.label_)
            if label:
                out.append(
                    Finding(label, ent.start_char, ent.end_char, 0.85, ent.text, "ner", "personal")
                )
        return out


def load_ner(name: str = "spacy", model: str = "en_core_web_sm") -> NerBackend:
    if name != "spacy":
        raise GuardError(f"unknown NER backend {name!r}; available: spacy")
    return SpacyNer(model)
