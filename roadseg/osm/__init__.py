"""roadseg.osm"""
