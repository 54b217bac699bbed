"""roadseg: road networks from high-resolution aerial imagery.

Stages (each a library function with a typed config): :mod:`roadseg.raster`,
:mod:`roadseg.inference`, :mod:`roadseg.postprocess`, :mod:`roadseg.vector`,
:mod:`roadseg.osm`, :mod:`roadseg.evaluation`, :mod:`roadseg.training`.

The subpackages re-export their public names lazily (:func:`lazy_exports`): a name is
imported from its module on first use, so that ``roadseg --help``, ``vectorize`` and
``evaluate`` never pay for torch or Dask they do not use.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any

__version__ = "0.1.0"


def lazy_exports(
    package: str, exports: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """A package's module-level ``__getattr__`` and ``__dir__`` for names re-exported lazily.

    ``exports`` maps each public name to the submodule (relative to ``package``) that
    defines it; the submodule is imported when the name is first looked up, and the
    value is then kept on the package.

        >>> getattr_, dir_ = lazy_exports("roadseg.vector", {"VectorizeConfig": "config"})
        >>> getattr_("VectorizeConfig").__name__
        'VectorizeConfig'
        >>> getattr_("nothing")
        Traceback (most recent call last):
        ...
        AttributeError: module 'roadseg.vector' has no attribute 'nothing'
    """

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{module}"), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(exports))

    return __getattr__, __dir__
