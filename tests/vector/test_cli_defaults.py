"""``roadseg vectorize``'s defaults are VectorizeConfig's (read from it, not restated)."""

from __future__ import annotations

import dataclasses

from roadseg.cli import build_parser
from roadseg.vector import VectorizeConfig


def test_every_vectorize_flag_defaults_to_the_dataclass():
    args = vars(build_parser().parse_args(["vectorize", "p.tif", "-o", "r.geojson"]))
    defaults = VectorizeConfig()
    shared = [f.name for f in dataclasses.fields(VectorizeConfig) if f.name in args]
    assert len(shared) >= 12
    for name in shared:
        if name == "threshold":
            continue
        assert args[name] == getattr(defaults, name), name
    # the threshold is chosen later: given, else stored in the raster, else 0.5
    assert args["threshold"] is None
