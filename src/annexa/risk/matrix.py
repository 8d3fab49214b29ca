"""The risk matrix: scales, score bands and the acceptance threshold (clause 6.1.2 b).

Each organisation may configure its own matrix (stored as JSON on the organisation);
without one the 5x5 default applies. Score = likelihood x impact, and every score the
matrix can produce falls in exactly one named level.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    model_validator,
)

from annexa.errors import InvalidInput
from annexa.risk.defaults import DEFAULT_MATRIX_DATA

MIN_SCALE = 2
MAX_SCALE = 10


class LevelBand(BaseModel):
    """A named level covering the scores ``min``..``max`` (inclusive)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=32)
    min: int = Field(ge=1)
    max: int = Field(ge=1)
    colour: str | None = Field(default=None, max_length=32)

    @model_validator(mode="after")
    def _ordered(self) -> LevelBand:
        if self.min > self.max:
            raise ValueError(f"level {self.name!r}: min {self.min} is above max {self.max}")
        return self


_PALETTES = {
    1: ["red"],
    2: ["green", "red"],
    3: ["green", "yellow", "red"],
    4: ["green", "yellow", "red", "bold red"],
    5: ["green", "yellow", "dark_orange", "red", "bold red"],
}


class RiskMatrix(BaseModel):
    """A likelihood x impact matrix with named score bands."""

    model_config = ConfigDict(extra="forbid")

    likelihood: list[str] = Field(min_length=MIN_SCALE, max_length=MAX_SCALE)
    impact: list[str] = Field(min_length=MIN_SCALE, max_length=MAX_SCALE)
    levels: list[LevelBand] = Field(min_length=1)
    acceptance_threshold: int = Field(ge=1)

    _by_score: dict[int, LevelBand] | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _consistent(self) -> RiskMatrix:
        for axis in ("likelihood", "impact"):
            labels = [label.strip() for label in getattr(self, axis)]
            if any(not label for label in labels):
                raise ValueError(f"{axis}: labels must not be empty")
            if len({label.casefold() for label in labels}) != len(labels):
                raise ValueError(f"{axis}: labels must be unique")
        names = [band.name.strip().casefold() for band in self.levels]
        if len(set(names)) != len(names):
            raise ValueError("levels: names must be unique")
        top = self.max_score
        bands = sorted(self.levels, key=lambda band: band.min)
        for band in bands:
            if band.max > top:
                raise ValueError(
                    f"levels: {band.name!r} reaches {band.max}, above the highest score {top}"
                )
        for before, after in itertools.pairwise(bands):
            if after.min <= before.max:
                raise ValueError(
                    f"levels: {before.name!r} ({before.min}-{before.max}) and "
                    f"{after.name!r} ({after.min}-{after.max}) overlap"
                )
        # Only products of the two scales can occur, so a band may skip e.g. 5 in a 3x3
        # matrix; what matters is that every score the matrix can produce has a level.
        for score in sorted(self.possible_scores()):
            if not any(band.min <= score <= band.max for band in bands):
                raise ValueError(f"levels: score {score} is not covered by any level")
        if self.acceptance_threshold > top:
            raise ValueError(
                f"acceptance_threshold: {self.acceptance_threshold} is above the highest "
                f"score {top}"
            )
        return self

    # -- derived ------------------------------------------------------------
    @property
    def likelihood_size(self) -> int:
        return len(self.likelihood)

    @property
    def impact_size(self) -> int:
        return len(self.impact)

    @property
    def max_score(self) -> int:
        return self.likelihood_size * self.impact_size

    def possible_scores(self) -> set[int]:
        return {
            lk * im
            for lk in range(1, self.likelihood_size + 1)
            for im in range(1, self.impact_size + 1)
        }

    def _score_table(self) -> dict[int, LevelBand]:
        table: dict[int, LevelBand] = {}
        for band in self.levels:
            for score in range(band.min, band.max + 1):
                table[score] = band
        return table

    def band_for_score(self, score: int) -> LevelBand:
        # Built once: listing 50,000 risks looks levels up many times.
        if self._by_score is None:
            self._by_score = self._score_table()
        band = self._by_score.get(score)
        if band is None:
            raise InvalidInput(
                f"score {score} is outside this matrix (1-{self.max_score})",
                field="score",
                fix="assess the risk again on the organisation's current matrix",
            )
        return band

    def colour(self, level_name: str | None) -> str:
        """The Rich style for a level: its own colour, else one by rank (top is loudest)."""
        if level_name is None:
            return "dim"
        ordered = sorted(self.levels, key=lambda band: band.min)
        palette = _PALETTES.get(len(ordered))
        for index, band in enumerate(ordered):
            if band.name == level_name:
                if band.colour:
                    return band.colour
                if palette is None:
                    return _PALETTES[5][min(index, 4)] if index < 4 else "bold red"
                return palette[index]
        return "white"

    def level_name(self, name: str, field: str = "--level") -> str:
        """The canonical spelling of a level name typed by a user."""
        for band in self.levels:
            if band.name.casefold() == name.strip().casefold():
                return band.name
        names = ", ".join(band.name for band in self.levels)
        raise InvalidInput(
            f"{name!r} is not a level of this risk matrix",
            field=field,
            fix=f"use one of: {names}",
        )

    # -- rating ---------------------------------------------------------------
    def check_likelihood(self, value: int | None, field: str = "--likelihood") -> int:
        return _check_scale(value, field, self.likelihood_size)

    def check_impact(self, value: int | None, field: str = "--impact") -> int:
        return _check_scale(value, field, self.impact_size)

    def rate(
        self,
        likelihood: int | None,
        impact: int | None,
        *,
        likelihood_field: str = "--likelihood",
        impact_field: str = "--impact",
    ) -> Rating:
        lk = self.check_likelihood(likelihood, likelihood_field)
        im = self.check_impact(impact, impact_field)
        score = lk * im
        return Rating(lk, im, score, self.band_for_score(score).name)

    def level(self, likelihood: int, impact: int) -> str:
        """The level name for a likelihood and impact, both checked against the scales."""
        return self.rate(likelihood, impact).level

    def grid(self) -> list[list[Rating]]:
        """Rows from the most to the least likely, columns from the least to most impact."""
        return [
            [self.rate(lk, im) for im in range(1, self.impact_size + 1)]
            for lk in range(self.likelihood_size, 0, -1)
        ]

    def to_dict(self) -> dict[str, Any]:
        return {
            "likelihood": list(self.likelihood),
            "impact": list(self.impact),
            "levels": [
                band.model_dump(exclude_none=True)
                for band in sorted(self.levels, key=lambda band: band.min)
            ],
            "acceptance_threshold": self.acceptance_threshold,
            "max_score": self.max_score,
        }


