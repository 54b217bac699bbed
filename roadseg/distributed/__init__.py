"""roadseg.distributed"""
