"""No output of any command may overwrite one of its inputs (issue 14, item 1).

Each case points an output (or a sidecar of one) at an input and checks: exit
status 2, one line naming the file, the input byte-identical, nothing new in
the folder.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from roadseg.cli import main
from roadseg.errors import InputError
from roadseg.io_guard import check_paths

from .conftest import FAST


def _refused(argv: list[str], victim: Path, folder: Path, capsys) -> str:
    before = victim.read_bytes()
    listing = sorted(os.listdir(folder))
    rc = main(argv)
    err = capsys.readouterr().err.strip()
    assert rc == 2, err
    assert victim.read_bytes() == before
    assert sorted(os.listdir(folder)) == listing
    assert len(err.splitlines()) == 1, err
    assert "would overwrite the input" in err
    return err


def test_predict_output_onto_weights(tmp_path, scene, model, capsys):
    w = tmp_path / "w.safetensors"
    shutil.copyfile(model, w)
    _refused(["predict", str(scene), "-o", str(w), "--weights", str(w)], w, tmp_path, capsys)


def test_predict_output_through_a_symlink(tmp_path, scene, model, capsys):
    link = tmp_path / "link.tif"
    link.symlink_to(scene)
    _refused(
        ["predict", str(scene), "-o", str(link), "--weights", str(model)], scene, tmp_path, capsys
    )


def test_vectorize_mask_out_onto_probability(tmp_path, probability, capsys):
    prob = tmp_path / "prob.tif"
    shutil.copyfile(probability, prob)
    argv = ["vectorize", str(prob), "-o", str(tmp_path / "r.geojson"), "--mask-out", str(prob)]
    err = _refused(argv, prob, tmp_path, capsys)
    assert "--mask-out" in err


def test_vectorize_nodes_sidecar_onto_input(tmp_path, probability, capsys):
    # roads.geojson writes roads.nodes.geojson too: that sidecar is an input here
    prob = tmp_path / "roads.nodes.geojson"
    shutil.copyfile(probability, prob)
    argv = ["vectorize", str(prob), "-o", str(tmp_path / "roads.geojson")]
    _refused(argv, prob, tmp_path, capsys)


def test_vectorize_hard_link_is_the_same_file(tmp_path, probability, capsys):
    prob = tmp_path / "prob.tif"
    shutil.copyfile(probability, prob)
    os.link(prob, tmp_path / "mask.tif")
    argv = [
        "vectorize",
        str(prob),
        "-o",
        str(tmp_path / "r.geojson"),
        "--mask-out",
        str(tmp_path / "mask.tif"),
    ]
    _refused(argv, prob, tmp_path, capsys)


def test_evaluate_json_onto_labels(tmp_path, probability, capsys):
    labels = tmp_path / "labels.tif"
    shutil.copyfile(probability, labels)
    argv = ["evaluate", "--pred", str(probability), "--labels", str(labels), "--json", str(labels)]
    _refused(argv, labels, tmp_path, capsys)


def test_evaluate_plot_onto_prediction(tmp_path, probability, capsys):
    pred = tmp_path / "pred.tif"
    shutil.copyfile(probability, pred)
    argv = ["evaluate", "--pred", str(pred), "--labels", str(probability), "--plot", str(pred)]
    _refused(argv, pred, tmp_path, capsys)


def test_extract_summary_json_onto_scene(tmp_path, scene, model, capsys):
    argv = [
        "extract",
        str(scene),
        "-o",
        str(tmp_path / "r.geojson"),
        "--weights",
        str(model),
        "--summary-json",
        str(scene),
        *FAST,
    ]
    err = _refused(argv, scene, tmp_path, capsys)
    assert "--summary-json" in err


def test_extract_report_onto_evaluate_labels(tmp_path, scene, model, capsys):
    # -o r.geojson writes r.evaluation.json: here that file is the labels
    labels = tmp_path / "r.evaluation.json"
    labels.write_text('{"type": "FeatureCollection", "features": []}')
    argv = [
        "extract",
        str(scene),
        "-o",
        str(tmp_path / "r.geojson"),
        "--weights",
        str(model),
        "--evaluate",
        str(labels),
        *FAST,
    ]
    _refused(argv, labels, tmp_path, capsys)


def test_extract_output_onto_evaluate_labels(tmp_path, scene, model, capsys):
    labels = tmp_path / "labels.geojson"
    labels.write_text('{"type": "FeatureCollection", "features": []}')
    argv = [
        "extract",
        str(scene),
        "-o",
        str(labels),
        "--weights",
        str(model),
        "--evaluate",
        str(labels),
        *FAST,
    ]
    _refused(argv, labels, tmp_path, capsys)


def test_extract_keep_intermediates_mask_onto_other_input(tmp_path, scene, model, capsys):
    # --weights named like the mask the run would keep for scene.tif
    work = tmp_path / "work"
    work.mkdir()
    w = work / "scene.mask.tif"
    shutil.copyfile(model, w)
    argv = [
        "extract",
        str(scene),
        "-o",
        str(tmp_path / "r.geojson"),
        "--weights",
        str(w),
        "--keep-intermediates",
        str(work),
        *FAST,
    ]
    err = _refused(argv, w, work, capsys)
    assert "--keep-intermediates" in err


def test_outputs_may_not_coincide(tmp_path):
    with pytest.raises(InputError, match="written twice"):
        check_paths([("-o", tmp_path / "a.tif"), ("--mask-out", tmp_path / "a.tif")], [])


def test_fifo_input_is_refused(tmp_path):
    fifo = tmp_path / "pipe.tif"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match="FIFO"):
        check_paths([], [("scene", fifo)])


def test_device_input_is_refused():
    with pytest.raises(InputError, match="device"):
        check_paths([], [("scene", "/dev/zero")])


def test_calibrate_output_onto_a_checkpoint(tmp_path, model, capsys):
    ck = tmp_path / "epoch_1.safetensors"
    shutil.copyfile(model, ck)
    csv = tmp_path / "holdout.csv"
    csv.write_text("tile\nx\n")
    argv = [
        "calibrate",
        str(ck),
        "-o",
        str(ck),
        "--holdout-csv",
        str(csv),
        "--images",
        str(tmp_path),
    ]
    _refused(argv, ck, tmp_path, capsys)


def test_data_manifest_onto_its_input(tmp_path, capsys):
    src = tmp_path / "official_split.csv"
    src.write_text("tile,split,image_url,label_url\n")
    _refused(["data", "manifest", str(src), "-o", str(src)], src, tmp_path, capsys)
