"""roadseg.postprocess"""
