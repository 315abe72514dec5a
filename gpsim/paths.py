"""Where the project's shipped files are (shared by the command line, the app and calibration)."""

from __future__ import annotations

from pathlib import Path


def project_root() -> Path:
    """The folder holding ``scenarios/``: the current folder if it has one, else the checkout's."""
    here = Path.cwd()
    if (here / "scenarios" / "default.yaml").is_file():
        return here
    return Path(__file__).resolve().parent.parent