@dataclass(frozen=True)
class Rating:
    likelihood: int
    impact: int
    score: int
    level: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "likelihood": self.likelihood,
            "impact": self.impact,
            "score": self.score,
            "level": self.level,
        }


def _check_scale(value: int | None, field: str, size: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= size:
        raise InvalidInput(
            f"{value!r} is not on this matrix's scale of 1-{size}",
            field=field,
            fix=f"pass a whole number from 1 to {size}",
        )
    return value


DEFAULT_MATRIX = RiskMatrix.model_validate(DEFAULT_MATRIX_DATA)


def parse_matrix(data: Any, field: str | None = "--file") -> RiskMatrix:
    """Validate a matrix document; the first problem becomes one error naming its path.

    ``field`` is what errors name (the CLI's ``--file``); None names the matrix field at
    fault instead (``levels.0.min``, ``acceptance_threshold``), as the API does."""
    if not isinstance(data, dict):
        raise InvalidInput(
            "a risk matrix must be a mapping with likelihood, impact, levels and "
            "acceptance_threshold",
            field=field or "body",
            fix="see `annexa risk matrix --json` for the shape",
        )
    # `risk matrix --json` adds the derived max_score; accept that output as input again.
    data = {key: value for key, value in data.items() if key != "max_score"}
    try:
        return RiskMatrix.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error.get("loc", ()))
        message = str(error.get("msg", "is invalid")).removeprefix("Value error, ")
        raise InvalidInput(
            f"{where + ': ' if where else ''}{message}",
            field=field or where or _field_named(message),
            fix="fix the matrix file (see `annexa risk matrix --json` for the shape)",
        ) from exc


def _field_named(message: str) -> str:
    """The matrix field a whole-matrix check names first (``levels: …``), else ``levels``."""
    head = message.partition(":")[0]
    return head if head in RiskMatrix.model_fields else "levels"


def matrix_of(stored: dict[str, Any] | None) -> RiskMatrix:
    """The matrix an organisation stored, or the default."""
    if not stored:
        return DEFAULT_MATRIX
    return parse_matrix(stored, field="risk_matrix")
