"""The registered lists as they change during a run: usual GPs move when a GP leaves.

The one piece of run state both booking desks share. ``usual`` is changed in
place, so a policy's view of the practice (``PracticeView.usual_clinician``)
and the compiled desk's arrays always see the current lists.
"""

from __future__ import annotations

import logging

import numpy as np

from ..world.build import World
from ..world.population import list_sizes, reassign_list

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

    def rebalance(self, day: int) -> None:
        """Tidy the lists: move as few patients as possible to bring lists to their share.

        Each list-holder in post has a target in proportion to their sessions
        (within list caps, :func:`sim.world.population.list_sizes`); patients
        drawn at random from lists above target move to lists below it.
        """
        w = self._world
        holders = np.nonzero(w.workforce.holds_list & w.in_post[:, day])[0]
        if holders.size == 0:
            return
        target = list_sizes(self.usual.size, w.workforce.sessions_per_week[holders],
                            w.list_caps[holders])
        current = np.array([(self.usual == h).sum() for h in holders])
        others = np.nonzero(~np.isin(self.usual, holders))[0]  # on no current list
        moving = [others]
        for h, over in zip(holders, current - target, strict=True):
            if over > 0:
                mine = np.nonzero(self.usual == h)[0]
                moving.append(self._rng.choice(mine, size=int(over), replace=False))
        moving_all = np.sort(np.concatenate(moving))
        short = np.clip(target - current, 0, None)
        if moving_all.size == 0 or short.sum() == 0:
            return
        counts = list_sizes(moving_all.size, short.astype(float), short.astype(float))
        self._rng.shuffle(moving_all)
        self.usual[moving_all] = np.repeat(holders, counts)
        self.changes.append((day, np.sort(moving_all)))
        log.debug("day %d: lists rebalanced, %d patients moved", day, moving_all.size)
