"""`annexa catalog` JSON contracts for the commands that need no database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from annexa.cli.main import app


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    # A missing SQLite file: browsing must work without a database and must not create one.
    monkeypatch.delenv("ANNEXA_DATABASE_URL", raising=False)
    monkeypatch.delenv("ANNEXA_ORG", raising=False)
    url = f"sqlite:///{tmp_path}/absent.db"
    runner = CliRunner()

    def call(*args: str) -> Result:
        return runner.invoke(app, ["--db", url, "catalog", *args])

    yield call
    assert not (tmp_path / "absent.db").exists()


def _json(result: Result) -> dict:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_list_json(run) -> None:  # type: ignore[no-untyped-def]
    data = _json(run("list", "--json"))
    rows = {row["id"]: row for row in data["frameworks"]}
    assert rows["iso27001-2022"] == {
        "id": "iso27001-2022",
        "name": "ISO/IEC 27001:2022",
        "version": "2022",
        "requirements": 123,
        "controls": 93,
        "builtin": True,
    }
    assert rows["iso42001-2023"]["controls"] == 38
    assert len(rows) == 7


def test_list_human(run) -> None:  # type: ignore[no-untyped-def]
    result = run("list")
    assert result.exit_code == 0
    assert "iso27001-2022" in result.stdout


def test_show_json_filters(run) -> None:  # type: ignore[no-untyped-def]
    data = _json(run("show", "iso27001-2022", "--json", "--kind", "control", "--group", "people"))
    assert data["id"] == "iso27001-2022" and data["version"] == "2022"
    refs = [r["ref"] for r in data["requirements"]]
    assert refs == [f"A.6.{n}" for n in range(1, 9)]
    assert set(data["requirements"][0]) == {
        "ref",
        "title",
        "kind",
        "group",
        "new_in_2022",
        "description",
    }
    clauses = _json(run("show", "iso42001-2023", "--json", "--kind", "clause"))
    assert len(clauses["requirements"]) == 32


def test_show_human(run) -> None:  # type: ignore[no-untyped-def]
    result = run("show", "eu-ai-act")
    assert result.exit_code == 0
    assert "Art.14" in result.stdout


def test_map_json(run) -> None:  # type: ignore[no-untyped-def]
    data = _json(run("map", "iso27001-2013", "iso27001-2022", "A.13.2.4", "--json"))
    assert data["source"] == {
        "framework": "iso27001-2013",
        "ref": "A.13.2.4",
        "title": "Confidentiality or non-disclosure agreements",
    }
    assert data["targets"] == [
        {
            "ref": "A.6.6",
            "relationship": "equal",
            "title": "Confidentiality or non-disclosure agreements",
        }
    ]
    reverse = _json(run("map", "iso27001-2022", "iso27001-2013", "a.8.15", "--json"))
    assert reverse["source"]["ref"] == "A.8.15"
    assert [t["ref"] for t in reverse["targets"]] == ["A.12.4.1", "A.12.4.2", "A.12.4.3"]
    assert {t["relationship"] for t in reverse["targets"]} == {"superset"}
    new = _json(run("map", "iso27001-2022", "iso27001-2013", "A.5.7", "--json"))
    assert new["targets"] == []


def test_mappings_json(run) -> None:  # type: ignore[no-untyped-def]
    rows = _json(run("mappings", "--json"))["mappings"]
    counts = {(r["source"], r["target"]): r["count"] for r in rows}
    assert counts[("iso27001-2013", "iso27001-2022")] == 114
    assert len(rows) == 6


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("show", "nope"), "framework"),
        (("show", "iso27001-2022", "--kind", "rule"), "--kind"),
        (("show", "iso27001-2022", "--group", "nope"), "--group"),
        (("map", "nope", "iso27001-2022", "A.5.1"), "nope"),
        (("map", "iso27001-2022", "iso27001-2013", "A.99.1"), "A.99.1"),
        (("map", "iso27001-2013", "soc2-2017", "A.5.1.1"), "mapping"),
    ],
)
def test_bad_input_exits_2_with_one_line(run, args, needle) -> None:  # type: ignore[no-untyped-def]
    result = run(*args)
    assert result.exit_code == 2
    # Rich may wrap the message at the terminal width; it is still a single error.
    message = " ".join(result.stderr.split())
    assert message.startswith("error:") and message.count("error:") == 1
    assert needle in message
