"""One practice's run on SimPy's clock: the policy, the booking desk and the days.

:class:`PracticeModel` takes a :class:`sim.world.build.World`, builds the
booking policy on a read-only view of the practice, picks the booking desk
(:func:`choose_desk`), puts its processes on a SimPy clock and runs it to the
end of the recorded window: the reference desk is the model written as SimPy
processes (:mod:`sim.engine.reference`), the compiled desk its fast twin, which
SimPy drives stretch by stretch. The result is a
:class:`sim.engine.contract.BookingRecord`; outcomes (A&E proxies, tables)
are computed from it by :mod:`sim.outcomes`.
"""

from __future__ import annotations

import logging
import os

import simpy

from ..inputs.policies import Registry
from ..inputs.schema import Scenario
from ..world.build import World, build_world
from .contract import BookingDesk, BookingRecord
from .lists import ListState
from .policy_api import BookingPolicy, PracticeView, booking_rule_of
from .reference import ReferenceDesk
from .schedule import PolicySchedule

log = logging.getLogger(__name__)

#: Engine names: ``auto`` (the default) picks compiled when it can.
ENGINES = ("auto", "compiled", "reference")


class PracticeModel:
    """One practice, one replication: the policy and the desk over a built world.

    Args:
        world: a :class:`World`, or a scenario (with its seed set) to build one from.
        replication: the replication number, when ``world`` is a scenario.
        policies: the policy registry (None: the installed one).
    """

    def __init__(self, world: World | Scenario, replication: int = 0,
                 policies: Registry | None = None):
        if isinstance(world, Scenario):
            world = build_world(world, replication)
        self.world = world
        self.scenario = world.scenario
        self.lists = ListState(world)
        self.practice_view = PracticeView(
            patients=world.patients,
            workforce=world.workforce,
            need_names=world.need_names,
            horizon_days=world.rules.horizon_days,
            release_days=world.rules.release_days,
            cohorts=world.cohorts,
            teams=world.teams,
            team_of_clinician=world.team_of,
            usual_clinician=self.lists.usual,
            follow_up_window_days=world.rules.follow_up_window_days,
            coding_rank=world.coding_rank,
            duty=world.rules.duty,
        )
        #: The policy of each day (one policy, or a rollout's changes).
        self.schedule = PolicySchedule(world, self.practice_view, policies)
        #: The policy on day 0.
        self.policy: BookingPolicy = self.schedule.policy_on(0)
        self.record: BookingRecord | None = None

    def run(self, engine: str | None = None) -> BookingRecord:
        """Simulate from day 0 to the end of the observation window.

        Args:
            engine: ``"compiled"``, ``"reference"`` or ``"auto"`` (the default, or the
                ``GPSIM_ENGINE`` environment variable): see :func:`choose_desk`.
                Both give identical results.
        """
        desk = choose_desk(self.world, self.schedule, self.lists, engine)
        env = simpy.Environment()
        desk.start(env)
        env.run(until=self.world.end_day)
        self.record = desk.finish()
        return self.record


def choose_desk(world: World, schedule: PolicySchedule | BookingPolicy, lists: ListState,
                engine: str | None = None) -> BookingDesk:
    """The desk that runs this world: the compiled one or the reference one.

    ``"auto"`` (the default; the ``GPSIM_ENGINE`` environment variable may set
    another) uses the compiled desk when every policy of the run declares a
    compiled rule (:func:`sim.engine.policy_api.booking_rule_of`; every
    built-in policy does), numba imports and the calendar suits it (no session
    past midnight), and the reference desk otherwise. ``"compiled"`` insists on
    the compiled desk. The two give identical results.

    ``schedule`` may be a single policy (for the whole run).

    Raises:
        ValueError: for an unknown engine, or ``"compiled"`` when it cannot run.
    """
    if not isinstance(schedule, PolicySchedule):
        schedule = _FixedPolicy(schedule)
    engine = engine or os.environ.get("GPSIM_ENGINE") or "auto"
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r} (choose from {', '.join(ENGINES)})")
    if engine == "reference":
        return ReferenceDesk(world, schedule, lists)
    rules = schedule.booking_rules()
    if rules is None:
        if engine == "compiled":
            raise ValueError(f"policy {world.scenario.policy.name!r} declares no compiled rule; "
                             "it runs on the reference engine only")
        return ReferenceDesk(world, schedule, lists)
    try:
        from .compiled import CompiledDesk, NotCompilable  # numba: optional
    except ImportError as e:  # numba missing or broken: the reference desk still works
        if engine == "compiled":
            raise
        log.warning("compiled engine unavailable (%s); using the reference engine", e)
        return ReferenceDesk(world, schedule, lists)
    try:
        return CompiledDesk(world, rules, lists)
    except NotCompilable as e:
        if engine == "compiled":
            raise
        log.info("reference engine: %s", e)
        return ReferenceDesk(world, schedule, lists)


class _FixedPolicy:
    """One policy for the whole run, as a schedule (for callers that give a policy)."""

    change_days: tuple[int, ...] = ()

    def __init__(self, policy: BookingPolicy):
        self._policy = policy

    def policy_on(self, day: int) -> BookingPolicy:
        """The policy (the same every day)."""
        return self._policy

    def booking_rules(self):
        """Its compiled rule from day 0, or None."""
        rule = booking_rule_of(self._policy)
        return None if rule is None else {0: rule}
