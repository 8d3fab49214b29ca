"""Importing frameworks: our format and CISO Assistant libraries, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from annexa.catalog import (
    get_framework,
    import_framework,
    list_frameworks,
    validate_import_file,
)
from annexa.errors import Conflict, InvalidInput, NotFound
from annexa.store.db import Database
from annexa.store.models import CustomFramework, Organisation
from tests.conftest import make_cli

DATA = Path(__file__).parent / "data"
CUSTOM = DATA / "catalog_custom.yaml"
CISO = DATA / "catalog_ciso_library.yaml"


def _org_id(db: Database) -> int:
    with db.reading() as session:
        return session.scalars(select(Organisation.id)).one()


def _count(db: Database) -> int:
    with db.reading() as session:
        return session.scalar(select(func.count()).select_from(CustomFramework)) or 0


def test_import_own_format(db: Database) -> None:
    org_id = _org_id(db)
    with db.transaction() as session:
        fw = import_framework(session, org_id, CUSTOM)
    assert fw.id == "acme-supplier-policy" and not fw.builtin
    with db.reading() as session:
        stored = get_framework("acme-supplier-policy", session, org_id)
        assert [r.ref for r in stored.controls()] == ["GOV-1", "GOV-2", "TEC-1"]
        assert stored.requirement("tec-1").title == "MFA on all admin accounts"
        assert stored.source_format == "annexa"
        assert "acme-supplier-policy" in [f.id for f in list_frameworks(session, org_id)]
    # Imports belong to one organisation; without it the framework is unknown.
    with pytest.raises(NotFound):
        get_framework("acme-supplier-policy")


def test_import_ciso_assistant_library(db: Database) -> None:
    org_id = _org_id(db)
    with db.transaction() as session:
        fw = import_framework(session, org_id, CISO)
    assert fw.id == "example-ai-checklist"
    assert fw.source_format == "ciso-assistant"
    assert fw.version == "3" and fw.publisher == "Example Provider"
    assert [(r.ref, r.group) for r in fw.requirements] == [
        ("GOV.1", "GOV"),
        ("GOV.2", "GOV"),
        ("OPS.1", "OPS-LOG"),
    ]
    assert {g.id: g.title for g in fw.groups} == {"GOV": "Governance", "OPS-LOG": "Logging"}
    # A node without a name takes its description as the title.
    assert fw.requirement("GOV.2").title == "Review the AI policy every year."


def test_import_refuses_builtin_and_duplicate_ids(db: Database, tmp_path: Path) -> None:
    org_id = _org_id(db)
    shadow = tmp_path / "shadow.yaml"
    shadow.write_text(CUSTOM.read_text().replace("acme-supplier-policy", "iso27001-2022"))
    with pytest.raises(Conflict) as error, db.transaction() as session:
        import_framework(session, org_id, shadow)
    assert error.value.field == "id"
    with db.transaction() as session:
        import_framework(session, org_id, CUSTOM)
    with pytest.raises(Conflict), db.transaction() as session:
        import_framework(session, org_id, CUSTOM)
    with db.transaction() as session:
        renamed = import_framework(session, org_id, CUSTOM, framework_id="acme-v2")
    assert renamed.id == "acme-v2"
    assert _count(db) == 2


BAD_FILES = [
    (lambda t: t.replace("ref: GOV-2", "ref: GOV-1"), "requirements[1].ref"),
    (lambda t: t.replace("    group: technical", "    group: nowhere"), "requirements[2].group"),
    (lambda t: t.replace("    title: Named security contact\n", ""), "requirements[0].title"),
    (lambda t: t.replace("id: acme-supplier-policy", "id: Acme Policy"), "id"),
    (lambda t: t.replace("kind: control", "kind: rule", 1), "requirements[0].kind"),
    (lambda t: t + "\n  - ref: [unclosed\n", "file"),
    (lambda t: "just a string\n", "(document)"),
]


def test_import_bad_files_write_nothing(db: Database, tmp_path: Path) -> None:
    # One database for all cases keeps the suite fast; each case must leave it empty.
    org_id = _org_id(db)
    for index, (mutate, field) in enumerate(BAD_FILES):
        bad = tmp_path / f"bad-{index}.yaml"
        bad.write_text(mutate(CUSTOM.read_text()))
        with pytest.raises(InvalidInput) as error, db.transaction() as session:
            import_framework(session, org_id, bad)
        assert error.value.field == field, (index, error.value.one_line())
        assert error.value.fix
    assert _count(db) == 0


def test_import_bad_ciso_library_names_the_node(db: Database, tmp_path: Path) -> None:
    bad = tmp_path / "bad-ciso.yaml"
    bad.write_text(CISO.read_text().replace("ref_id: OPS.1", "ref_id: GOV.1"))
    with pytest.raises(InvalidInput) as error, db.transaction() as session:
        import_framework(session, _org_id(db), bad)
    assert error.value.field == "objects.framework.requirement_nodes[6].ref_id"
    assert _count(db) == 0


def test_cli_import_then_list_and_show(db_url: str) -> None:
    cli = make_cli(db_url)
    result = cli("catalog", "import", str(CISO), "--json")
    assert result.exit_code == 0, result.output
    imported = json.loads(result.stdout)
    assert imported["id"] == "example-ai-checklist"
    assert imported["requirements"] == 3 and imported["builtin"] is False

    listed = json.loads(cli("catalog", "list", "--json").stdout)["frameworks"]
    row = next(r for r in listed if r["id"] == "example-ai-checklist")
    assert row == {
        "id": "example-ai-checklist",
        "name": "Example AI checklist",
        "version": "3",
        "requirements": 3,
        "controls": 3,
        "builtin": False,
    }
    shown = json.loads(cli("catalog", "show", "example-ai-checklist", "--json").stdout)
    assert [r["ref"] for r in shown["requirements"]] == ["GOV.1", "GOV.2", "OPS.1"]

    again = cli("catalog", "import", str(CISO))
    assert again.exit_code == 2
    assert "already imported" in again.stderr


def test_cli_import_errors_exit_2(db_url: str, tmp_path: Path) -> None:
    cli = make_cli(db_url)
    missing = cli("catalog", "import", str(tmp_path / "nope.yaml"))
    assert missing.exit_code == 2 and "file" in missing.stderr


def test_cli_import_needs_a_database(tmp_path: Path) -> None:
    result = make_cli(f"sqlite:///{tmp_path}/absent.db")("catalog", "import", str(CUSTOM))
    assert result.exit_code == 2
    assert "annexa init" in result.stderr


def test_ciso_conversion_fallbacks(tmp_path: Path) -> None:
    # No database needed: validate_import_file runs the same checks as an import.
    text = CISO.read_text().replace("        ref_id: GOV.2\n", "")
    library = tmp_path / "no-ref.yaml"
    library.write_text(text)
    fw = validate_import_file(library)
    assert [r.ref for r in fw.requirements] == ["GOV.1", "gov.2", "OPS.1"]
    own = validate_import_file(CUSTOM)
    assert own.source_format == "annexa" and len(own.requirements) == 3


def test_alias_bomb_is_refused_before_it_expands() -> None:
    from annexa.catalog.loader import parse_yaml
    from annexa.errors import InvalidInput

    lines = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]']
    for level in range(1, 9):
        prev = chr(ord("a") + level - 1)
        name = chr(ord("a") + level)
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 10) + "]")
    bomb = "\n".join(lines) + "\n"
    with pytest.raises(InvalidInput) as caught:
        parse_yaml(bomb, "bomb.yaml", field="yaml")
    assert caught.value.field == "yaml" and "aliases" in str(caught.value)
    # a few ordinary aliases still load
    assert parse_yaml("base: &b {x: 1}\nother: *b\n", "ok.yaml") == {
        "base": {"x": 1},
        "other": {"x": 1},
    }
