"""Results where people look, one CLI grammar (issue 18, items 9 and 10).

``extract`` ends with a one-line result on stdout (logs on stderr, no staging path in them);
``vectorize`` warns about an empty network; a run into the same ``-o`` says it replaces the
files; a misspelt ``--weights`` name lists the shipped models, the closest first; Ctrl-C
says the cache was kept for a resumed run.
"""

from __future__ import annotations

import logging

import numpy as np
import pytest
import rasterio

from roadseg.cli import main
from roadseg.errors import InputError
from roadseg.models import resolve_weights

from .conftest import FAST


def test_extract_prints_one_result_line_and_logs_no_staging_path(tmp_path, scene, model, capsys):
    out = tmp_path / "r.geojson"
    labels = tmp_path / "labels.tif"
    with rasterio.open(scene) as ds:  # the scene's roads as labels: bright pixels
        profile = ds.profile | {"count": 1}
        road = (ds.read(1) > 128).astype(np.uint8) * 255
    with rasterio.open(labels, "w", **profile) as ds:
        ds.write(road[None])
    argv = ["extract", str(scene), "-o", str(out), "--weights", str(model), *FAST]
    assert main([*argv, "--evaluate", str(labels)]) == 0
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert len(lines) == 1, captured.out
    assert lines[0].startswith("network: ") and " km of road, " in lines[0]
    assert "relaxed P " in lines[0]  # (this model's probabilities are binary: no break-even)
    assert ".partial" not in captured.err, captured.err


def test_rerun_into_the_same_output_says_it_replaces(tmp_path, probability, caplog):
    out = tmp_path / "r.geojson"
    assert main(["vectorize", str(probability), "-o", str(out)]) == 0
    with caplog.at_level(logging.INFO, logger="roadseg"):
        assert main(["vectorize", str(probability), "--output", str(out)]) == 0
    assert any("replacing the existing" in m and str(out) in m for m in caplog.messages)


def test_vectorize_warns_on_an_empty_network(tmp_path, probability, caplog):
    empty = tmp_path / "empty.tif"
    with rasterio.open(probability) as ds:
        profile = ds.profile
        zeros = np.zeros((1, ds.height, ds.width), np.uint8)
    with rasterio.open(empty, "w", **profile) as ds:
        ds.write(zeros)
    with caplog.at_level(logging.WARNING, logger="roadseg"):
        rc = main(["vectorize", str(empty), "-o", str(tmp_path / "r.geojson"), "--threshold", "0.5"])
    assert rc == 0
    assert any("no roads found" in m and str(empty) in m for m in caplog.messages)


def test_misspelt_weights_lists_the_shipped_models_closest_first():
    with pytest.raises(InputError) as exc:
        resolve_weights("resunet_lite_massachusets")
    text = str(exc.value)
    assert "did you mean resunet_lite_massachusetts?" in text
    assert "resunet_w32_massachusetts" in text  # every shipped model named
    assert text.index("resunet_lite") < text.index("resunet_w32")


def test_misspelt_weights_is_one_line_on_the_command_line(tmp_path, scene, capsys):
    rc = main(["predict", str(scene), "-o", str(tmp_path / "p.tif"), "--weights", "resnet_w32"])
    assert rc == 2
    err = capsys.readouterr().err
    assert "did you mean resunet_w32_massachusetts?" in err and "Traceback" not in err


def test_ctrl_c_says_the_cache_is_kept_for_resume(tmp_path, scene, model, monkeypatch, capsys):
    import roadseg.pipeline.extract as extract

    done_stage = tmp_path / ".roadseg-cache" / "scene.probability-0123456789abcdef.tif"

    def interrupted(*_args, **_kwargs):
        done_stage.parent.mkdir(exist_ok=True)
        done_stage.write_bytes(b"a finished stage")
        raise KeyboardInterrupt

    monkeypatch.setattr(extract, "extract_scene", interrupted)
    out = tmp_path / "r.geojson"
    rc = main(["extract", str(scene), "-o", str(out), "--weights", str(model), *FAST])
    assert rc == 130
    err = capsys.readouterr().err
    assert "interrupted; no partial output was kept" in err
    assert "run the same command to resume" in err and ".roadseg-cache" in err
    # interrupted before any stage was done: no cache to speak of
    done_stage.unlink()
    done_stage.parent.rmdir()
    def interrupted_at_once(*_args, **_kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(extract, "extract_scene", interrupted_at_once)
    rc = main(["extract", str(scene), "-o", str(out), "--weights", str(model), *FAST])
    err = capsys.readouterr().err
    assert rc == 130 and "resume" not in err, err


def test_an_interrupt_wrapped_by_a_library_is_still_an_interrupt(tmp_path, scene, model,
                                                                  monkeypatch, capsys):
    """Ctrl-C while Python creates a class (matplotlib's first import) arrives as a
    RuntimeError caused by the KeyboardInterrupt: reported as an interruption, no traceback."""
    import roadseg.pipeline.extract as extract

    class Interrupting:
        def __set_name__(self, owner, name):
            raise KeyboardInterrupt

    def interrupted_in_a_class_body(*_args, **_kwargs):
        type("Formatter", (), {"locs": Interrupting()})  # __set_name__ runs here

    monkeypatch.setattr(extract, "extract_scene", interrupted_in_a_class_body)
    rc = main(["extract", str(scene), "-o", str(tmp_path / "r.geojson"), "--weights", str(model)])
    assert rc == 130
    assert "interrupted; no partial output was kept" in capsys.readouterr().err
