"""The default risk matrix as plain data: readers that only need a number from it (the
readiness report's acceptance threshold) do not load the pydantic schema in
:mod:`annexa.risk.matrix`, which validates it."""

from __future__ import annotations

from typing import Any

DEFAULT_MATRIX_DATA: dict[str, Any] = {
    "likelihood": ["Rare", "Unlikely", "Possible", "Likely", "Almost certain"],
    "impact": ["Negligible", "Minor", "Moderate", "Major", "Severe"],
    "levels": [
        {"name": "Low", "min": 1, "max": 4},
        {"name": "Medium", "min": 5, "max": 9},
        {"name": "High", "min": 10, "max": 16},
        {"name": "Critical", "min": 17, "max": 25},
    ],
    "acceptance_threshold": 6,
}
