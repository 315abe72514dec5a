"""The simulation engine: scenarios, population, demand, calendar, the SimPy model.

Typical use from a notebook::

    from sim import simulate
    res = simulate("scenarios/default.yaml", seed=1)
    res.appointments, res.requests, res.clinician_days

``sim`` never plots and knows booking policies only through
:class:`sim.policy_api.BookingPolicy`.
"""

from .loading import Problem, ScenarioError, load_scenario, scenario_from_dict
from .results import RunResult, run, simulate, with_seed
from .scenario import Scenario

__all__ = [
    "Problem",
    "RunResult",
    "Scenario",
    "ScenarioError",
    "load_scenario",
    "run",
    "scenario_from_dict",
    "simulate",
    "with_seed",
]
