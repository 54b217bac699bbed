"""roadseg.evaluation"""
