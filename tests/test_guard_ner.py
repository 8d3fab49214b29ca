"""The optional NER tier: off by default, loaded offline from a policy, fail closed.

The pipeline here is a real spaCy pipeline saved to disk and loaded by folder, the way an
offline installation names its model; its entities come from an ``entity_ruler`` (rules),
so the test needs no trained model and no download.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import spacy
import yaml
from typer.testing import CliRunner

from annexa.cli.main import app
from annexa.errors import InvalidInput
from annexa.guard import Guard, ScanError, StreamRedactor, parse_policy
from annexa.guard.findings import Finding
from tests.conftest import CliCall

TEXT = "Maria Gonzalez from Globex flew to Lisbon; mail maria@example.com or call Dr. Ann Lee."


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> str:
    nlp = spacy.blank("en")
    ruler = nlp.add_pipe("entity_ruler")
    ruler.add_patterns(
        [
            {"label": "PERSON", "pattern": "Maria Gonzalez"},
            {"label": "PERSON", "pattern": "Ann Lee"},
            {"label": "ORG", "pattern": "Globex"},
            {"label": "GPE", "pattern": "Lisbon"},
            # a label the tier does not map: never reported
            {"label": "PRODUCT", "pattern": "Windows"},
        ]
    )
    folder = tmp_path_factory.mktemp("ner") / "pipeline"
    nlp.to_disk(folder)
    return str(folder)


def _policy(pipeline: str, **ner: object) -> dict:
    return {"ner": {"model": pipeline, **ner}}


def _found(findings: list[Finding]) -> list[tuple[str, str]]:
    return [(f.entity_type, f.text) for f in findings]


def test_the_tier_is_off_by_default_and_spacy_is_never_imported() -> None:
    probe = (
        "import sys\n"
        "from annexa.guard import Guard\n"
        "g = Guard()\n"
        f"print(g.ner is None, g.scan({TEXT!r}).findings[0].entity_type, 'spacy' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "EMAIL_ADDRESS", "False"]


def test_names_and_places_from_an_offline_pipeline(pipeline: str) -> None:
    guard = Guard(parse_policy(_policy(pipeline)))
    result = guard.scan(TEXT)
    assert result.status == "ok"
    assert _found(result.findings) == [
        ("PERSON", "Maria Gonzalez"),
        ("LOCATION", "Lisbon"),
        ("EMAIL_ADDRESS", "maria@example.com"),
        ("PERSON", "Ann Lee"),
    ]
    for f in result.findings:
        assert TEXT[f.start : f.end] == f.text
    person = result.findings[0]
    assert (person.detector, person.score, person.classification) == ("ner", 0.85, "personal")


def test_the_policy_chooses_entities_and_score(pipeline: str) -> None:
    policy = parse_policy(_policy(pipeline, entities=["ORGANIZATION"], score=0.6))
    findings = Guard(policy).scan(TEXT).findings
    assert [(f.entity_type, f.text, f.score) for f in findings if f.detector == "ner"] == [
        ("ORGANIZATION", "Globex", 0.6)
    ]


def test_thresholds_allow_list_and_disabled_apply_to_the_tier(pipeline: str) -> None:
    raw = _policy(pipeline, score=0.7)
    raw |= {"thresholds": {"LOCATION": 0.8}, "allow": ["ann lee"], "disabled": []}
    assert _found(Guard(parse_policy(raw)).scan(TEXT).findings) == [
        ("PERSON", "Maria Gonzalez"),
        ("EMAIL_ADDRESS", "maria@example.com"),
    ]
    raw["disabled"] = ["PERSON"]
    assert "PERSON" not in {f.entity_type for f in Guard(parse_policy(raw)).scan(TEXT).findings}


def test_names_are_redacted_by_the_policy(pipeline: str) -> None:
    raw = _policy(pipeline) | {"entities": {"PERSON": "tag", "LOCATION": "redact"}}
    result = Guard(parse_policy(raw)).redact(TEXT)
    assert "Maria" not in result.text and "Lisbon" not in result.text
    assert "<PERSON_1> from Globex flew to" in result.text
    assert result.text.endswith("call Dr. <PERSON_2>.")


def test_a_failing_tier_means_not_scanned() -> None:
    class Broken:
        def analyze(self, text: str) -> list[Finding]:
            raise RuntimeError("model crashed")

    guard = Guard(ner=Broken())
    result = guard.scan(TEXT)
    assert result.status == "error" and not result.clean
    assert "NER tier failed: RuntimeError: model crashed" in result.errors
    with pytest.raises(ScanError):
        guard.redact(TEXT)


def test_a_missing_pipeline_names_the_policy_field(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput) as caught:
        Guard(parse_policy(_policy(str(tmp_path / "no-such-model"))))
    assert caught.value.field == "ner.model"
    with pytest.raises(InvalidInput) as caught:
        parse_policy({"ner": {"model": "x", "entities": ["EMAIL_ADDRESS"]}})
    assert caught.value.field.startswith("ner.entities")


def test_the_cli_scans_with_the_policy_tier(pipeline: str, tmp_path: Path) -> None:
    runner = CliRunner()
    policy = tmp_path / "policy.yaml"
    policy.write_text(yaml.safe_dump(_policy(pipeline)))
    doc = tmp_path / "note.txt"
    doc.write_text(TEXT)
    done = runner.invoke(app, ["guard", "scan", "--policy", str(policy), str(doc), "--json"])
    assert done.exit_code == 0, done.output
    types = [f["entity_type"] for f in json.loads(done.stdout)["results"][0]["findings"]]
    assert types == ["PERSON", "LOCATION", "EMAIL_ADDRESS", "PERSON"]

    policy.write_text(yaml.safe_dump(_policy(str(tmp_path / "missing"))))
    done = runner.invoke(app, ["guard", "scan", "--policy", str(policy), str(doc)])
    assert done.exit_code == 2
    assert "ner.model" in done.output


def test_a_stream_redacts_names_split_across_chunks(pipeline: str) -> None:
    guard = Guard(parse_policy(_policy(pipeline) | {"entities": {"PERSON": "tag"}}))
    whole = guard.redact(TEXT).text
    for size in (1, 3, 7, 20):
        stream = StreamRedactor(guard)
        out = "".join(stream.feed(TEXT[i : i + size]) for i in range(0, len(TEXT), size))
        assert out + stream.close() == whole


def test_the_api_applies_the_organisation_policy_tier(
    pipeline: str, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.api_support import ORG_A, make_api

    for name in ("ANNEXA_GUARD_MASTER_KEY", "ANNEXA_GUARD_MASTER_KEY_FILE", "ANNEXA_GUARD_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ANNEXA_GUARD_POLICY_DIR", str(tmp_path))
    (tmp_path / f"{ORG_A}.yaml").write_text(
        yaml.safe_dump(_policy(pipeline) | {"default_action": "tag"}), encoding="utf-8"
    )
    api = make_api(db_url)
    try:
        scanned = api.send("editor", "POST", f"/api/v1/orgs/{ORG_A}/guard/scan", {"text": TEXT})
        assert scanned.status_code == 200, scanned.text
        types = [f["entity_type"] for f in scanned.json()["findings"]]
        assert types == ["PERSON", "LOCATION", "EMAIL_ADDRESS", "PERSON"]
        redacted = api.send("editor", "POST", f"/api/v1/orgs/{ORG_A}/guard/redact", {"text": TEXT})
        assert redacted.status_code == 200, redacted.text
        assert redacted.json()["text"].startswith("<PERSON_1> from Globex flew to <LOCATION_1>")

        (tmp_path / f"{ORG_A}.yaml").write_text(
            yaml.safe_dump(_policy(str(tmp_path / "gone"))), encoding="utf-8"
        )
        refused = api.send("editor", "POST", f"/api/v1/orgs/{ORG_A}/guard/scan", {"text": TEXT})
        assert refused.status_code == 422
        assert refused.json()["error"]["field"] == "ner.model"
    finally:
        api.database.dispose()


def test_long_documents_are_read_in_segments_without_losing_a_name(pipeline: str) -> None:
    from annexa.guard.ner import MAX_SPAN, SEGMENT, segments

    guard = Guard(parse_policy(_policy(pipeline)))
    filler = "lorem ipsum " * (SEGMENT // 12)
    # one name across the first cut (no line break near it), one after a line break
    before = filler[: SEGMENT - 10] + " "
    text = before + "Maria Gonzalez flew on. " + filler + "\nAnn Lee in Lisbon.\n"
    text += filler * 2
    pieces = segments(text)
    assert len(pieces) > 2
    assert all(len(piece) <= SEGMENT for _, piece in pieces)
    assert all(text[offset : offset + len(piece)] == piece for offset, piece in pieces)
    assert pieces[1][0] == SEGMENT - MAX_SPAN  # cut mid-line: the next piece overlaps
    assert text.index("Gonzalez") < SEGMENT < text.index("Gonzalez") + 8
    found = [f for f in guard.scan(text).findings if f.detector == "ner"]
    assert [(f.entity_type, f.text) for f in found] == [
        ("PERSON", "Maria Gonzalez"),
        ("PERSON", "Ann Lee"),
        ("LOCATION", "Lisbon"),
    ]
    assert all(text[f.start : f.end] == f.text for f in found)


def test_the_cli_ner_option_turns_the_tier_on(pipeline: str, tmp_path: Path) -> None:
    runner = CliRunner()
    doc = tmp_path / "note.txt"
    doc.write_text(TEXT)
    done = runner.invoke(app, ["guard", "scan", "--ner", pipeline, str(doc), "--json"])
    assert done.exit_code == 0, done.output
    types = [f["entity_type"] for f in json.loads(done.stdout)["results"][0]["findings"]]
    assert types == ["PERSON", "LOCATION", "EMAIL_ADDRESS", "PERSON"]
    # with a policy: its entities and actions, the option's pipeline
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        yaml.safe_dump(
            {"ner": {"model": "not-used", "entities": ["ORGANIZATION"]}, "default_action": "redact"}
        )
    )
    done = runner.invoke(
        app, ["guard", "redact", "--policy", str(policy), "--ner", pipeline], input=TEXT
    )
    assert done.exit_code == 0, done.output
    assert (
        done.stdout
        == "Maria Gonzalez from [REDACTED] flew to Lisbon; mail [REDACTED] or call Dr. Ann Lee."
    )
    for bad, field in [("", "--ner"), (str(tmp_path / "missing"), "--ner")]:
        done = runner.invoke(app, ["guard", "scan", "--ner", bad, str(doc)])
        assert done.exit_code == 2, done.output
        assert field in done.output


def test_names_go_to_the_vault_and_come_back(
    pipeline: str, cli: CliCall, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("ANNEXA_GUARD_MASTER_KEY", "ANNEXA_GUARD_MASTER_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("ANNEXA_GUARD_POLICY_DIR", raising=False)
    redacted = cli("guard", "redact", "--vault", "--ner", pipeline, input=TEXT)
    assert redacted.exit_code == 0, redacted.output
    assert redacted.stdout == (
        "<PERSON_1> from Globex flew to <LOCATION_1>; "
        "mail <EMAIL_ADDRESS_1> or call Dr. <PERSON_2>."
    )
    back = cli("guard", "restore", input=redacted.stdout)
    assert back.exit_code == 0, back.output
    assert back.stdout == TEXT
