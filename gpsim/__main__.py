"""``python -m gpsim``: the same command as ``gpsim`` and ``python run.py``."""

from gpsim.cli import entry

entry(prog="gpsim")
