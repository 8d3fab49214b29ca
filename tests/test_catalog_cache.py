"""The built-in frameworks are validated once per content, then read back from the cache."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from annexa.catalog import cache
from annexa.catalog.loader import builtin_frameworks
from annexa.catalog.models import Framework


@pytest.fixture()
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ANNEXA_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _validated() -> dict[str, Framework]:
    return {fid: Framework.from_doc(doc, builtin=True) for fid, doc in builtin_frameworks().items()}


def _cache_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("catalogs-*.json"))


def test_first_run_validates_and_writes_then_later_runs_read_the_same(folder: Path) -> None:
    first = cache.builtin_framework_views()
    assert first == _validated()
    [written] = _cache_files(folder)
    assert json.loads(written.read_text())["digest"] == cache.data_digest()

    again = cache.builtin_framework_views()
    assert again == first
    assert [f.to_dict() for f in again.values()] == [f.to_dict() for f in first.values()]
    assert again["iso27001-2022"].requirement("5.7").ref == "A.5.7"  # the index is rebuilt
    assert len(again["iso27001-2022"].controls()) == 93

    # And it is the file that answers, not a new validation.
    marked = json.loads(written.read_text())
    marked["frameworks"][0]["requirements"][0]["title"] = "Read from the cache"
    written.write_text(json.dumps(marked))
    assert "Read from the cache" in {
        r.title for f in cache.builtin_framework_views().values() for r in f.requirements
    }


def test_a_damaged_cache_file_is_ignored_and_replaced(folder: Path) -> None:
    cache.builtin_framework_views()
    [written] = _cache_files(folder)
    written.write_bytes(b'{"digest": "')
    assert cache.builtin_framework_views() == _validated()
    assert json.loads(written.read_text())["digest"] == cache.data_digest()


def test_a_cache_file_for_other_content_is_not_used(folder: Path) -> None:
    cache.builtin_framework_views()
    [written] = _cache_files(folder)
    stale = json.loads(written.read_text())
    stale["digest"] = "0" * 64
    stale["frameworks"][0]["requirements"][0]["title"] = "Tampered"
    written.write_text(json.dumps(stale))
    views = cache.builtin_framework_views()
    assert all(r.title != "Tampered" for f in views.values() for r in f.requirements)


def test_the_digest_follows_the_version(monkeypatch: pytest.MonkeyPatch) -> None:
    before = cache.data_digest()
    monkeypatch.setattr(cache, "__version__", "99.0")
    assert cache.data_digest() != before


def test_off_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANNEXA_CACHE_DIR", "off")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache.cache_dir() is None
    assert cache.builtin_framework_views() == _validated()
    assert list(tmp_path.iterdir()) == []


def test_an_unwritable_cache_folder_only_costs_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the folder should be")
    monkeypatch.setenv("ANNEXA_CACHE_DIR", str(blocker / "annexa"))
    assert cache.builtin_framework_views() == _validated()


def test_a_cache_hit_loads_neither_yaml_nor_pydantic(folder: Path) -> None:
    cache.builtin_framework_views()  # fills the cache
    probe = (
        "import sys\n"
        "from annexa.catalog import get_framework\n"
        "assert len(get_framework('iso42001-2023').controls()) == 38\n"
        "print(sorted(m for m in ('yaml', 'pydantic') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
