"""The registered lists as they change during a run: usual GPs move when a GP leaves.

The one piece of run state both booking desks share. ``usual`` is changed in
place, so a policy's view of the practice (``PracticeView.usual_clinician``)
and the compiled desk's arrays always see the current lists.
"""

from __future__ import annotations

import logging

import numpy as np

from ..world.build import World
from ..world.population import reassign_list

log = logging.getLogger(__name__)


class ListState:
    """Each patient's usual clinician now, and the record of list changes.

    Args:
        world: the run's world; lists start as drawn there, and leavers'
            lists move with the "lists" stream where it left off.
    """

    def __init__(self, world: World):
        self._world = world
        #: Each patient's usual clinician now (a contiguous int64 copy, changed in place).
        self.usual = np.array(world.patients.usual_clinician, dtype=np.int64)
        #: ``(day, patients)`` for every list moved, in time order.
        self.changes: list[tuple[int, np.ndarray]] = []
        self._rng = np.random.Generator(np.random.PCG64())
        self._rng.bit_generator.state = world.lists_rng_state

    def reassign(self, leaver: int, day: int) -> None:
        """A list-holder leaves: their patients go to their team's list-holders, else anyone's.

        Lists are rebalanced in proportion to sessions, within list caps
        (:func:`sim.world.population.reassign_list`).
        """
        w = self._world
        holds = w.workforce.holds_list & w.in_post[:, day]
        team = w.team_of.get(leaver)
        pool = np.array([], dtype=np.int64)
        if team is not None:
            pool = np.array([c for c in w.teams[team] if holds[c]], dtype=np.int64)
        if pool.size == 0:
            pool = np.nonzero(holds)[0]
        if pool.size == 0:
            log.warning("day %d: %s leaves and no list-holder remains; list kept", day,
                        w.workforce.ids[leaver])
            return
        moving = np.nonzero(self.usual == leaver)[0]
        moved = reassign_list(self.usual, leaver, pool, w.workforce.sessions_per_week[pool],
                              w.list_caps[pool], self._rng)
        self.changes.append((day, moving))
        log.debug("day %d: %d patients of %s reassigned", day, moved, w.workforce.ids[leaver])
