"""Checkpoints: safetensors weights + roadseg JSON metadata; never unpickled."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from roadseg.errors import InputError
from roadseg.models import (
    CheckpointError,
    CheckpointMeta,
    Normalisation,
    build_model,
    default_weights_path,
    load_checkpoint,
    resolve_weights,
    save_checkpoint,
)
from roadseg.models.checkpoint import SHIPPED_MODELS, read_meta


class _Trap:
    """Unpickling this creates ``marker``: proof that a file was unpickled."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # noqa: ANN204
        return (Path.touch, (self.marker,))


def _save(tmp_path: Path, name: str = "resunet", **arch_args) -> tuple[Path, torch.nn.Module]:
    torch.manual_seed(0)
    model = build_model(name, **arch_args)
    # move BN statistics away from their defaults so the round trip checks buffers too
    model.train()
    with torch.no_grad():
        model(torch.randn(2, 3, 32, 32))
    meta = CheckpointMeta(
        architecture=name,
        arch_args=arch_args,
        normalisation=Normalisation(scale=255.0, mean=[0.4, 0.4, 0.4], std=[0.2, 0.2, 0.2]),
        gsd_m=1.2,
        threshold=0.37,
        provenance={"data": "unit test"},
    )
    path = tmp_path / f"{name}.safetensors"
    save_checkpoint(path, model, meta)
    return path, model.eval()


@pytest.mark.parametrize(
    ("name", "arch_args"),
    [
        ("resunet", {"filters": [8, 16, 32, 64]}),
        ("res_unet", {"filter_root": 4, "depth": 3}),
        ("unet", {"filters": [4, 8, 16]}),
        ("resunet2d", {"filters": 2, "batch_norm": True}),
    ],
)
def test_round_trip_gives_the_same_outputs(tmp_path: Path, name: str, arch_args: dict) -> None:
    path, model = _save(tmp_path, name, **arch_args)
    loaded, meta = load_checkpoint(path)
    assert not loaded.training
    assert meta.architecture == name and meta.arch_args == arch_args
    assert (meta.threshold, meta.gsd_m, meta.normalisation.mean) == (0.37, 1.2, [0.4, 0.4, 0.4])
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(loaded(x), model(x))
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # atomic: no temp left


def test_band_mismatch_names_the_scene(tmp_path: Path) -> None:
    path, _ = _save(tmp_path, filters=[4, 8])
    meta = read_meta(path)
    meta.check_bands(3, "scene.tif")  # fits: no error
    with pytest.raises(
        CheckpointError, match=r"^scene\.tif: has 4 band\(s\) but the model expects 3"
    ):
        meta.check_bands(4, "scene.tif")
    assert issubclass(CheckpointError, InputError) and issubclass(CheckpointError, ValueError)


def test_metadata_that_contradicts_the_weights_names_the_file(tmp_path: Path) -> None:
    model = build_model("resunet", filters=[4, 8])
    path = tmp_path / "lying.safetensors"
    four = Normalisation(mean=[0.5] * 4, std=[0.25] * 4)
    save_checkpoint(path, model, CheckpointMeta("resunet", {"filters": [4, 8]}, in_bands=4, normalisation=four))
    with pytest.raises(CheckpointError, match=f"^{re.escape(str(path))}: the metadata's model has [0-9,]+ values but the file holds"):
        load_checkpoint(path)
    save_checkpoint(path, model, CheckpointMeta("no_such_net", {}))
    with pytest.raises(
        CheckpointError, match=f"^{re.escape(str(path))}: unknown model 'no_such_net'"
    ):
        load_checkpoint(path)


def test_corrupt_and_foreign_files_are_refused(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"\x00\x01not a checkpoint" * 10)
    with pytest.raises(
        CheckpointError, match=f"^{re.escape(str(garbage))}: not a safetensors checkpoint"
    ):
        load_checkpoint(garbage)

    path, _ = _save(tmp_path, filters=[4, 8])
    truncated = tmp_path / "truncated.safetensors"
    truncated.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(CheckpointError, match=f"^{re.escape(str(truncated))}"):
        load_checkpoint(truncated)

    missing = tmp_path / "missing.safetensors"
    with pytest.raises(
        CheckpointError, match=f"^{re.escape(str(missing))}: checkpoint file not found"
    ):
        load_checkpoint(missing)


def test_a_pickle_is_never_unpickled(tmp_path: Path) -> None:
    marker = tmp_path / "UNPICKLED"
    evil = tmp_path / "evil.pt"
    torch.save({"state_dict": _Trap(marker)}, evil)
    disguised = tmp_path / "evil.safetensors"
    disguised.write_bytes(evil.read_bytes())
    for target in (evil, disguised):
        with pytest.raises(CheckpointError, match=f"^{re.escape(str(target))}: not a safetensors"):
            load_checkpoint(target)
        assert not marker.exists()
    # the trap is real: a pickle loader does run it
    torch.load(evil, weights_only=False)
    assert marker.exists()


def test_metadata_without_roadseg_key_or_bad_json(tmp_path: Path) -> None:
    state = build_model("resunet", filters=[4, 8]).state_dict()
    bare = tmp_path / "bare.safetensors"
    save_file(dict(state), str(bare), metadata={"format": "pt"})
    with pytest.raises(
        CheckpointError, match=f"^{re.escape(str(bare))}: safetensors file without roadseg metadata"
    ):
        load_checkpoint(bare)
    broken = tmp_path / "broken.safetensors"
    save_file(dict(state), str(broken), metadata={"roadseg": "{not json"})
    with pytest.raises(
        CheckpointError, match=f"^{re.escape(str(broken))}: unreadable roadseg metadata"
    ):
        read_meta(broken)


