"""Checking input files of every kind: the library behind ``run.py validate``.

A file is recognised as a scenario, a network or a sweep
(:mod:`sim.inputs.files`) and checked fully: a network's every practice and
a sweep's every point is resolved and validated, with each problem at the
line where it was written.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from sim.inputs.files import NETWORK, QUESTION, SWEEP, file_kind
from sim.inputs.loading import load_scenario
from sim.inputs.networks import load_network
from sim.inputs.notes import scenario_notes
from sim.inputs.policies import Registry
from sim.inputs.problems import Problem, ScenarioError
from sim.inputs.sweeps import DEFAULT_MAX_RUNS, load_sweep


@dataclasses.dataclass(frozen=True)
class Checked:
    """One file checked: its kind, a one-line description if valid, else its problems."""

    file: str
    kind: str
    summary: str = ""
    problems: tuple[Problem, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """Whether the file is valid."""
        return not self.problems


def check_file(path: str | Path, policies: Registry | None = None,
               max_runs: int = DEFAULT_MAX_RUNS) -> Checked:
    """Recognise and fully check one file (every practice, every sweep point).

    ``max_runs``: a sweep of more runs is refused (before its points are made).
    """
    shown = str(path)
    try:
        kind = file_kind(path)
    except ScenarioError as e:
        return Checked(shown, "unknown", problems=tuple(e.problems))
    try:
        if kind == NETWORK:
            from gpsim.exports import calibrate_network_practices

            net = load_network(path, policies, calibrate_network_practices)
            notes = [n for _, s in net.practices for n in scenario_notes(s)]
            patients = sum(s.population.size for _, s in net.practices)
            hub = f", a hub of {len(net.hub_ids)} clinicians" if net.hub_ids else ""
            summary = (f"network {net.spec.name!r}: {len(net.practices)} practices, "
                       f"{patients:,} patients{hub}")
        elif kind == SWEEP:
            sweep = load_sweep(path, policies, max_runs)
            notes = scenario_notes(sweep.points[0].scenario)
            summary = f"sweep {sweep.spec.name!r}: {sweep.size()}"
        elif kind == QUESTION:
            from gpsim.choose import load as load_question

            q = load_question(path, policies)
            notes = scenario_notes(q.today)
            summary = (f"question {q.spec.name!r}: {len(q.spec.options)} option(s), "
                       f"{q.spec.search.trials} settings to try, up to "
                       f"{q.spec.selection.finalists} finalists")
        else:
            s = load_scenario(path, policies=policies)
            notes = scenario_notes(s)
            changes = "".join(f", then {c.policy.name} from {c.from_date}"
                              for c in s.policy_changes)
            summary = (f"scenario {s.name!r}: {s.population.size:,} patients, "
                       f"{len(s.clinicians)} clinicians, policy {s.policy.name}{changes}")
    except ScenarioError as e:
        return Checked(shown, kind, problems=tuple(e.problems))
    return Checked(shown, kind, summary, notes=tuple(dict.fromkeys(notes)))


def check_files(paths: list[str | Path], policies: Registry | None = None,
                max_runs: int = DEFAULT_MAX_RUNS) -> list[Checked]:
    """:func:`check_file` for each path, in order."""
    return [check_file(p, policies, max_runs) for p in paths]
