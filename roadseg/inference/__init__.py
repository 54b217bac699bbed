"""roadseg.inference"""
