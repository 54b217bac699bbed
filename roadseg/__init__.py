"""roadseg: road networks from high-resolution aerial imagery.

Stages (each a library function with a typed config): :mod:`roadseg.raster`,
:mod:`roadseg.inference`, :mod:`roadseg.postprocess`, :mod:`roadseg.vector`,
:mod:`roadseg.osm`, :mod:`roadseg.evaluation`, :mod:`roadseg.training`.
"""

__version__ = "0.1.0"
