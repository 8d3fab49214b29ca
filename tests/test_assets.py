"""Information assets, the classification scheme and the AI-system register."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import event, insert, select

from annexa.assets import (
    DEFAULT_SCHEME,
    add_asset,
    get_asset,
    get_scheme,
    list_assets,
    parse_scheme,
    remove_asset,
    set_scheme,
)
from annexa.errors import Conflict, InvalidInput, NotFound
from annexa.orgs import create_organisation
from annexa.store.db import Database
from annexa.store.models import Asset, Organisation, Risk, Supplier
from tests.conftest import CliCall


def ok(result) -> dict:  # type: ignore[no-untyped-def]
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout) if result.stdout.lstrip().startswith("{") else {}


def refused(result, field: str) -> str:  # type: ignore[no-untyped-def]
    assert result.exit_code == 2, result.output
    assert f"{field}:" in result.stderr, result.stderr
    return " ".join(result.stderr.split())  # undo Rich's line wrapping


def asset_names(cli: CliCall, *args: str) -> list[str]:
    return [a["name"] for a in ok(cli("asset", "list", *args, "--json"))["assets"]]


def _org(session) -> Organisation:  # type: ignore[no-untyped-def]
    return session.scalar(select(Organisation).where(Organisation.slug == "test-org"))


# --- classification scheme -----------------------------------------------------------


def test_default_scheme(cli: CliCall) -> None:
    scheme = ok(cli("asset", "classification", "--json"))
    assert [lvl["name"] for lvl in scheme["levels"]] == [
        "public",
        "internal",
        "confidential",
        "restricted",
    ]
    assert all(lvl["description"] and lvl["handling"] for lvl in scheme["levels"])
    assert {"client", "personal", "financial", "health", "privileged", "special_category"} <= {
        t["name"] for t in scheme["tags"]
    }
    assert "restricted" in cli("asset", "classification").stdout


def test_scheme_replacement_rules(cli: CliCall, tmp_path: Path) -> None:
    ok(cli("asset", "add", "HR records", "--classification", "internal", "--tag", "personal"))

    drops_level = tmp_path / "drops-level.yaml"
    drops_level.write_text("levels: [public, confidential]\ntags: [personal]\n")
    message = refused(cli("asset", "classification", "set", "--file", str(drops_level)), "level")
    assert "'internal'" in message and "HR records" in message

    drops_tag = tmp_path / "drops-tag.yaml"
    drops_tag.write_text("levels: [public, internal]\ntags: [client]\n")
    assert "'personal'" in refused(
        cli("asset", "classification", "set", "--file", str(drops_tag)), "tag"
    )
    # Neither refusal changed the scheme.
    assert len(ok(cli("asset", "classification", "--json"))["levels"]) == 4

    good = tmp_path / "good.yaml"
    good.write_text(
        "levels:\n"
        "  - name: public\n"
        "  - name: internal\n"
        "    description: staff only\n"
        "    handling: company devices\n"
        "  - name: secret\n"
        "tags:\n"
        "  - personal\n"
        "  - name: matter\n"
        "    description: tied to a client matter\n"
    )
    scheme = ok(cli("asset", "classification", "set", "--file", str(good), "--json"))
    assert [lvl["name"] for lvl in scheme["levels"]] == ["public", "internal", "secret"]
    assert scheme["levels"][1]["handling"] == "company devices"
    assert ok(cli("asset", "classification", "--json")) == scheme
    ok(cli("asset", "add", "Deal room", "--classification", "secret", "--tag", "matter"))
    assert (
        "confidential"
        not in refused(
            cli("asset", "add", "Old", "--classification", "confidential"), "--classification"
        ).split("allowed:")[1]
    )


INVALID_SCHEMES = [
    "levels: [public, [oops",  # not YAML
    "tags: [client]\n",  # no levels
    "levels: []\n",  # empty
    "levels: [public, public]\n",  # duplicate
    "levels: [Top Secret]\n",  # not a token
    "levels: [public]\ncolours: [red]\n",  # unknown key
]


def test_invalid_scheme_files_are_refused(cli: CliCall, tmp_path: Path) -> None:
    path = tmp_path / "scheme.yaml"
    for content in INVALID_SCHEMES:
        path.write_text(content)
        result = cli("asset", "classification", "set", "--file", str(path))
        assert result.exit_code == 2, content
        refused(result, "--file")
    refused(cli("asset", "classification", "set", "--file", str(tmp_path / "no.yaml")), "--file")
    assert len(ok(cli("asset", "classification", "--json"))["levels"]) == 4


def test_parse_scheme_accepts_plain_data() -> None:
    scheme = parse_scheme({"levels": ["Low", {"name": "high", "handling": "lock it"}]})
    assert scheme.level_names == ["low", "high"]
    assert scheme.rank("high") == 1 and scheme.tag_names == []
    assert DEFAULT_SCHEME.rank("restricted") == 3


# --- assets --------------------------------------------------------------------------


def test_add_show_update_asset(cli: CliCall) -> None:
    ok(cli("supplier", "add", "Microsoft"))
    added = ok(
        cli(
            "asset",
            "add",
            "Client matter files",
            "--classification",
            "Confidential",
            "--kind",
            "information",
            "--owner",
            "Head of Practice",
            "--tag",
            "client",
            "--tag",
            "personal",
            "--tag",
            "client",
            "--location",
            "SharePoint",
            "--supplier",
            "Microsoft",
            "--description",
            "All matter documents",
            "--json",
        )
    )
    assert {k: v for k, v in added.items() if k != "updated_at"} == {
        "name": "Client matter files",
        "kind": "information",
        "classification": "confidential",
        "tags": ["client", "personal"],
        "owner": "Head of Practice",
        "location": "SharePoint",
        "supplier": "Microsoft",
        "description": "All matter documents",
    }
    shown = ok(cli("asset", "show", "Client matter files", "--json"))
    assert shown["supplier"] == "Microsoft"
    assert shown["used_by"] == {"risks": [], "ai_systems": []}
    listed = ok(cli("asset", "list", "--json"))["assets"]
    assert listed == [{k: v for k, v in shown.items() if k != "used_by"}]

    updated = ok(
        cli(
            "asset",
            "update",
            "Client matter files",
            "--name",
            "Matter files",
            "--classification",
            "restricted",
            "--tag",
            "privileged",
            "--supplier",
            "",
            "--owner",
            "",
            "--json",
        )
    )
    assert updated["name"] == "Matter files"
    assert updated["classification"] == "restricted"
    assert updated["tags"] == ["privileged"]
    assert updated["supplier"] is None and updated["owner"] is None
    assert updated["location"] == "SharePoint"  # not given, so kept
    cleared = ok(cli("asset", "update", "Matter files", "--tag", "", "--json"))
    assert cleared["tags"] == []

    message = refused(
        cli("asset", "update", "Matter files", "--classification", "top"), "--classification"
    )
    assert "public, internal, confidential, restricted" in message
    assert ok(cli("asset", "show", "Matter files", "--json"))["classification"] == "restricted"
    refused(cli("asset", "show", "Client matter files"), "name")


BAD_ASSET_INPUT = [
    (["--classification", "secret"], "--classification"),
    (["--classification", "internal", "--tag", "gossip"], "--tag"),
    (["--classification", "internal", "--tag", "Not A Tag!"], "--tag"),
    (["--classification", "internal", "--supplier", "Nobody"], "--supplier"),
    (["--classification", "internal", "--kind", "vehicle"], "--kind"),
    (["--classification", "internal", "--owner", "x" * 201], "--owner"),
]


def test_bad_asset_input_writes_nothing(cli: CliCall) -> None:
    for args, field in BAD_ASSET_INPUT:
        message = refused(cli("asset", "add", "Laptop fleet", *args), field)
        if field == "--classification":
            assert "public, internal, confidential, restricted" in message
    assert asset_names(cli) == []


def test_duplicate_asset_name(cli: CliCall) -> None:
    ok(cli("asset", "add", "Laptop fleet", "--classification", "internal", "--kind", "hardware"))
    refused(cli("asset", "add", "Laptop fleet", "--classification", "public"), "name")
    assert ok(cli("asset", "show", "Laptop fleet", "--json"))["classification"] == "internal"


def test_list_filters(cli: CliCall) -> None:
    ok(cli("supplier", "add", "Clio"))
    ok(
        cli(
            "asset",
            "add",
            "Practice system",
            "--classification",
            "confidential",
            "--kind",
            "service",
            "--tag",
            "client",
            "--owner",
            "COO",
            "--supplier",
            "Clio",
        )
    )
    ok(
        cli(
            "asset",
            "add",
            "Payroll",
            "--classification",
            "confidential",
            "--tag",
            "personal",
            "--tag",
            "financial",
            "--owner",
            "CFO",
        )
    )
    ok(cli("asset", "add", "Brochure", "--classification", "public", "--owner", "COO"))

    assert asset_names(cli) == ["Brochure", "Payroll", "Practice system"]
    assert asset_names(cli, "--classification", "confidential") == ["Payroll", "Practice system"]
    assert asset_names(cli, "--tag", "financial") == ["Payroll"]
    assert asset_names(cli, "--owner", "COO") == ["Brochure", "Practice system"]
    assert asset_names(cli, "--kind", "service", "--owner", "COO") == ["Practice system"]
    assert asset_names(cli, "--tag", "health") == []
    rows = ok(cli("asset", "list", "--kind", "service", "--json"))["assets"]
    assert rows[0]["supplier"] == "Clio"
    refused(cli("asset", "list", "--classification", "secret"), "--classification")
    refused(cli("asset", "list", "--tag", "gossip"), "--tag")
    assert "Payroll" in cli("asset", "list").stdout


def test_remove_asset_is_refused_while_in_use(cli: CliCall, db: Database) -> None:
    ok(cli("asset", "add", "Matter files", "--classification", "confidential"))
    ok(cli("asset", "add", "Scratch", "--classification", "public"))
    ok(cli("ai", "add", "Drafting assistant", "--purpose", "drafts", "--asset", "Matter files"))
    with db.transaction() as session:
        org = _org(session)
        risk = Risk(org_id=org.id, ref="R-0007", title="Leak of matter files")
        risk.assets.append(get_asset(session, org, "Matter files"))
        session.add(risk)

    shown = ok(cli("asset", "show", "Matter files", "--json"))
    assert shown["used_by"] == {"risks": ["R-0007"], "ai_systems": ["Drafting assistant"]}
    message = refused(cli("asset", "remove", "Matter files"), "name")
    assert "R-0007" in message and "Drafting assistant" in message

    ok(cli("asset", "remove", "Scratch"))
    assert asset_names(cli) == ["Matter files"]
    refused(cli("asset", "remove", "Scratch"), "name")

    with db.transaction() as session:
        org = _org(session)
        session.delete(session.scalar(select(Risk).where(Risk.ref == "R-0007")))
        session.flush()
        with pytest.raises(Conflict, match="Drafting assistant"):
            remove_asset(session, org, "Matter files")


def test_list_assets_is_a_single_query(db: Database) -> None:
    with db.transaction() as session:
        org = _org(session)
        supplier = Supplier(org_id=org.id, name="Storage Co")
        session.add(supplier)
        session.flush()
        session.execute(
            insert(Asset),
            [
                {
                    "org_id": org.id,
                    "name": f"asset {i:04d}",
                    "classification": "internal",
                    "tags": ["client"] if i % 3 == 0 else [],
                    "supplier_id": supplier.id if i % 2 else None,
                }
                for i in range(1000)
            ],
        )
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    with db.reading() as session:
        org = _org(session)
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            rows = list_assets(session, org)
            tagged = list_assets(session, org, tag="client")
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
    assert len(statements) == 2  # one per call, however many assets and suppliers
    assert len(rows) == 1000 and len(tagged) == 334
    assert rows[1]["supplier"] == "Storage Co" and rows[0]["supplier"] is None


def test_assets_are_isolated_per_organisation(cli: CliCall, db: Database) -> None:
    with db.transaction() as session:
        other = create_organisation(session, "Other Firm", slug="other")
        other_supplier = Supplier(org_id=other.id, name="Their Cloud")
        session.add(other_supplier)
        session.flush()
        add_asset(session, other, "Their files", classification="internal", supplier="Their Cloud")
        add_asset(session, other, "Shared name", classification="public")

    mine = ("--org", "test-org")
    ok(cli(*mine, "asset", "add", "Shared name", "--classification", "restricted"))
    assert asset_names(cli, *[]) if False else True
    listed = ok(cli(*mine, "asset", "list", "--json"))["assets"]
    assert [(a["name"], a["classification"]) for a in listed] == [("Shared name", "restricted")]
    refused(cli(*mine, "asset", "show", "Their files"), "name")
    refused(
        cli(*mine, "asset", "add", "X", "--classification", "public", "--supplier", "Their Cloud"),
        "--supplier",
    )
    refused(
        cli(*mine, "ai", "add", "Bot", "--purpose", "chat", "--asset", "Their files"), "--asset"
    )
    theirs = ok(cli("--org", "other", "asset", "list", "--json"))["assets"]
    assert [a["name"] for a in theirs] == ["Shared name", "Their files"]

    with db.transaction() as session:
        org = _org(session)
        other = session.scalar(select(Organisation).where(Organisation.slug == "other"))
        with pytest.raises(NotFound):
            get_asset(session, org, "Their files")
        # Only this organisation's assets constrain its scheme: the other firm's
        # "internal" asset does not stop us dropping that level.
        set_scheme(session, org, {"levels": ["public", "restricted"]})
        assert get_scheme(org).level_names == ["public", "restricted"]
        assert get_scheme(other).level_names == DEFAULT_SCHEME.level_names
        with pytest.raises(InvalidInput):
            add_asset(session, org, "Y", classification="internal")


# --- AI systems ----------------------------------------------------------------------


def test_ai_system_register(cli: CliCall) -> None:
    ok(cli("supplier", "add", "OpenAI", "--ai-provider", "--personal-data"))
    ok(cli("asset", "add", "Matter files", "--classification", "confidential"))
    ok(cli("asset", "add", "Precedent bank", "--classification", "internal"))
    added = ok(
        cli(
            "ai",
            "add",
            "Drafting assistant",
            "--purpose",
            "First drafts of routine letters",
            "--provider",
            "OpenAI",
            "--model",
            "gpt-4o",
            "--role",
            "deployer",
            "--data-category",
            "client",
            "--data-category",
            "Personal",
            "--oversight",
            "A solicitor reviews every draft",
            "--risk-class",
            "limited",
            "--stage",
            "deployment",
            "--owner",
            "COO",
            "--asset",
            "Matter files",
            "--supplier",
            "OpenAI",
            "--json",
        )
    )
    assert added == {
        "name": "Drafting assistant",
        "purpose": "First drafts of routine letters",
        "provider": "OpenAI",
        "model": "gpt-4o",
        "role": "deployer",
        "data_categories": ["client", "personal"],
        "human_oversight": "A solicitor reviews every draft",
        "risk_class": "limited",
        "lifecycle_stage": "deployment",
        "owner": "COO",
        "supplier": "OpenAI",
        "assets": ["Matter files"],
        "findings": [],
    }
    ok(cli("ai", "add", "Spam filter", "--purpose", "Filter mail"))
    listed = ok(cli("ai", "list", "--json"))["ai_systems"]
    assert [s["name"] for s in listed] == ["Drafting assistant", "Spam filter"]
    assert listed[1]["role"] == "deployer" and listed[1]["risk_class"] == "minimal"
    assert listed[1]["lifecycle_stage"] == "operation"
    assert ok(cli("ai", "show", "Drafting assistant", "--json")) == added

    updated = ok(
        cli(
            "ai",
            "update",
            "Drafting assistant",
            "--stage",
            "operation",
            "--data-category",
            "client",
            "--asset",
            "Precedent bank",
            "--unlink-asset",
            "Matter files",
            "--model",
            "",
            "--json",
        )
    )
    assert updated["lifecycle_stage"] == "operation"
    assert updated["data_categories"] == ["client"]
    assert updated["assets"] == ["Precedent bank"]
    assert updated["model"] is None and updated["provider"] == "OpenAI"
    refused(
        cli("ai", "update", "Drafting assistant", "--unlink-asset", "Matter files"),
        "--unlink-asset",
    )
    assert ok(cli("asset", "show", "Precedent bank", "--json"))["used_by"]["ai_systems"] == [
        "Drafting assistant"
    ]


BAD_AI_INPUT = [
    (["--purpose", ""], "--purpose"),
    (["--purpose", "x", "--role", "owner"], "--role"),
    (["--purpose", "x", "--risk-class", "extreme"], "--risk-class"),
    (["--purpose", "x", "--stage", "deployed"], "--stage"),
    (["--purpose", "x", "--asset", "Nothing"], "--asset"),
    (["--purpose", "x", "--supplier", "Nobody"], "--supplier"),
    (["--purpose", "x", "--data-category", "two words"], "--data-category"),
]


def test_bad_ai_input_writes_nothing(cli: CliCall) -> None:
    for args, field in BAD_AI_INPUT:
        refused(cli("ai", "add", "Bot", *args), field)
    assert ok(cli("ai", "list", "--json")) == {"ai_systems": []}


def test_duplicate_ai_system(cli: CliCall) -> None:
    ok(cli("ai", "add", "Bot", "--purpose", "chat"))
    refused(cli("ai", "add", "Bot", "--purpose", "other"), "name")
    assert ok(cli("ai", "show", "Bot", "--json"))["purpose"] == "chat"
    refused(cli("ai", "show", "Robot"), "name")


def test_prohibited_and_unsupervised_systems_are_recorded_with_findings(cli: CliCall) -> None:
    added = ok(
        cli(
            "ai",
            "add",
            "Emotion camera",
            "--purpose",
            "Infer staff emotions at work",
            "--risk-class",
            "prohibited",
            "--json",
        )
    )
    assert [f["code"] for f in added["findings"]] == ["prohibited_practice"]
    human = " ".join(cli("ai", "show", "Emotion camera").stdout.split())
    assert "prohibited AI practice" in human

    retired = ok(cli("ai", "update", "Emotion camera", "--stage", "retirement", "--json"))
    assert retired["findings"] == []

    ok(cli("supplier", "add", "CV Screen Ltd"))
    screening = ok(
        cli(
            "ai",
            "add",
            "CV screening",
            "--purpose",
            "Rank job applicants",
            "--risk-class",
            "high",
            "--data-category",
            "personal",
            "--supplier",
            "CV Screen Ltd",
            "--json",
        )
    )
    assert [f["code"] for f in screening["findings"]] == [
        "no_human_oversight",
        "supplier_personal_data",
    ]
    ok(cli("supplier", "update", "CV Screen Ltd", "--personal-data"))
    fixed = ok(
        cli("ai", "update", "CV screening", "--oversight", "HR reviews each ranking", "--json")
    )
    assert fixed["findings"] == []
