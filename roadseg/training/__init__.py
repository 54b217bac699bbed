"""roadseg.training"""
