"""Provenance: what produced an output (seed, scenario hash, code version)."""

from __future__ import annotations

import hashlib
import platform
import subprocess
from pathlib import Path
from typing import Any

import yaml

from .scenario import Scenario

ROOT = Path(__file__).resolve().parent.parent


def resolved_yaml(scenario: Scenario) -> str:
    """The fully resolved scenario (``extends:`` applied, defaults filled, seed set) as YAML."""
    data = scenario.model_dump(mode="json")
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def scenario_hash(scenario: Scenario) -> str:
    """SHA-256 of the resolved scenario: equal hashes mean identical inputs."""
    return hashlib.sha256(resolved_yaml(scenario).encode("utf-8")).hexdigest()


def code_version() -> str:
    """The git commit of the code (with ``-dirty`` if modified), or ``unknown``."""
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
