"""``python -m gpsim``: the same command as ``gpsim`` and ``python run.py``."""

import sys

from gpsim.cli import main

sys.exit(main(prog="gpsim"))
