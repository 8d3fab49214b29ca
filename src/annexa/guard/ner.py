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
ENTITIES = ("PERSON", "LOCATION", "ORGANIZATION", "NRP")
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
        self._nlp = nlp
        self.entities = frozenset(entities)
        self.score = score

    def analyze(self, text: str) -> list[Finding]:
        found = []
        for ent in self._nlp(text).ents:
            entity_type = LABELS.get(ent.label_)
            if entity_type in self.entities and ent.end_char - ent.start_char <= MAX_SPAN:
                found.append(
                    make_finding(
                        entity_type,
                        ent.start_char,
                        ent.end_char,
                        self.score,
                        ent.text,
                        "ner",
                        CLASSIFICATION.get(entity_type, "internal"),
                    )
                )
        return found


_loaded: dict[tuple[str, str, frozenset[str], float], NerBackend] = {}
_lock = threading.Lock()


def load_ner(
    name: str = "spacy",
    model: str = "en_core_web_sm",
    *,
    entities: Iterable[str] = ("PERSON", "LOCATION"),
    score: float = 0.85,
) -> NerBackend:
    """The backend for ``model``, loaded once per process (loading takes seconds)."""
    if name != "spacy":
        raise InvalidInput(
            f"unknown NER backend {name!r}", field="ner.backend", fix="use backend: spacy"
        )
    key = (name, model, frozenset(entities), score)
    with _lock:
        backend = _loaded.get(key)
        if backend is None:
            backend = _loaded[key] = SpacyNer(model, entities=entities, score=score)
    return backend


def from_policy(settings: Any) -> NerBackend:
    """The backend a policy's ``ner`` section names."""
    return load_ner(
        settings.backend, settings.model, entities=settings.entities, score=settings.score
    )
