"""The cache never deletes the user's files (issue 22, item 1).

Before: clearing removed every ``<scene stem>.*-*`` in the cache folder, so
``--cache-dir`` pointed at a folder of data lost ``austin.2019-06-01.tif``.
Now a folder that holds other files is refused before work, a folder roadseg
created carries a ``CACHEDIR.TAG`` marker, and clearing removes only entries
with a seal (what the cache wrote itself), whatever else lies beside them.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from roadseg.cli import main
from roadseg.pipeline.cache import CACHE_TAG, StageCache, check_cache_dir, claim_cache_dir
from roadseg.sample.synthetic import write_road_scene

from .conftest import FAST, ROADS


def _digests(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _user_files(folder: Path, stem: str) -> None:
    (folder / f"{stem}.2019-06-01.tif").write_bytes(b"an older scene")
    (folder / f"{stem}.roads-osm.geojson").write_text('{"type": "FeatureCollection"}')
    (folder / f"{stem}.v2-final.tif").write_bytes(b"final")
    (folder / f"{stem}.field-notes.txt").write_text("notes")


def _extract(scene: Path, out: Path, model: Path, cache_dir: str, capsys) -> tuple[int, str]:
    argv = ["extract", str(scene), "-o", str(out), "--weights", str(model), "--cache-dir"]
    rc = main([*argv, cache_dir, *FAST, "--no-progress"])
    return rc, capsys.readouterr().err


@pytest.mark.parametrize("where", ["input-folder", "cwd-dot"])
def test_a_folder_of_data_is_refused_and_kept(tmp_path, model, capsys, monkeypatch, where):
    data = tmp_path / "data"
    data.mkdir()
    scene = write_road_scene(data / "austin.tif", ROADS, height=128, width=192)
    _user_files(data, "austin")
    (tmp_path / "out").mkdir()
    before = _digests(tmp_path)
    if where == "cwd-dot":
        monkeypatch.chdir(data)
        rc, err = _extract(
            Path("austin.tif"), tmp_path / "out" / "roads.geojson", model, ".", capsys
        )
    else:
        rc, err = _extract(scene, tmp_path / "out" / "roads.geojson", model, str(data), capsys)
    assert rc == 2, err
    assert "not a roadseg cache folder" in err and "Traceback" not in err
    assert _digests(tmp_path) == before  # nothing removed, changed or added


def test_clearing_removes_only_sealed_entries(tmp_path, model, capsys):
    """User files that look like entries survive a run in a marked cache folder."""
    cache = claim_cache_dir(tmp_path / "cache")
    scene = write_road_scene(tmp_path / "scene.tif", ROADS, height=128, width=192)
    _user_files(cache, "scene")
    (cache / "scene.probability-0123456789abcdef.tif").write_bytes(b"no seal: not ours")
    before = _digests(cache)
    out = tmp_path / "roads.geojson"
    rc, err = _extract(scene, out, model, str(cache), capsys)
    assert rc == 0, err
    assert out.exists()
    assert _digests(cache) == {**before}  # the run's own entries gone, the rest identical


def test_a_new_cache_folder_is_marked_and_removed_after(tmp_path, model, capsys):
    scene = write_road_scene(tmp_path / "scene.tif", ROADS, height=128, width=192)
    rc, err = _extract(scene, tmp_path / "roads.geojson", model, str(tmp_path / "c"), capsys)
    assert rc == 0, err
    assert not (tmp_path / "c").exists()  # entries and marker cleared, folder removed


@pytest.mark.parametrize("inside", ["", "sub"])
def test_cache_dir_at_or_inside_the_output_is_refused_before_work(tmp_path, model, capsys, inside):
    scene = write_road_scene(tmp_path / "s.tif", ROADS, height=128, width=192)
    (tmp_path / "o").mkdir()
    out = tmp_path / "o" / "roads.geojson"
    before = sorted(os.listdir(tmp_path / "o"))
    rc, err = _extract(scene, out, model, str(out / inside), capsys)
    assert rc == 2, err
    assert "cannot be the output" in err and "Traceback" not in err
    assert sorted(os.listdir(tmp_path / "o")) == before


def test_a_legacy_cache_of_entries_only_is_accepted(tmp_path):
    """A folder written before the marker existed holds only entries: still usable."""
    cache = tmp_path / ".roadseg-cache"
    cache.mkdir()
    (cache / "scene.network-0123456789abcdef.json").write_text("{}")
    (cache / "scene.network-0123456789abcdef.json.sha256").write_text("x 2\n")
    check_cache_dir(cache)
    StageCache(cache, "scene").ensure()
    assert (cache / CACHE_TAG).is_file()
