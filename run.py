#!/usr/bin/env python3
"""Command line for the continuity-of-care booking simulator (``gpsim`` once installed).

    python run.py                          compare the default practice under the five policies
    python run.py compare A.yaml B.yaml ... [--replications R] [--out DIR] [--workers N]
    python run.py report DIR               re-render a comparison's report from saved results
    python run.py sweep SWEEP.yaml [--workers N] [--scheduler ADDRESS] [--out DIR]
    python run.py network NETWORK.yaml [--workers N] [--replication K] [--out DIR]
    python run.py run SCENARIO [--out DIR] [--seed N] [--replication K] [--set KEY=VALUE ...]
    python run.py validate FILE [FILE ...]
    python run.py schema [--out FILE]
    python run.py indices VISITS.csv --out OUT.csv [--min-visits N] [--from DATE] [--to DATE]
                          [--roles ROLE,...]

Everything is in :mod:`gpsim.cli`; this file only makes the project folder
importable when the project is not installed.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from gpsim.cli import build_parser, entry, main

__all__ = ["build_parser", "main"]

if __name__ == "__main__":
    entry(prog="run.py")
