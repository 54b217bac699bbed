"""The extract job: scene(s) in, one georeferenced road network (and report) out.

* :mod:`roadseg.pipeline.config` -- :class:`ExtractConfig`, every stage's options;
* :mod:`roadseg.pipeline.stages` -- the stages of one scene (inference, the run's
  threshold, vectorisation), shared by both jobs;
* :mod:`roadseg.pipeline.extract` -- the one-scene job (:func:`extract_scene`);
* :mod:`roadseg.pipeline.multi` and :mod:`roadseg.pipeline.dask_runner` -- the
  many-scene job on Dask, networks merged across scene borders;
* :mod:`roadseg.pipeline.evaluate` -- the evaluation step of both jobs;
* :mod:`roadseg.pipeline.cache` -- resumable stage outputs;
* :mod:`roadseg.pipeline.inputs`, :mod:`roadseg.pipeline.summary` -- scene lists, run summaries.

Nothing is imported here, so importing one module does not pull in the others.
"""
