"""roadseg.data"""
