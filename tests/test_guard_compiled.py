"""The scanning modules compiled by mypyc (setup.py) find exactly what their Python finds.

Every other guard test runs whichever build is installed; this one runs the plain sources
too, from a copy without the extension modules, in a subprocess, over the same texts."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from benchmarks.guard_corpus import generate, sparse_text

from annexa.guard import COMPILED, Guard
from annexa.guard.compiled import compiled, stale

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(
    not COMPILED, reason="a pure-Python install (ANNEXA_PURE_PYTHON=1, or no compiler)"
)

# findings and redaction of every text, as JSON can carry them
_RUN = r"""
import json, sys
import annexa.guard as guard

assert not guard.COMPILED, "the copy holds no extension modules"
g = guard.Guard()
out = []
for text in json.load(sys.stdin):
    found = [[f.entity_type, f.start, f.end, f.score, f.detector] for f in g.scan(text).findings]
    out.append([found, g.redact(text).text])
json.dump(out, sys.stdout)
"""


def _texts() -> list[str]:
    texts = [s.text for s in generate(1500, seed=31)]
    dense = "\n".join(s.text for s in generate(700, seed=32, core_only=True))
    texts += [dense[:65536], sparse_text(65536, 33)[0]]
    # non-ASCII offsets, a lone surrogate (the re2.Set gate), text glued to values
    texts += [
        "Zoë → jane.doe@example.com, tél. +33 1 42 68 53 00 — IBAN DE89 3704 0044 0532 0130 00",
        "bad \ud800 half: 4111 1111 1111 1111 and 192.168.10.20",
        "x4111111111111111y 078-05-1120 AKIAIOSFODNN7EXAMPLE",
    ]
    return texts


def _scan(guard: Guard, texts: list[str]) -> list[list[object]]:
    out: list[list[object]] = []
    for text in texts:
        findings = guard.scan(text).findings
        found = [[f.entity_type, f.start, f.end, f.score, f.detector] for f in findings]
        out.append([found, guard.redact(text).text])
    return out


def test_the_compiled_guard_finds_what_its_python_finds(tmp_path: Path) -> None:
    shutil.copytree(
        ROOT / "src" / "annexa",
        tmp_path / "annexa",
        ignore=shutil.ignore_patterns("*.so", "__pycache__"),
    )
    texts = _texts()
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    run = subprocess.run(
        [sys.executable, "-c", _RUN],
        input=json.dumps(texts),
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    pure = json.loads(run.stdout)
    native = json.loads(json.dumps(_scan(Guard(), texts)))
    assert sum(len(found) for found, _ in native) > 2000  # the texts do hold findings
    mismatched = [k for k, (a, b) in enumerate(zip(pure, native, strict=True)) if a != b]
    assert not mismatched, (texts[mismatched[0]][:200], pure[mismatched[0]], native[mismatched[0]])


def test_a_compiled_build_reports_itself_and_is_current() -> None:
    assert compiled()
    assert stale() == []
