"""Built-in catalog data and the catalog API: counts, ids, themes, mappings, look-ups."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from annexa.catalog import (
    SOA_FRAMEWORKS,
    get_framework,
    list_frameworks,
    list_mappings,
    map_requirement,
)
from annexa.catalog.loader import (
    builtin_frameworks,
    builtin_mappings,
    parse_yaml,
    validate_document,
)
from annexa.catalog.schema import FrameworkDoc, MappingDoc
from annexa.errors import InvalidInput, NotFound

DATA = Path(__file__).parents[1] / "src" / "annexa" / "catalog" / "data"
FRAMEWORK_FILES = sorted((DATA / "frameworks").glob("*.yaml"))
MAPPING_FILES = sorted((DATA / "mappings").glob("*.yaml"))

BUILTIN_IDS = {
    "iso27001-2022",
    "iso27001-2013",
    "iso42001-2023",
    "soc2-2017",
    "gdpr-art32",
    "nis2-art21",
    "eu-ai-act",
}
NEW_IN_2022 = {
    "A.5.7",
    "A.5.23",
    "A.5.30",
    "A.7.4",
    "A.8.9",
    "A.8.10",
    "A.8.11",
    "A.8.12",
    "A.8.16",
    "A.8.23",
    "A.8.28",
}


def _targets(source: str, target: str, ref: str) -> set[str]:
    return {t for t, _ in map_requirement(source, target, ref)}


# --- every file validates -------------------------------------------------------------


@pytest.mark.parametrize("path", FRAMEWORK_FILES, ids=lambda p: p.name)
def test_framework_file_validates(path: Path) -> None:
    doc = validate_document(FrameworkDoc, parse_yaml(path.read_text(), path.name), path.name)
    assert doc.id == path.stem


@pytest.mark.parametrize("path", MAPPING_FILES, ids=lambda p: p.name)
def test_mapping_file_validates_and_refs_exist(path: Path) -> None:
    doc = validate_document(MappingDoc, parse_yaml(path.read_text(), path.name), path.name)
    assert path.stem == f"{doc.source}__{doc.target}"
    # Exact spelling, not the tolerant look-up: data files must be canonical.
    source_refs = {r.ref for r in get_framework(doc.source).requirements}
    target_refs = {r.ref for r in get_framework(doc.target).requirements}
    for entry in doc.mappings:
        assert entry.source in source_refs, entry.source
        for item in entry.targets:
            assert item.ref in target_refs, item.ref


def test_loader_reads_every_file() -> None:
    assert set(builtin_frameworks()) == BUILTIN_IDS == {p.stem for p in FRAMEWORK_FILES}
    assert len(builtin_mappings()) == len(MAPPING_FILES) == 6


def test_framework_ids_are_slugs_and_soa_frameworks_exist() -> None:
    for framework in list_frameworks():
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", framework.id)
        assert framework.builtin
    assert set(SOA_FRAMEWORKS) <= BUILTIN_IDS
    assert [f.id for f in list_frameworks()][:2] == list(SOA_FRAMEWORKS)


def test_every_requirement_has_a_title_and_known_group() -> None:
    for framework in list_frameworks():
        group_ids = {g.id for g in framework.groups}
        for requirement in framework.requirements:
            assert requirement.title.strip()
            assert requirement.group in group_ids


# --- ISO/IEC 27001:2022 ----------------------------------------------------------------


def test_iso27001_2022_counts_and_themes() -> None:
    fw = get_framework("iso27001-2022")
    assert len(fw.controls()) == 93
    assert len(fw.clauses()) == 30
    themes = {}
    for control in fw.controls():
        themes[control.group] = themes.get(control.group, 0) + 1
    assert themes == {"organizational": 37, "people": 8, "physical": 14, "technological": 34}
    assert all(c.ref.startswith("A.") for c in fw.controls())
    assert {c.ref for c in fw.clauses()} >= {"4.1", "6.1.3", "6.3", "9.2.2", "10.2"}


def test_iso27001_2022_new_controls() -> None:
    fw = get_framework("iso27001-2022")
    assert {r.ref for r in fw.requirements if r.new_in_2022} == NEW_IN_2022
    assert {r.ref for r in builtin_frameworks()["iso27001-2013"].requirements if r.new_in_2022} == (
        set()
    )


def test_iso27001_2022_spot_checks() -> None:
    fw = get_framework("iso27001-2022")
    assert fw.requirement("A.5.14").title == "Information transfer"
    assert fw.requirement("A.6.6").title == "Confidentiality or non-disclosure agreements"
    assert fw.requirement("A.8.34").title == (
        "Protection of information systems during audit testing"
    )
    assert fw.requirement("A.7.4").group == "physical"
    assert fw.requirement("10.1").title == "Continual improvement"
    assert fw.requirement("6.1.3").kind == "clause"
    assert all(r.description for r in fw.requirements)


def test_iso27001_2013_counts() -> None:
    fw = get_framework("iso27001-2013")
    assert len(fw.controls()) == 114
    sections = {}
    for control in fw.controls():
        sections[control.group] = sections.get(control.group, 0) + 1
    assert sections == {
        "A.5": 2, "A.6": 7, "A.7": 6, "A.8": 10, "A.9": 14, "A.10": 2, "A.11": 15,
        "A.12": 14, "A.13": 7, "A.14": 13, "A.15": 5, "A.16": 7, "A.17": 4, "A.18": 8,
    }  # fmt: skip
    clauses = [c.ref for c in fw.clauses()]
    assert "6.3" not in clauses
    assert fw.requirement("10.1").title == "Nonconformity and corrective action"
    assert fw.requirement("10.2").title == "Continual improvement"
    assert fw.requirement("A.18.2.3").title == "Technical compliance review"


def test_iso42001_counts_and_groups() -> None:
    fw = get_framework("iso42001-2023")
    assert len(fw.controls()) == 38
    assert len(fw.clauses()) == 32
    assert {c.group for c in fw.controls()} == {f"A.{n}" for n in range(2, 11)}
    assert fw.requirement("A.6.2.8").title == "AI system recording of event logs"
    assert fw.requirement("8.4").title == "AI system impact assessment"
    assert len(fw.in_group("A.6")) == 9


def test_other_framework_counts() -> None:
    assert len(get_framework("soc2-2017").requirements) == 61
    assert len(get_framework("gdpr-art32").requirements) == 7
    assert len(get_framework("nis2-art21").requirements) == 10
    assert [r.ref for r in get_framework("eu-ai-act").requirements] == [
        f"Art.{n}" for n in range(9, 16)
    ]
    assert get_framework("nis2-art21").requirement("21(2)(h)").kind == "article"


# --- look-ups ----------------------------------------------------------------------------


def test_requirement_lookup_is_tolerant() -> None:
    fw = get_framework(" ISO27001-2022 ")
    assert fw.requirement("a.5.7").ref == "A.5.7"
    assert fw.requirement("5.7").ref == "A.5.7"  # no clause 5.7, so the prefix is implied
    assert fw.requirement("5.1").kind == "clause"  # exact match wins over the A. prefix
    assert fw.requirement("A.5.1").kind == "control"
    assert fw.find("A.9.9") is None


def test_unknown_ref_and_framework_raise_not_found() -> None:
    with pytest.raises(NotFound) as ref_error:
        get_framework("iso27001-2022").requirement("A.9.9")
    assert ref_error.value.field == "ref" and ref_error.value.fix
    with pytest.raises(NotFound) as fw_error:
        get_framework("iso27001-2099")
    assert fw_error.value.field == "framework"
    assert "annexa catalog list" in (fw_error.value.fix or "")


# --- 2013 -> 2022 mapping ----------------------------------------------------------------


def test_every_2013_control_maps_to_2022() -> None:
    for control in get_framework("iso27001-2013").controls():
        assert map_requirement("iso27001-2013", "iso27001-2022", control.ref), control.ref


def test_information_transfer_rows() -> None:
    for ref in ("A.13.2.1", "A.13.2.2", "A.13.2.3"):
        assert map_requirement("iso27001-2013", "iso27001-2022", ref) == [("A.5.14", "subset")]
    assert map_requirement("iso27001-2013", "iso27001-2022", "A.13.2.4") == [("A.6.6", "equal")]


def test_2013_spot_checks() -> None:
    for ref in ("A.12.4.1", "A.12.4.2", "A.12.4.3"):
        assert _targets("iso27001-2013", "iso27001-2022", ref) == {"A.8.15"}
    assert _targets("iso27001-2013", "iso27001-2022", "A.9.2.1") == {"A.5.16"}
    assert map_requirement("iso27001-2013", "iso27001-2022", "A.18.2.3") == [
        ("A.5.36", "intersect"),
        ("A.8.8", "intersect"),
    ]
    assert _targets("iso27001-2013", "iso27001-2022", "A.8.3.2") == {"A.7.10", "A.7.14"}
    assert map_requirement("iso27001-2013", "iso27001-2022", "A.6.2.1") == [("A.8.1", "subset")]
    assert map_requirement("iso27001-2013", "iso27001-2022", "A.12.6.1") == [("A.8.8", "subset")]


def test_2022_controls_and_their_2013_sources() -> None:
    for control in get_framework("iso27001-2022").controls():
        sources = map_requirement("iso27001-2022", "iso27001-2013", control.ref)
        if control.ref in NEW_IN_2022:
            assert sources == [], control.ref
        else:
            assert sources, control.ref


def test_reverse_mapping_inverts_relationships() -> None:
    assert map_requirement("iso27001-2022", "iso27001-2013", "A.5.14") == [
        ("A.13.2.1", "superset"),
        ("A.13.2.2", "superset"),
        ("A.13.2.3", "superset"),
    ]
    assert map_requirement("iso27001-2022", "iso27001-2013", "A.6.6") == [("A.13.2.4", "equal")]
    assert ("A.18.2.3", "intersect") in map_requirement("iso27001-2022", "iso27001-2013", "A.8.8")
    assert ("A.8.24", "intersect") in map_requirement("nis2-art21", "iso27001-2022", "21(2)(h)")


def test_map_requirement_errors() -> None:
    with pytest.raises(NotFound):
        map_requirement("iso27001-2013", "soc2-2017", "A.5.1.1")  # no mapping set
    with pytest.raises(NotFound) as error:
        map_requirement("iso27001-2022", "iso27001-2013", "A.99.1")
    assert error.value.field == "ref"
    with pytest.raises(NotFound):
        map_requirement("nope", "iso27001-2013", "A.5.1")


# --- cross-framework mappings -------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "ref", "expected"),
    [
        ("nis2-art21", "21(2)(h)", {"A.8.24"}),
        ("nis2-art21", "21(2)(b)", {"A.5.24", "A.5.25", "A.5.26", "A.5.27", "A.5.28", "A.6.8"}),
        ("nis2-art21", "21(2)(c)", {"A.5.29", "A.5.30", "A.8.13", "A.8.14"}),
        ("nis2-art21", "21(2)(d)", {"A.5.19", "A.5.20", "A.5.21", "A.5.22", "A.5.23"}),
        ("nis2-art21", "21(2)(j)", {"A.8.5", "A.5.14"}),
        ("nis2-art21", "21(2)(f)", {"A.5.35", "A.5.36"}),
        ("gdpr-art32", "32(1)(a)", {"A.8.11", "A.8.24"}),
        ("gdpr-art32", "32(1)(c)", {"A.8.13", "A.8.14", "A.5.29", "A.5.30"}),
        ("gdpr-art32", "32(4)", {"A.6.2", "A.6.3", "A.6.6", "A.5.10", "A.5.20"}),
        ("eu-ai-act", "Art.12", {"A.8.15", "A.8.16"}),
        ("eu-ai-act", "Art.9", {"A.5.7", "A.5.8"}),
    ],
)
def test_cross_framework_reverse_lookups(target: str, ref: str, expected: set[str]) -> None:
    assert _targets(target, "iso27001-2022", ref) == expected


def test_cross_framework_forward_spot_checks() -> None:
    assert _targets("iso27001-2022", "nis2-art21", "A.6.4") == {"21(2)(i)"}
    assert {"A.8.7", "A.8.8", "A.8.16"} <= _targets("eu-ai-act", "iso27001-2022", "Art.15")
    assert _targets("iso27001-2022", "iso42001-2023", "A.8.15") == {"A.6.2.8"}
    assert _targets("iso27001-2022", "iso42001-2023", "A.6.8") == {"A.3.3"}
    assert _targets("iso27001-2022", "soc2-2017", "A.8.32") == {"CC8.1"}
    assert _targets("iso27001-2022", "soc2-2017", "A.8.6") == {"A1.1"}
    assert {"P1.1", "P8.1"} <= _targets("iso27001-2022", "soc2-2017", "A.5.34")
    # Map only Annex A controls, never clauses, to the other frameworks.
    for mapping in builtin_mappings().values():
        if mapping.source == "iso27001-2022":
            assert all(e.source.startswith("A.") for e in mapping.mappings)


def test_list_mappings() -> None:
    pairs = {(m.source, m.target): m.count for m in list_mappings()}
    assert pairs[("iso27001-2013", "iso27001-2022")] == 114
    assert {t for s, t in pairs if s == "iso27001-2022"} == {
        "soc2-2017",
        "gdpr-art32",
        "nis2-art21",
        "eu-ai-act",
        "iso42001-2023",
    }


# --- schema errors name the field ---------------------------------------------------------


def _framework(**overrides: object) -> dict:
    doc: dict = {
        "id": "tiny",
        "name": "Tiny",
        "version": "1",
        "publisher": "Me",
        "groups": [{"id": "g", "title": "G"}],
        "requirements": [
            {"ref": "R1", "title": "One", "kind": "control", "group": "g"},
            {"ref": "R2", "title": "Two", "kind": "clause", "group": "g"},
        ],
    }
    doc.update(overrides)
    return doc


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"id": "Not A Slug"}, "id"),
        ({"name": None}, "name"),
        (
            {"requirements": [{"ref": "R1", "title": "x", "kind": "control", "group": "g"}] * 2},
            "requirements[1].ref",
        ),
        (
            {"requirements": [{"ref": "R1", "title": "x", "kind": "control", "group": "zzz"}]},
            "requirements[0].group",
        ),
        (
            {"requirements": [{"ref": "R1", "title": "x", "kind": "rule", "group": "g"}]},
            "requirements[0].kind",
        ),
        (
            {"requirements": [{"title": "x", "kind": "control", "group": "g"}]},
            "requirements[0].ref",
        ),
        ({"titel": "typo"}, "titel"),
    ],
)
def test_framework_schema_errors_name_the_field(overrides: dict, field: str) -> None:
    with pytest.raises(InvalidInput) as error:
        validate_document(FrameworkDoc, _framework(**overrides), "tiny.yaml")
    assert error.value.field == field
    assert "tiny.yaml" in error.value.message
    assert error.value.fix


def test_mapping_schema_rejects_bad_relationship_and_duplicates() -> None:
    base = {"source": "a", "target": "b", "mappings": []}
    bad_rel = {
        **base,
        "mappings": [{"source": "X", "targets": [{"ref": "Y", "relationship": "is"}]}],
    }
    with pytest.raises(InvalidInput) as error:
        validate_document(MappingDoc, bad_rel, "m.yaml")
    assert error.value.field == "mappings[0].targets[0].relationship"
    entry = {"source": "X", "targets": [{"ref": "Y", "relationship": "equal"}]}
    with pytest.raises(InvalidInput) as error:
        validate_document(MappingDoc, {**base, "mappings": [entry, entry]}, "m.yaml")
    assert error.value.field == "mappings[1].source"
