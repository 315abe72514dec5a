"""Provenance: what produced an output (the code's version, the libraries').

Every output's ``metadata.json`` records these beside the seed and the scenario's
hash. Below every other layer: it knows nothing of scenarios.
"""

from __future__ import annotations

import functools
import platform
import subprocess
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


@functools.cache
def code_version() -> str:
    """The git commit of the code (with ``-dirty`` if modified), or ``unknown``.

    Asked of git once per process (the code a process runs is the code it loaded):
    every run of a sweep writes it, and ``git describe --dirty`` checks the whole
    checkout each time (4.6 ms a call here: about 23 s of a 5,000-run sweep's work).
    """
    try:
        rev = subprocess.run(
            ["git", "-C", str(ROOT), "describe", "--always", "--dirty", "--abbrev=12"],
            capture_output=True, text=True, timeout=5, check=True,
        ).stdout.strip()
        return rev or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def environment() -> dict[str, Any]:
    """Versions of Python and the main libraries."""
    import numpy
    import pandas
    import simpy

    return {
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "pandas": pandas.__version__,
        "simpy": simpy.__version__,
    }
