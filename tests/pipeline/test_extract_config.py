"""ExtractConfig: YAML and TOML files, flags over the file, the model's calibrated threshold."""

from __future__ import annotations

import pytest

from roadseg.errors import InputError
from roadseg.models import CheckpointMeta, build_model, save_checkpoint
from roadseg.pipeline.config import ExtractConfig, load_extract_config
from roadseg.pipeline.stages import choose_run_threshold
from roadseg.tools import extract as tool


def _parse(argv):
    import argparse

    p = argparse.ArgumentParser()
    tool.add_arguments(p)
    return tool.config_from_args(p.parse_args(argv))


def test_yaml_and_toml_give_the_same_config(tmp_path):
    (tmp_path / "c.yaml").write_text(
        "threshold: otsu\n"
        "predict: {tile: 128, overlap: 16, blend: mean, tta: true}\n"
        "vectorize: {min_spur_m: 4, bridge_m: 20}\n"
        "output: {formats: [geojson, gpkg], keep_intermediates: work}\n"
        "cluster: {n_workers: 3, seam_m: 7}\n"
    )
    (tmp_path / "c.toml").write_text(
        'threshold = "otsu"\n'
        '[predict]\ntile = 128\noverlap = 16\nblend = "mean"\ntta = true\n'
        "[vectorize]\nmin_spur_m = 4\nbridge_m = 20\n"
        '[output]\nformats = ["geojson", "gpkg"]\nkeep_intermediates = "work"\n'
        "[cluster]\nn_workers = 3\nseam_m = 7\n"
    )
    a = load_extract_config(tmp_path / "c.yaml")
    b = load_extract_config(tmp_path / "c.toml")
    assert a.to_dict() == b.to_dict()
    assert a.predict.tile == 128 and a.predict.tta is True and a.predict.blend == "mean"
    assert a.vectorize.min_spur_m == 4.0 and isinstance(a.vectorize.min_spur_m, float)
    assert a.cluster.n_workers == 3 and a.cluster.seam_m == 7.0
    # relative paths in a file are relative to the file
    assert a.output.keep_intermediates == str(tmp_path / "work")


def test_flags_override_the_file_and_unset_flags_do_not(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("predict: {tile: 128, tta: true}\nvectorize: {min_spur_m: 4}\nthreshold: 0.7\n")
    c = _parse(["s.tif", "-o", "o.geojson", "-c", str(cfg), "--tile", "96", "--no-tta"])
    assert c.predict.tile == 96 and c.predict.tta is False
    assert c.vectorize.min_spur_m == 4.0 and c.threshold == 0.7  # not given: the file's
    c = _parse(
        [
            "s.tif",
            "-o",
            "o.geojson",
            "-c",
            str(cfg),
            "--set",
            "vectorize.border=none",
            "--threshold",
            "hysteresis:0.2,0.6",
            "--workers",
            "4",
            "--format",
            "gpkg",
        ]
    )
    assert c.vectorize.border == "none" and c.threshold == "hysteresis:0.2,0.6"
    assert c.cluster.n_workers == 4 and c.output.formats == ["gpkg"]


def test_unknown_keys_and_bad_values_name_the_file(tmp_path):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("predict: {tiles: 128}\n")
    with pytest.raises(InputError, match=r"bad\.yaml.*'tiles'"):
        load_extract_config(cfg)
    cfg.write_text("vectorize: {min_spur_m: -3}\n")
    with pytest.raises(InputError, match="min_spur_m"):
        load_extract_config(cfg)
    cfg.write_text("predict: [1, 2]\n")
    with pytest.raises(InputError, match=r"bad\.yaml"):
        load_extract_config(cfg)
    cfg.write_text("threshold: nonsense\n")
    with pytest.raises(InputError, match="nonsense"):
        load_extract_config(cfg)
    with pytest.raises(InputError, match="not found"):
        load_extract_config(tmp_path / "missing.yaml")
    with pytest.raises(InputError, match="KEY=VALUE"):
        _parse(["s.tif", "-o", "o.geojson", "--set", "novalue"])
    with pytest.raises(InputError, match="nope"):
        _parse(["s.tif", "-o", "o.geojson", "--set", "predict.nope=1"])


def test_threshold_defaults_to_the_models_calibrated_one(tmp_path):
    calibrated = tmp_path / "cal.safetensors"
    save_checkpoint(
        calibrated,
        build_model("resunet", filters=[4, 8]),
        CheckpointMeta("resunet", {"filters": [4, 8]}, gsd_m=2.0, threshold=0.3),
    )
    plain = tmp_path / "plain.safetensors"
    save_checkpoint(
        plain,
        build_model("resunet", filters=[4, 8]),
        CheckpointMeta("resunet", {"filters": [4, 8]}, gsd_m=2.0),
    )
    chosen = choose_run_threshold(ExtractConfig(), calibrated)
    assert (chosen.spec.kind, chosen.spec.value, chosen.origin) == ("fixed", 0.3, "model")
    chosen = choose_run_threshold(ExtractConfig(), plain)
    assert (chosen.spec.value, chosen.origin) == (0.5, "default")
    chosen = choose_run_threshold(ExtractConfig(threshold=0.8), calibrated)
    assert (chosen.spec.value, chosen.origin) == (0.8, "config")
    # vectorize.threshold in a file is the same option
    (tmp_path / "c.yaml").write_text("vectorize: {threshold: 0.65}\n")
    assert load_extract_config(tmp_path / "c.yaml").threshold == 0.65


def test_example_config_documents_the_defaults():
    from pathlib import Path

    example = Path(__file__).resolve().parents[2] / "configs" / "extract_example.yaml"
    assert load_extract_config(example).to_dict() == ExtractConfig().to_dict()


def test_extract_without_flags_is_the_dataclass_defaults(monkeypatch):
    import roadseg.tools
    from roadseg.cli import build_parser
    from roadseg.tools.extract import config_from_args

    args = build_parser().parse_args(["extract", "s.tif", "-o", "r.geojson"])
    monkeypatch.setattr(roadseg.tools, "on_terminal", lambda: True)
    assert config_from_args(args).to_dict() == ExtractConfig().to_dict()
    # off a terminal (a log file, this test run) only the progress bars are switched off
    monkeypatch.setattr(roadseg.tools, "on_terminal", lambda: False)
    assert config_from_args(args).to_dict() == {**ExtractConfig().to_dict(), "progress": False}
