"""Names of the GDAL metadata tags roadseg writes into a probability GeoTIFF and reads back.

The predictor writes them (:mod:`roadseg.inference.tags` lists every tag); the threshold
stage and the evaluation read the calibrated level back (:mod:`roadseg.postprocess.level`).
"""

#: The checkpoint's calibrated threshold (a probability), absent when it has none.
THRESHOLD_TAG = "ROADSEG_THRESHOLD"
#: A note a scene may carry on how it was georeferenced (the bundled sample: derived from its
#: tile name); the network's metadata repeats it.
GEOREFERENCING_TAG = "GEOREFERENCING"
