"""What kind of input file a YAML file is: a scenario, a network, a sweep or a question.

Told from its top-level keys, so a command given the wrong kind of file can
say so in one line instead of listing every key it did not expect.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .problems import ScenarioError
from .yaml_files import read_yaml

SCENARIO, NETWORK, SWEEP, QUESTION = "scenario", "network", "sweep", "question"

#: What to do with each kind, for the one-line hint.
USE = {
    SCENARIO: "a scenario file: use it with 'run', 'compare' or 'validate', or as a sweep's "
              "base or a network's practice",
    NETWORK: "a network file (it lists practices:): use it with 'network', 'compare' or "
             "'validate'",
    SWEEP: "a sweep file (it has base: and grid: or variants:): use it with 'sweep' or "
           "'validate'",
    QUESTION: "a question file (it has base: and options:): use it with 'choose' or "
              "'validate'",
}


def kind_of(data: Any) -> str:
    """The kind of a parsed file: network, question, sweep or scenario.

    Network: ``practices:``; question: ``base:`` and ``options:``; sweep: ``base:``.
    """
    if isinstance(data, dict):
        if "practices" in data:
            return NETWORK
        if "base" in data and "options" in data:
            return QUESTION
        if "base" in data and not {"population", "clinicians", "roles"} & set(data):
            return SWEEP
    return SCENARIO


def file_kind(path: str | Path) -> str:
    """The kind of the file at ``path`` (:func:`kind_of`); a file that cannot be read raises.

    Raises:
        sim.ScenarioError: the file cannot be read as YAML (named, with the line).
    """
    return kind_of(read_yaml(path, what="an input").data)


def is_network_file(path: str | Path) -> bool:
    """Whether a YAML file is a network (it has ``practices:``); False if it cannot be read."""
    try:
        return file_kind(path) == NETWORK
    except ScenarioError:
        return False


def wrong_kind(path: str | Path, data: Any, expected: str) -> str | None:
    """A one-line hint when ``data`` is not of the ``expected`` kind, else None."""
    kind = kind_of(data)
    if kind == expected:
        return None
    return f"this is {USE[kind]}; the command expects {USE[expected].split(':')[0]}"
