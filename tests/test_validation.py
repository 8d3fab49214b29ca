"""Shared input helpers."""

from __future__ import annotations

import pytest

from annexa.validation import plain_number


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1", 1),
        ("0042", 42),
        ("999999999", 999_999_999),
        ("", None),
        (" 1", None),
        ("-1", None),
        ("1.0", None),
        ("²", None),  # str.isdigit() says yes; int() refuses it
        ("1²", None),
        ("١٢", None),  # Arabic-Indic digits: decimal to int(), not to a URL or a header
        ("1234567890", None),  # more than a database INTEGER holds
        ("9" * 5000, None),  # more digits than int() converts at all
    ],
)
def test_plain_number(text: str, expected: int | None) -> None:
    assert plain_number(text) == expected


def test_plain_number_with_more_digits_allowed() -> None:
    assert plain_number("123456789012345678", max_digits=18) == 123456789012345678
    assert plain_number("1234567890123456789", max_digits=18) is None
