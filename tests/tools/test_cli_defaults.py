"""One home per default: every subcommand's parser defaults are its config dataclass's.

For each subcommand the parsed minimal command line is turned into the config the command
runs with (or, where the command hands options to a library function, its defaults are read
next to the dataclass field or signature they come from) and compared with the dataclass's
own defaults: a literal restated in a tool would make these tests fail as soon as the
dataclass changes. And ``--help`` shows the defaults, from the one formatter.
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
from pathlib import Path

import pytest

from roadseg.cli import TOOLS, build_parser
from roadseg.tools import HelpFormatter


def _parse(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(list(argv))


def test_predict_defaults_are_predict_config():
    from roadseg.inference.predictor import PredictConfig
    from roadseg.tools.predict import config_from_args

    got = config_from_args(_parse("predict", "s.tif", "-o", "p.tif"))
    assert dataclasses.replace(got, progress=True) == PredictConfig()


def test_evaluate_defaults_are_evaluate_config():
    from roadseg.evaluation.evaluate import EvaluateConfig
    from roadseg.tools.evaluate import config_from_args

    args = _parse("evaluate", "--pred", "p.tif", "--labels", "l.tif")
    got = config_from_args(args)
    want = EvaluateConfig(pred=[Path("p.tif")], labels=[Path("l.tif")])
    # the threshold is resolved from the prediction raster (its stored level), not a parser default
    assert dataclasses.replace(got, threshold=want.threshold) == want
    assert (got.slack_m, got.rho, got.label_width_m, got.label_width_px) == (3.0, None, 7.0, None)


def test_extract_defaults_are_extract_config():
    from roadseg.pipeline.config import ExtractConfig
    from roadseg.tools.extract import config_from_args

    got = config_from_args(_parse("extract", "s.tif", "-o", "r.geojson", "--progress"))
    assert got == ExtractConfig()


def test_extract_evaluation_flags_reach_the_config():
    from roadseg.tools.extract import config_from_args

    got = config_from_args(
        _parse("extract", "s.tif", "-o", "r.geojson", "--rho", "2", "--label-width-px", "5",
               "--highways", "all", "--buffer-m", "4")  # fmt: skip
    ).evaluation
    assert (got.rho, got.label_width_px, got.highways, got.buffer_m) == (2, 5.0, "all", 4.0)


def test_vectorize_defaults_are_vectorize_config():
    from roadseg.vector.config import VectorizeConfig

    args = vars(_parse("vectorize", "p.tif", "-o", "r.geojson"))
    default = VectorizeConfig()
    for f in dataclasses.fields(VectorizeConfig):
        if f.name in args and f.name not in ("threshold", "band"):
            assert args[f.name] == getattr(default, f.name), f.name


def test_calibrate_defaults():
    from roadseg.evaluation.slack import DEFAULT_SLACK_M
    from roadseg.training.calibrate import calibrate
    from roadseg.training.config import TrainConfig

    args = _parse("calibrate", "a.safetensors", "-o", "best.safetensors")
    train = TrainConfig()
    assert (args.source_gsd, args.device) == (train.source_gsd_m, train.device)
    signature = inspect.signature(calibrate).parameters
    assert args.slack_m == signature["slack_m"].default == DEFAULT_SLACK_M
    assert args.rho is signature["rho"].default is None


def test_train_defaults_are_the_recipes(tmp_path):
    from roadseg.tools.train import config_from_args
    from roadseg.training.config import DEFAULT_RECIPE, load_recipe

    got = config_from_args(_parse("train", "-o", str(tmp_path)))
    assert got == load_recipe(DEFAULT_RECIPE, {"out_dir": str(tmp_path)})


def test_data_defaults():
    from roadseg.data.download import DownloadConfig
    from roadseg.data.generic import GenericConfig
    from roadseg.data.massachusetts import PrepareConfig

    m = _parse("data", "massachusetts", "-o", "root")
    assert (m.retries, m.timeout) == (DownloadConfig().retries, DownloadConfig().timeout_s)
    assert tuple(m.split) == PrepareConfig(root=Path("root")).splits
    g = _parse("data", "generic", "--scenes", "s.tif", "--roads", "r.osm", "-o", "root")
    want = GenericConfig(scenes=[Path("s.tif")], roads=[Path("r.osm")], root=Path("root"))
    assert (g.split, g.width_m) == (want.split, want.width_m)


def test_every_subcommand_has_the_one_formatter_and_an_output_option():
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert set(sub.choices) >= set(TOOLS)

    def walk(p: argparse.ArgumentParser):
        yield p
        for a in p._actions:
            if isinstance(a, argparse._SubParsersAction):
                for child in a.choices.values():
                    yield from walk(child)

    for p in walk(parser):
        assert p.formatter_class is HelpFormatter, p.prog
    writers = {"predict", "extract", "vectorize", "train", "calibrate", "evaluate"}
    for name in writers:
        flags = {s for a in sub.choices[name]._actions for s in a.option_strings}
        assert {"-o", "--output"} <= flags, name


@pytest.mark.parametrize(
    ("argv", "shown"),
    [
        (["predict"], "(default: 14)"),
        (["predict"], "(default: 0.05)"),
        (["evaluate"], "(default: 3)"),
        (["calibrate"], "(default: 3)"),
        (["data", "massachusetts"], "(default: 5)"),
        (["extract"], "(default 14)"),
        (["vectorize"], "(default: 15)"),
    ],
)
def test_help_shows_defaults(argv, shown, capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args([*argv, "--help"])
    assert shown in " ".join(capsys.readouterr().out.split())


def test_version(capsys):
    import roadseg

    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args(["--version"])
    assert exc.value.code == 0 and capsys.readouterr().out.strip() == f"roadseg {roadseg.__version__}"


def test_tta_flag_is_the_same_in_predict_and_extract():
    assert _parse("predict", "s.tif", "-o", "p.tif", "--tta").tta is True
    assert _parse("predict", "s.tif", "-o", "p.tif", "--no-tta").tta is False
    assert _parse("extract", "s.tif", "-o", "r.geojson", "--no-tta").tta is False
