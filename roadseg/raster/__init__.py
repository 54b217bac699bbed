"""roadseg.raster"""
