"""The threat library: schema, coverage of AI threats, and controls that exist."""

from __future__ import annotations

import json

import pytest

from annexa.catalog import get_framework
from annexa.errors import InvalidInput, NotFound
from annexa.risk.threats import get_threat, library, list_threats, parse_library


def _names() -> str:
    return " | ".join(t.name.lower() for t in list_threats())


def test_library_loads_with_enough_threats() -> None:
    threats = list_threats()
    assert len(threats) >= 25
    assert len({t.id for t in threats}) == len(threats)
    assert {t.category for t in threats} >= {"ai", "cyber", "people", "physical", "legal"}


def test_every_suggested_control_exists_in_the_catalog() -> None:
    for threat in library().threats:
        for suggestion in threat.suggested_controls:
            requirement = get_framework(suggestion.framework).find(suggestion.ref)
            assert requirement is not None, (threat.id, suggestion)
            assert requirement.ref == suggestion.ref, (threat.id, suggestion)
            assert requirement.kind == "control", (threat.id, suggestion)


@pytest.mark.parametrize(
    "words",
    [
        ("direct prompt injection",),
        ("indirect prompt injection",),
        ("sensitive data", "prompt"),
        ("hallucinat",),
        ("poisoning",),
        ("supply-chain",),
        ("inversion", "extraction"),
        ("shadow ai",),
        ("excessive agency",),
        ("ai act", "gdpr"),
        ("ransomware",),
        ("phishing",),
        ("credential",),
        ("insider",),
        ("lost or stolen",),
        ("supplier",),
        ("unpatched",),
        ("misconfiguration",),
        ("accidental disclosure",),
        ("privileged access",),
        ("backup",),
        ("denial of service",),
        ("physical intrusion",),
        ("fire, flood or power",),
        ("legal or contractual",),
    ],
)
def test_required_threats_are_present(words: tuple[str, ...]) -> None:
    names = [t.name.lower() for t in list_threats()]
    assert any(all(w in name for w in words) for name in names), (words, _names())


def _refs(threat_id: str) -> set[str]:
    return {f"{c.framework}:{c.ref}" for c in get_threat(threat_id).suggested_controls}


def _id_of(words: str) -> str:
    return next(t.id for t in list_threats() if words in t.name.lower())


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ("sensitive data", {"A.8.12", "A.8.11", "A.5.14", "A.5.23", "A.5.12"}),
        ("direct prompt injection", {"A.8.26", "A.8.28", "A.8.16", "iso42001-2023:A.6.2.6"}),
        ("shadow ai", {"A.5.10", "A.5.23", "A.8.23", "A.5.9"}),
        ("excessive agency", {"A.8.2", "A.5.15", "A.8.18", "iso42001-2023:A.9.2"}),
    ],
)
def test_key_suggestions(words: str, expected: set[str]) -> None:
    full = {ref if ":" in ref else f"iso27001-2022:{ref}" for ref in expected}
    assert full <= _refs(_id_of(words))


def test_lookup_and_category_filter() -> None:
    assert get_threat("ai-03").id == "AI-03"
    with pytest.raises(NotFound) as caught:
        get_threat("XX-99")
    assert caught.value.field == "--threat-id"
    ai = list_threats("AI")
    assert ai and all(t.category == "ai" for t in ai)
    with pytest.raises(InvalidInput) as bad:
        list_threats("weather")
    assert bad.value.field == "--category"


@pytest.mark.parametrize(
    "text",
    [
        "threats: []",
        "threats:\n- {id: X-1, name: Bad id, category: ai, description: "
        "'long enough description text', suggested_controls: [{framework: f, ref: A.1.1}]}",
        "threats:\n- {id: T-01, name: No controls, category: ai, description: "
        "'long enough description text', suggested_controls: []}",
        "threats:\n- {id: T-01, name: Unknown category, category: aliens, description: "
        "'long enough description text', suggested_controls: [{framework: f, ref: A.1.1}]}",
    ],
)
def test_invalid_library_is_refused(text: str) -> None:
    with pytest.raises(InvalidInput):
        parse_library(text)


def test_threats_cli() -> None:
    from tests.conftest import make_cli

    cli = make_cli(None)  # the library needs no database
    result = cli("risk", "threats", "--json", "--category", "ai")
    assert result.exit_code == 0, result.output
    threats = json.loads(result.stdout)["threats"]
    assert threats and {t["category"] for t in threats} == {"ai"}
    assert {"framework", "ref"} == set(threats[0]["suggested_controls"][0])
    human = cli("risk", "threats")
    assert human.exit_code == 0 and "AI-01" in human.stdout
    bad = cli("risk", "threats", "--category", "nope")
    assert bad.exit_code == 2 and "--category" in bad.stderr
