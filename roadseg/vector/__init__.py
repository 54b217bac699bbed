"""roadseg.vector"""
