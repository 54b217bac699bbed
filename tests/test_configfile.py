"""One config loader with typed coercion: extract's configs and train's recipes."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from roadseg.cli import main
from roadseg.configfile import apply_overrides, from_mapping, load_mapping
from roadseg.errors import InputError
from roadseg.pipeline.config import load_extract_config
from roadseg.training import load_recipe, parse_overrides


class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


@dataclass
class Inner:
    size: int = 1
    scale: float = 1.0


@dataclass
class Options:
    lr: float = 1e-3
    epochs: int = 1
    amp: bool = True
    name: str = "a"
    path: Path = Path(".")
    budget: float | None = None
    bands: tuple[int, ...] | str | None = None
    tiles: list[str] = field(default_factory=list)
    args: dict[str, int] = field(default_factory=dict)
    colour: Colour = Colour.RED
    inner: Inner = field(default_factory=Inner)


def test_every_override_gets_its_fields_type():
    got = apply_overrides(
        Options(),
        [
            "lr=3e-4",  # YAML 1.1 reads this as text
            "epochs=5.0",
            "amp=off",
            "name=2020",
            "path=out/run",
            "budget=null",
            "bands=[1, 2, 3]",
            "tiles=a,b",
            "args={x: 2}",
            "colour=blue",
            "inner.scale=2",
        ],
    )
    assert got.lr == 3e-4 and isinstance(got.lr, float)
    assert got.epochs == 5 and isinstance(got.epochs, int)
    assert got.amp is False and got.name == "2020" and got.path == Path("out/run")
    assert got.budget is None and got.bands == (1, 2, 3) and got.tiles == ["a", "b"]
    assert got.args == {"x": 2} and got.colour is Colour.BLUE
    assert got.inner.scale == 2.0 and isinstance(got.inner.scale, float)
    assert apply_overrides(Options(), ["budget=1.5", "bands=1,2"]).budget == 1.5
    assert apply_overrides(Options(), ["bands=1,2"]).bands == "1,2"


@pytest.mark.parametrize(
    "item, words",
    [
        ("lr=fast", "lr: expected a number, got 'fast'"),
        ("epochs=2.5", "epochs: expected a whole number, got 2.5"),
        ("amp=maybe", "amp: expected true or false, got 'maybe'"),
        ("budget=soon", "budget: expected a number, got 'soon'"),
        ("args=3", "args: expected a mapping, got 3"),
        ("args={x: many}", "args.x: expected a whole number, got 'many'"),
        ("colour=green", "colour: 'green' is not one of red, blue"),
        ("inner.size=big", "inner.size: expected a whole number, got 'big'"),
        ("inner.nope=1", "inner: unknown option(s) 'nope'"),
    ],
)
def test_a_bad_value_is_one_line_naming_the_key(item, words):
    with pytest.raises(InputError) as info:
        apply_overrides(Options(), [item])
    assert words in str(info.value) and "\n" not in str(info.value)


def test_yaml_and_toml_files_load_alike(tmp_path):
    (tmp_path / "c.yaml").write_text("lr: 3e-4\ninner: {size: 2}\n")
    (tmp_path / "c.toml").write_text('lr = "3e-4"\n[inner]\nsize = 2\n')
    a = from_mapping(Options, load_mapping(tmp_path / "c.yaml"), source="c.yaml")
    b = from_mapping(Options, load_mapping(tmp_path / "c.toml"), source="c.toml")
    assert a == b and a.lr == 3e-4 and a.inner.size == 2


def test_train_recipe_overrides_are_typed():
    config = load_recipe("cpu_lite", parse_overrides(["lr=3e-4", "epochs=2", "amp=false"]))
    assert (config.lr, config.epochs, config.amp) == (3e-4, 2, False)
    assert isinstance(config.lr, float)
    with pytest.raises(InputError, match="lr: expected a number"):
        load_recipe("cpu_lite", parse_overrides(["lr=fast"]))


def test_train_cli_refuses_a_bad_override_in_one_line(tmp_path, capfd):
    rc = main(["train", "--out", str(tmp_path / "run"), "--set", "lr=fast"])
    err = capfd.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "lr: expected a number, got 'fast'" in err[0]
    assert not (tmp_path / "run").exists()


def test_extract_config_uses_the_same_loader(tmp_path):
    (tmp_path / "c.yaml").write_text("predict: {overlap: '16'}\ncluster: {seam_m: 5}\n")
    config = load_extract_config(tmp_path / "c.yaml", {"vectorize.min_spur_m": "12"})
    assert config.predict.overlap == 16 and config.cluster.seam_m == 5.0
    assert config.vectorize.min_spur_m == 12.0
    with pytest.raises(InputError, match="predict.overlap: expected a whole number"):
        load_extract_config(tmp_path / "c.yaml", {"predict.overlap": "wide"})
