"""A full disk names the output and says that nothing was left (issue 22 item 4).

Before: ``predict scene.tif -o /full/prob.tif`` ended with GDAL's words
(``could not write output (Read failed. See previous exception for details.)`` on
the resampling path, ``not written completely (is the disk full?)`` on the plain
one). Now both say ``no space left on the device of <folder>`` and ``nothing was
left behind``, and libtiff's own lines (``_tiffWriteProc: No space left on device.``,
printed straight to stderr) go to logging at DEBUG instead. The real check needs a small tmpfs (root only); the message logic
is checked everywhere with an ``ENOSPC`` error.
"""

from __future__ import annotations

import errno
import os
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from roadseg.atomic import atomic_path
from roadseg.cli import main
from roadseg.errors import OutputError

from .conftest import FAST

#: a line of roadseg's log (GDAL's own lines look like ``ERROR 1: ...``)
LOGGED = re.compile(r"(INFO|WARNING|ERROR) [A-Za-z_][\w.]*: ")


def test_enospc_names_the_output(tmp_path):
    target = tmp_path / "prob.tif"
    with pytest.raises(OutputError) as info:
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"half")
            raise OSError(errno.ENOSPC, "No space left on device")
    msg = str(info.value)
    assert msg.startswith(f"{target}: could not write output (no space left on the device of")
    assert msg.endswith("nothing was left behind")
    assert list(tmp_path.iterdir()) == []


@pytest.fixture
def full_disk(tmp_path):
    mount = tmp_path / "full"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    ok = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)],
                        capture_output=True).returncode == 0  # fmt: skip
    if not ok:
        pytest.skip("cannot mount a tmpfs here")
    yield mount
    subprocess.run(["umount", str(mount)], check=False)


@pytest.mark.parametrize("gsd", [2, 1, 3])  # plain, device resampling, GDAL warper
def test_predict_on_a_full_disk(tmp_path, full_disk, model, capfd, gsd):
    scene = tmp_path / "noise.tif"
    data = np.random.default_rng(0).integers(0, 255, (3, 384, 384), dtype=np.uint8)
    profile = dict(driver="GTiff", width=384, height=384, count=3, dtype="uint8")
    with rasterio.open(scene, "w", crs="EPSG:32633", transform=from_origin(0, 1000, gsd, gsd),
                       **profile) as ds:  # fmt: skip
        ds.write(data)  # noise: the probabilities do not compress into 64 KiB
    out = full_disk / "prob.tif"
    rc = main(["predict", str(scene), "-o", str(out), "--weights", str(model), *FAST])
    err = capfd.readouterr().err  # file-descriptor level: where libtiff writes
    last = err.strip().splitlines()[-1]
    assert rc == 2, err
    assert last.startswith(f"ERROR roadseg: {out}: ") and "Traceback" not in err
    # no raw libtiff/GDAL line (``_tiffWriteProc: No space left on device.``) before it
    raw = [line for line in err.splitlines() if not LOGGED.match(line)]
    assert raw == [], raw
    assert f"no space left on the device of {full_disk}" in last, last
    assert last.endswith("nothing was left behind")
    assert list(Path(full_disk).iterdir()) == []


def test_many_scenes_on_a_full_disk(tmp_path, full_disk, model, capfd):
    """The scenes' workers write on their own threads: no raw GDAL line from them either
    (``ERROR 1: TIFFWriteDirectorySec:IO error writing directory``, seen before)."""
    data = np.random.default_rng(0).integers(0, 255, (3, 384, 384), dtype=np.uint8)
    profile = dict(driver="GTiff", width=384, height=384, count=3, dtype="uint8")
    scenes = []
    for i, (x0, gsd) in enumerate([(0, 2), (5000, 1)]):  # apart; plain and resampled
        scene = tmp_path / f"noise{i}.tif"
        with rasterio.open(scene, "w", crs="EPSG:32633", transform=from_origin(x0, 1000, gsd, gsd),
                           **profile) as ds:  # fmt: skip
            ds.write(data)
        scenes.append(str(scene))
    out = full_disk / "roads.gpkg"
    argv = ["extract", *scenes, "-o", str(out), "--weights", str(model), *FAST,
            "--workers", "2", "--no-progress"]  # fmt: skip
    rc = main(argv)
    err = capfd.readouterr().err
    assert rc == 4, err
    assert "Traceback" not in err
    raw = [line for line in err.splitlines() if not LOGGED.match(line)]
    assert raw == [], raw
    assert f"no space left on the device of {full_disk}" in err.strip().splitlines()[-1]
    assert list(Path(full_disk).iterdir()) == []
