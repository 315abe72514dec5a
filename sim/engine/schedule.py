"""The booking policy of each day of a run: one policy, or a rollout that changes it.

A scenario's ``policy_changes`` (with ramps) become, in the world, a list of
the days the policy or a parameter changes (:attr:`sim.world.build.World.policy_days`).
:class:`PolicySchedule` builds the policy object of each such day (all of
them share the one "policy" random stream, so its numbers follow on across a
change) and, for the compiled desk, each day's :class:`BookingRule`.
"""

from __future__ import annotations

import bisect

import numpy as np

from ..inputs.policies import Registry
from ..world.build import World
from .policy_api import BookingPolicy, BookingRule, PracticeView, booking_rule_of, make_policy


class PolicySchedule:
    """The policy in force on each day.

    Args:
        world: the run's world (``policy_days`` says when the policy changes).
        practice: the read-only view every policy object is built on.
        policies: the policy registry (None: the installed one).
    """

    def __init__(self, world: World, practice: PracticeView, policies: Registry | None = None):
        self._days = [d for d, _, _ in world.policy_days]
        self._configs = [(name, params) for _, name, params in world.policy_days]
        self._rng = world.streams.get("policy")
        self._practice = practice
        self._registry = policies
        self._built: dict[int, BookingPolicy] = {}

    @property
    def change_days(self) -> tuple[int, ...]:
        """Days after day 0 on which the policy or a parameter changes."""
        return tuple(self._days[1:])

    @property
    def rng(self) -> np.random.Generator:
        """The "policy" stream every policy object of the run draws from."""
        return self._rng

    def _index(self, day: int) -> int:
        return bisect.bisect_right(self._days, day) - 1

    def policy_on(self, day: int) -> BookingPolicy:
        """The policy object in force on ``day`` (built once per change)."""
        i = self._index(day)
        if i not in self._built:
            name, params = self._configs[i]
            self._built[i] = make_policy(name, dict(params), self._practice, self._rng,
                                         self._registry)
        return self._built[i]

    def booking_rules(self) -> dict[int, BookingRule] | None:
        """Each change day's compiled rule (day 0 first), or None if any period cannot compile."""
        rules = {}
        for day in self._days:
            rule = booking_rule_of(self.policy_on(day))
            if rule is None:
                return None
            rules[day] = rule
        return rules