def test_meta_json_round_trip_ignores_unknown_keys() -> None:
    meta = CheckpointMeta("unet", {"filters": "lite"}, in_bands=4, band_names=list("rgbn"),
                          normalisation=Normalisation(mean=[0.5] * 4, std=[0.25] * 4))
    raw = json.loads(meta.to_json())
    raw["added_in_a_later_version"] = 1
    again = CheckpointMeta.from_json(json.dumps(raw))
    assert again == meta


def test_default_weights_path_is_inside_the_package() -> None:
    path = default_weights_path()
    assert path.name == "resunet_w32_massachusetts.safetensors"
    assert path.parent.name == "weights" and path.parent.parent.name == "roadseg"


def _with_meta(tmp_path: Path, raw_meta: str) -> Path:
    """A file with real small weights and the given (hostile) metadata text."""
    model = build_model("resunet", filters=[4, 8])
    path = tmp_path / "hostile.safetensors"
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(path), metadata={"roadseg": raw_meta})
    return path


def _good_meta() -> dict:
    return json.loads(CheckpointMeta("resunet", {"filters": [4, 8]}).to_json())


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"gsd_m": 0}, "gsd_m=0: expected metres per pixel"),
        ({"gsd_m": -2.0}, "gsd_m=-2.0"),
        ({"gsd_m": "1m"}, "gsd_m='1m'"),
        ({"in_bands": "3"}, "in_bands='3'"),
        ({"in_bands": 100000}, "in_bands=100000"),
        ({"threshold": 7}, "threshold=7"),
        ({"tile": 2}, "tile=2"),
        ({"arch_args": {"filters": [4, 8, 10_000_000]}}, "arch_args.filters="),
        ({"arch_args": {"filters": [[4]]}}, "nested values"),
        ({"arch_args": "lite"}, "arch_args='lite': expected a mapping"),
        ({"normalisation": {"scale": 255.0, "mean": [0.5] * 3, "std": [0.25, 0.0, 0.25]}}, "every std must be > 0"),
        ({"normalisation": {"scale": 255.0, "mean": [0.5] * 2, "std": [0.25] * 3}}, "mean has 2 value"),
        ({"normalisation": {"scale": 0, "mean": [0.5] * 3, "std": [0.25] * 3}}, "normalisation.scale=0"),
        ({"provenance": []}, "provenance=[]: expected a mapping"),
        ({"architecture": 3}, "architecture=3"),
    ],
)
def test_metadata_schema_refuses_with_one_line(tmp_path: Path, change: dict, message: str) -> None:
    raw = {**_good_meta(), **change}
    path = _with_meta(tmp_path, json.dumps(raw))
    with pytest.raises(CheckpointError, match=re.escape(message)) as info:
        read_meta(path)
    assert str(info.value).startswith(str(path)) and "\n" not in str(info.value)


def test_deeply_nested_or_huge_metadata_is_refused_without_parsing(tmp_path: Path) -> None:
    deep = json.dumps(_good_meta())[:-1] + ', "provenance": ' + "[" * 100_000 + "]" * 100_000 + "}"
    with pytest.raises(CheckpointError, match="nested 100001 deep"):
        read_meta(_with_meta(tmp_path, deep))
    huge = json.dumps({**_good_meta(), "provenance": {"x": "a" * (2 << 20)}})
    with pytest.raises(CheckpointError, match="more than 1048576"):
        read_meta(_with_meta(tmp_path, huge))


def test_parameter_count_is_compared_before_allocating(tmp_path: Path) -> None:
    """Metadata promising a 4096-wide, 64-level network is refused from the header alone."""
    big = {**_good_meta(), "arch_args": {"filters": [4096] * 12}}
    path = _with_meta(tmp_path, json.dumps(big))
    with pytest.raises(CheckpointError, match="describes a model of [0-9,]+ values"):
        load_checkpoint(path)
    wider = {**_good_meta(), "arch_args": {"filters": [8, 16]}}
    with pytest.raises(CheckpointError, match="the metadata's model has [0-9,]+ values but the file holds"):
        load_checkpoint(_with_meta(tmp_path, json.dumps(wider)))


@pytest.mark.parametrize("name", sorted(SHIPPED_MODELS))
def test_shipped_models_load_by_name_and_pass_the_schema(name: str) -> None:
    path = resolve_weights(name)
    assert path == default_weights_path().parent / SHIPPED_MODELS[name]
    model, meta = load_checkpoint(path)
    assert meta.gsd_m > 0 and len(meta.normalisation.std) == meta.in_bands
    # each shipped model carries a threshold calibrated on the official valid tiles
    assert meta.threshold is not None and 0 < meta.threshold < 1
    assert len(meta.metrics["heldout_tiles"]) == 14


def test_resolve_weights_takes_a_path_or_the_default(tmp_path: Path) -> None:
    assert resolve_weights(None) == default_weights_path()
    assert resolve_weights(tmp_path / "mine.safetensors") == tmp_path / "mine.safetensors"
