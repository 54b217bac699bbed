"""A run's own Dask cluster without workers fails in one line, not by waiting for ever.

Before: a many-scene run whose LocalCluster had no worker left (the fuzzer once saw it
with two 1 x 1 px scenes) waited in ``distributed.as_completed`` for ever. Now the run
looks at the cluster while it waits: no worker for ``NO_WORKERS_S`` (60 s; 1 s here) and
it fails with :class:`NoWorkersError`, one line, exit 2, nothing left behind.
"""

from __future__ import annotations

import time

import pytest

from roadseg.cli import main
from roadseg.pipeline import dask_runner
from roadseg.pipeline.config import load_extract_config
from roadseg.pipeline.dask_runner import NoWorkersError, run_scenes
from roadseg.sample.synthetic import brightness_checkpoint, write_road_scene

ROADS = [((20, 0), (20, 63))]


@pytest.fixture
def inputs(tmp_path):
    model = brightness_checkpoint(tmp_path / "bright.safetensors")
    scenes = [write_road_scene(tmp_path / f"s{i}.tif", ROADS, 48, 64) for i in (1, 2)]
    return model, scenes


@pytest.fixture
def workers_gone(monkeypatch):
    """The run's LocalCluster starts its worker, which then leaves for good before any
    task runs (as when every worker process has died and none is started again)."""
    make = dask_runner._client

    def client_without_workers(*args, **kwargs):
        client = make(*args, **kwargs)
        client.cluster.scale(0)
        deadline = time.monotonic() + 30
        while dask_runner._n_workers(client) and time.monotonic() < deadline:
            time.sleep(0.1)
        return client

    monkeypatch.setattr(dask_runner, "NO_WORKERS_S", 1.0)
    monkeypatch.setattr(dask_runner, "_client", client_without_workers)


def test_a_cluster_that_never_started_a_worker_fails(tmp_path, inputs, monkeypatch):
    model, scenes = inputs
    monkeypatch.setattr(dask_runner, "NO_WORKERS_S", 1.0)
    cfg = load_extract_config(None, {"predict.weights": str(model), "progress": False})
    t0 = time.monotonic()
    with pytest.raises(NoWorkersError, match="no worker for 1 s"):
        run_scenes(scenes, cfg, n_workers=0, cache_dir=tmp_path / "cache")
    assert time.monotonic() - t0 < 60


def test_extract_whose_workers_are_gone_exits_2_in_one_line(tmp_path, inputs, workers_gone,
                                                            capsys):  # fmt: skip
    model, scenes = inputs
    out = tmp_path / "out" / "roads.gpkg"
    out.parent.mkdir()
    argv = ["extract", *map(str, scenes), "-o", str(out), "--weights", str(model),
            "--tile", "64", "--overlap", "8", "--workers", "1", "--no-progress"]  # fmt: skip
    rc = main(argv)
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if not line.startswith("INFO ")]
    assert rc == 2, err
    assert len(lines) == 1 and "had no worker for 1 s" in lines[0], err
    assert list(out.parent.iterdir()) == []
