"""Subcommands of the ``roadseg`` CLI, one module each (see :mod:`roadseg.cli`)."""
