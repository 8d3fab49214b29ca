"""Optional NER tier for names and places (PERSON, LOCATION; ORGANIZATION, NRP on request).

Off by default, and the pattern tier never depends on it. It runs offline: a policy names
a spaCy pipeline already on the machine, by package name (``en_core_web_sm``) or folder,
and nothing is downloaded at scan time::

    ner:
      model: en_core_web_sm          # or /srv/models/ner-legal
      entities: [PERSON, LOCATION]   # the default
      score: 0.85

Any object with ``analyze(text) -> list[Finding]`` can stand in (``Guard(ner=...)``). If it
raises, the scan reports ``status="error"`` (fail closed).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any, Protocol

from annexa.errors import InvalidInput
from annexa.guard.findings import Finding, make_finding

# spaCy's labels (OntoNotes and WikiNER schemes) under Presidio's entity names.
LABELS = {
    "PERSON": "PERSON",
    "PER": "PERSON",
    "GPE": "LOCATION",
    "LOC": "LOCATION",
    "FAC": "LOCATION",
    "ORG": "ORGANIZATION",
    "NORP": "NRP",
}
CLASSIFICATION = {"PERSON": "personal", "LOCATION": "personal", "NRP": "personal"}
# The longest name or place the tier reports: bounds what a stream redactor holds back.
MAX_SPAN = 100


class NerBackend(Protocol):
    def analyze(self, text: str) -> list[Finding]: ...


class SpacyNer:
    """Entities from a spaCy pipeline: a trained model, or rules (an ``entity_ruler``)."""

    def __init__(
        self,
        model: str,
        *,
        entities: Iterable[str] = ("PERSON", "LOCATION"),
        score: float = 0.85,
    ):
        self._nlp, self._lock = _pipeline(model)
        self.entities = frozenset(entities)
        self.score = score

    def analyze(self, text: str) -> list[Finding]:
        found: dict[tuple[int, int, str], Finding] = {}
        for offset, segment in segments(text):
            with self._lock:  # a pipeline is not promised to be safe across threads
                doc = self._nlp(segment)
            for ent in doc.ents:
                entity_type = LABELS.get(ent.label_)
                if entity_type not in self.entities or ent.end_char - ent.start_char > MAX_SPAN:
                    continue
                start, end = offset + ent.start_char, offset + ent.end_char
                found[(start, end, entity_type)] = make_finding(
                    entity_type,
                    start,
                    end,
                    self.score,
                    ent.text,
                    "ner",
                    CLASSIFICATION.get(entity_type, "internal"),
                )
        return sorted(found.values(), key=lambda f: (f.start, f.end))


# Text per pipeline call: spaCy refuses more than a million characters, and its memory
# grows with the text.
SEGMENT = 100_000


def segments(text: str, size: int = SEGMENT) -> list[tuple[int, str]]:
    """``text`` in pieces of at most ``size`` characters, with their offsets. Pieces end
    at a line break where one is near; a piece cut elsewhere is followed by one starting
    ``MAX_SPAN`` characters earlier, so a name across the cut is whole in one of them."""
    if len(text) <= size:
        return [(0, text)]
    pieces = []
    start = 0
    while start < len(text):
        end = min(start + size, len(text))
        if end < len(text):
            newline = text.rfind("\n", start + size // 2, end)
            if newline >= 0:
                pieces.append((start, text[start : newline + 1]))
                start = newline + 1
                continue
        pieces.append((start, text[start:end]))
        if end == len(text):
            break
        start = end - MAX_SPAN
    return pieces


_pipelines: dict[str, tuple[Any, threading.Lock]] = {}
_pipelines_lock = threading.Lock()


def _pipeline(model: str) -> tuple[Any, threading.Lock]:
    """The spaCy pipeline ``model``, loaded once per process (loading takes seconds)."""
    with _pipelines_lock:
        if model in _pipelines:
            return _pipelines[model]
    try:
        import spacy  # type: ignore[import-not-found]
    except ImportError:
        raise InvalidInput(
            "the NER tier needs spaCy, which is not installed",
            field="ner.model",
            fix="pip install 'annexa[ner]' and a spaCy pipeline, or remove ner from the policy",
        ) from None
    try:
        nlp = spacy.load(model)
    except OSError:
        raise InvalidInput(
            f"spaCy pipeline {model!r} is not installed here",
            field="ner.model",
            fix=f"install it offline (pip install a model package) or give its folder; "
            f"with network access: python -m spacy download {model}",
        ) from None
    # Only the components that find entities (and what feeds them) run on each text.
    finding = {"tok2vec", "transformer", "ner", "entity_ruler", "span_ruler"}
    nlp.select_pipes(enable=[name for name in nlp.pipe_names if name in finding])
    nlp.max_length = max(nlp.max_length, SEGMENT)
    with _pipelines_lock:
        return _pipelines.setdefault(model, (nlp, threading.Lock()))


def load_ner(
    name: str = "spacy",
    model: str = "en_core_web_sm",
    *,
    entities: Iterable[str] = ("PERSON", "LOCATION"),
    score: float = 0.85,
) -> NerBackend:
    """The backend for ``model`` (its pipeline is loaded once per process)."""
    if name != "spacy":
        raise InvalidInput(
            f"unknown NER backend {name!r}", field="ner.backend", fix="use backend: spacy"
        )
    return SpacyNer(model, entities=entities, score=score)


def from_policy(settings: Any) -> NerBackend:
    """The backend a policy's ``ner`` section names."""
    return load_ner(
        settings.backend, settings.model, entities=settings.entities, score=settings.score
    )
