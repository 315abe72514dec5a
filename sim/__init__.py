"""The simulation engine, in layers (each imports only the layers above it in this list).

* :mod:`sim.codes`: the integer codes every layer shares;
* :mod:`sim.inputs`: scenario, network and sweep files: schema, loading,
  checks, list and CSV import, policy names;
* :mod:`sim.world`: what a run draws before its first booking: patients,
  cohorts, teams, demand, workforce, leave, slots (:class:`sim.world.build.World`);
* :mod:`sim.engine`: booking: the calendar, the policy interface, the two
  booking desks (reference and compiled) and the clock;
* :mod:`sim.outcomes`: A&E proxies and the results tables;
* :mod:`sim.runs`: one run, batches, sweeps, networks, the executor, atomic
  writing, provenance.

Typical use from a notebook::

    from sim import simulate
    res = simulate("scenarios/default.yaml", seed=1)
    res.appointments, res.requests, res.clinician_days

``sim`` never plots and knows booking policies only through
:class:`sim.engine.policy_api.BookingPolicy`.
"""

from .engine.practice import PracticeModel
from .inputs.loading import Problem, ScenarioError, load_scenario, scenario_from_dict
from .inputs.resolve import with_seed
from .inputs.schema import Scenario
from .outcomes.tables import RunResult
from .runs.single import run, simulate
from .world.build import World, build_world

__all__ = [
    "PracticeModel",
    "Problem",
    "RunResult",
    "Scenario",
    "ScenarioError",
    "World",
    "build_world",
    "load_scenario",
    "run",
    "scenario_from_dict",
    "simulate",
    "with_seed",
]
