"""The risk matrix: levels at every boundary, custom sizes and refused configurations."""

from __future__ import annotations

import json

import pytest

from annexa.errors import InvalidInput
from annexa.risk.matrix import DEFAULT_MATRIX, DEFAULT_MATRIX_DATA, parse_matrix

THREE_BY_THREE = {
    "likelihood": ["Low", "Medium", "High"],
    "impact": ["Minor", "Moderate", "Major"],
    "levels": [
        {"name": "Low", "min": 1, "max": 2},
        {"name": "Medium", "min": 3, "max": 4},
        {"name": "High", "min": 6, "max": 9},  # 5 cannot occur in a 3x3 matrix
    ],
    "acceptance_threshold": 3,
}


@pytest.mark.parametrize(
    ("likelihood", "impact", "score", "level"),
    [
        (1, 1, 1, "Low"),  # corner
        (2, 2, 4, "Low"),  # top of Low
        (1, 4, 4, "Low"),
        (1, 5, 5, "Medium"),  # corner, bottom of Medium
        (5, 1, 5, "Medium"),  # corner
        (3, 3, 9, "Medium"),  # top of Medium
        (2, 5, 10, "High"),  # bottom of High
        (4, 4, 16, "High"),  # top of High
        (4, 5, 20, "Critical"),  # lowest Critical score that can occur (17-19 cannot)
        (5, 5, 25, "Critical"),  # corner
    ],
)
def test_default_levels(likelihood: int, impact: int, score: int, level: str) -> None:
    rating = DEFAULT_MATRIX.rate(likelihood, impact)
    assert (rating.score, rating.level) == (score, level)
    assert DEFAULT_MATRIX.level(likelihood, impact) == level


def test_default_bands_and_threshold() -> None:
    data = DEFAULT_MATRIX.to_dict()
    assert [(b["name"], b["min"], b["max"]) for b in data["levels"]] == [
        ("Low", 1, 4),
        ("Medium", 5, 9),
        ("High", 10, 16),
        ("Critical", 17, 25),
    ]
    assert data["acceptance_threshold"] == 6
    assert data["likelihood"][0] == "Rare" and data["likelihood"][-1] == "Almost certain"
    assert data["impact"][0] == "Negligible" and data["impact"][-1] == "Severe"


@pytest.mark.parametrize(
    ("likelihood", "impact", "field"),
    [(0, 3, "--likelihood"), (6, 3, "--likelihood"), (3, 0, "--impact"), (3, 7, "--impact")],
)
def test_out_of_range_names_the_field(likelihood: int, impact: int, field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        DEFAULT_MATRIX.level(likelihood, impact)
    assert caught.value.field == field
    assert caught.value.fix == "pass a whole number from 1 to 5"


def test_three_by_three() -> None:
    matrix = parse_matrix(THREE_BY_THREE)
    assert matrix.max_score == 9
    assert matrix.level(1, 1) == "Low"
    assert matrix.level(1, 2) == "Low"
    assert matrix.level(1, 3) == "Medium"
    assert matrix.level(2, 2) == "Medium"
    assert matrix.level(2, 3) == "High"
    assert matrix.level(3, 3) == "High"
    with pytest.raises(InvalidInput) as caught:
        matrix.level(4, 1)
    assert caught.value.fix == "pass a whole number from 1 to 3"
    grid = matrix.grid()
    assert [r.score for r in grid[0]] == [3, 6, 9]  # most likely row first
    assert [r.score for r in grid[-1]] == [1, 2, 3]


def test_rectangular_matrix() -> None:
    data = {
        "likelihood": ["Unlikely", "Possible", "Likely", "Certain"],
        "impact": ["Low", "Medium", "High"],
        "levels": [{"name": "Low", "min": 1, "max": 4}, {"name": "High", "min": 5, "max": 12}],
        "acceptance_threshold": 4,
    }
    matrix = parse_matrix(data)
    assert matrix.level(4, 3) == "High"
    with pytest.raises(InvalidInput) as caught:
        matrix.level(1, 4)
    assert caught.value.field == "--impact"


def _variant(**changes: object) -> dict:
    data = json.loads(json.dumps(THREE_BY_THREE))
    data.update(changes)
    return data


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            _variant(
                levels=[{"name": "Low", "min": 1, "max": 2}, {"name": "High", "min": 4, "max": 9}]
            ),
            "score 3 is not covered",
        ),
        (
            _variant(
                levels=[{"name": "Low", "min": 1, "max": 4}, {"name": "High", "min": 4, "max": 9}]
            ),
            "overlap",
        ),
        (
            _variant(
                levels=[{"name": "Low", "min": 1, "max": 4}, {"name": "High", "min": 5, "max": 8}]
            ),
            "score 9 is not covered",
        ),
        (
            _variant(
                levels=[{"name": "Low", "min": 1, "max": 4}, {"name": "High", "min": 5, "max": 12}]
            ),
            "above the highest score 9",
        ),
        (
            _variant(
                levels=[{"name": "Low", "min": 1, "max": 4}, {"name": "low", "min": 5, "max": 9}]
            ),
            "names must be unique",
        ),
        (_variant(acceptance_threshold=10), "acceptance_threshold"),
        (_variant(likelihood=["Only"]), "likelihood"),
        (_variant(impact=["A", "A", "B"]), "unique"),
        (_variant(levels=[{"name": "All", "min": 5, "max": 1}]), "above max"),
        (_variant(colour_scheme="x"), "colour_scheme"),
    ],
)
def test_invalid_matrix_is_refused(data: dict, message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_matrix(data)
    assert caught.value.field == "--file"
    assert message in caught.value.message


def test_shown_matrix_can_be_stored_again() -> None:
    # `risk matrix --json` output must be a valid `risk matrix set --file` input.
    shown = DEFAULT_MATRIX.to_dict()
    assert parse_matrix(shown).to_dict() == parse_matrix(DEFAULT_MATRIX_DATA).to_dict()
