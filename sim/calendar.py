"""The appointment calendar: free slots per clinician, day and pool, with pointers.

Slots live in one flat list of times (simulation days), grouped in *cells*:
one cell per (pool, clinician, day), sorted by time. A cell has a pointer
``nxt``: slots before it are booked or have passed; slots from it on are
free. Booking takes a slot at or after the pointer and moves the pointer past
it, so a slot can never be handed out twice and a cell's free count
``end - nxt`` can never go below zero. Each clinician also keeps, per pool,
its *head*: the first free slot, kept exact after every booking and closure
and refreshed lazily once time has passed it. The earliest slot with any of a
set of clinicians is then one C-level ``min`` over their heads; only a planned
request (wanting a later day) scans days, from each clinician's head.

Two pools: ``AHEAD`` slots can be booked up to the horizon; ``ON_THE_DAY``
slots are held for booking on the day itself. Days a practice is shut, annual
leave and sickness simply have no open slots.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

AHEAD = 0
ON_THE_DAY = 1
ONLINE = 2
POOL_NAMES = ("ahead", "on_the_day", "online")
N_POOLS = len(POOL_NAMES)
POOLS = tuple(range(N_POOLS))


class Slot(NamedTuple):
    """A free slot offered by the calendar.

    Attributes:
        time: appointment time in simulation days.
        clinician: clinician index.
        day: simulation day.
        pool: ``AHEAD`` or ``ON_THE_DAY``.
        cell: the calendar cell holding it.
        index: its position in the calendar's slot list.
    """

    time: float
    clinician: int
    day: int
    pool: int
    cell: int
    index: int


class BookingError(RuntimeError):
    """An attempt to book a slot that is not free (a bug in a policy or the engine)."""


class Calendar:
    """Free appointment slots for every clinician over the simulated days.

    Args:
        n_clinicians: number of clinicians.
        n_days: number of days covered (the run plus the booking horizon).
        slot_clinician, slot_day, slot_pool: integer arrays, one element per slot.
        slot_time: slot times in simulation days.
    """

    def __init__(
        self,
        n_clinicians: int,
        n_days: int,
        slot_clinician: np.ndarray,
        slot_day: np.ndarray,
        slot_pool: np.ndarray,
        slot_time: np.ndarray,
    ):
        self.n_clinicians = int(n_clinicians)
        self.n_days = int(n_days)
        self.n_cells = self.n_clinicians * self.n_days
        cell = (
            slot_pool.astype(np.int64) * self.n_cells
            + slot_clinician.astype(np.int64) * self.n_days
            + slot_day.astype(np.int64)
        )
        #: Whether every slot starts on its own day (no session runs past midnight):
        #: the compiled engine's search relies on it.
        self.slots_within_day = bool(np.all(np.floor(slot_time) == slot_day))
        order = np.lexsort((slot_time, cell))
        cell = cell[order]
        times = np.asarray(slot_time, dtype=float)[order]
        counts = np.bincount(cell, minlength=N_POOLS * self.n_cells)
        ends = np.cumsum(counts)
        starts = ends - counts
        self._times: list[float] = times.tolist()
        self._start: list[int] = starts.tolist()
        self._end: list[int] = ends.tolist()
        self._nxt: list[int] = starts.tolist()
        self._booked = [False] * len(self._times)
        # First free slot time of every cell (inf when none), for planned
        # searches over many clinicians and days at once.
        first_time = np.full(N_POOLS * self.n_cells, np.inf)
        filled = counts > 0
        first_time[filled] = times[starts[filled]]
        self._cell_first = first_time.reshape(N_POOLS, self.n_clinicians, self.n_days)
        self._arrays: dict[int, tuple[Sequence[int], np.ndarray]] = {}
        self._closed = [False] * self.n_cells
        self._has_online = bool(counts[ONLINE * self.n_cells:].sum() > 0)
        self._first = [[0] * self.n_clinicians for _ in POOLS]
        # Head: each clinician's first free slot per pool (time, cell, index),
        # kept exact after every booking and closure; a head that time has
        # passed is refreshed when next looked at.
        inf = float("inf")
        self._head_t = [[inf] * self.n_clinicians for _ in POOLS]
        self._head_k = [[-1] * self.n_clinicians for _ in POOLS]
        self._head_i = [[-1] * self.n_clinicians for _ in POOLS]
        for pool in POOLS:
            for c in range(self.n_clinicians):
                self._refresh(pool, c, 0.0)

    # ------------------------------------------------------------------ queries

    @property
    def has_online(self) -> bool:
        """Whether any online time exists (then online requests use only the ONLINE pool)."""
        return self._has_online

    @property
    def n_slots(self) -> int:
        """Total slots ever created (open, booked or closed)."""
        return len(self._times)

    def cell(self, pool: int, clinician: int, day: int) -> int:
        """The cell index of (pool, clinician, day)."""
        return pool * self.n_cells + clinician * self.n_days + day

    def free_count(self, pool: int, clinician: int, day: int, now: float | None = None) -> int:
        """Free slots in a cell, counting only those at or after ``now`` if given."""
        k = self.cell(pool, clinician, day)
        i, e = self._nxt[k], self._end[k]
        if now is not None and i < e:
            i = max(i, bisect_left(self._times, now, i, e))
        return e - i

    def capacity(self, pool: int, clinician: int, day: int) -> int:
        """Slots the cell was built with (0 on leave or shut days)."""
        k = self.cell(pool, clinician, day)
        return self._end[k] - self._start[k]

    def is_closed(self, clinician: int, day: int) -> bool:
        """Whether the clinician's day was closed (sickness)."""
        return self._closed[clinician * self.n_days + day]

    def _refresh(self, pool: int, c: int, now: float) -> None:
        """Recompute clinician ``c``'s head in ``pool``: first free slot at or after ``now``."""
        today = int(now)
        first = self._first[pool]
        d = first[c] if first[c] > today else today
        base = pool * self.n_cells + c * self.n_days
        times, nxt, end = self._times, self._nxt, self._end
        while d < self.n_days:
            k = base + d
            i, e = nxt[k], end[k]
            if i < e:
                if d == today and times[i] < now:
                    i = bisect_left(times, now, i, e)
                if i < e:
                    first[c] = d
                    self._head_t[pool][c] = times[i]
                    self._head_k[pool][c] = k
                    self._head_i[pool][c] = i
                    return
            d += 1
        first[c] = self.n_days
        self._head_t[pool][c] = float("inf")
        self._head_k[pool][c] = -1
        self._head_i[pool][c] = -1

    def earliest(
        self,
        clinicians: Sequence[int],
        pool: int,
        now: float,
        last_day: int,
        from_day: int | None = None,
    ) -> Slot | None:
        """The earliest free slot with any of ``clinicians``.

        Args:
            clinicians: clinician indices, in order of preference for ties.
            pool: ``AHEAD`` or ``ON_THE_DAY``.
            now: the current time (simulation days); nothing earlier is offered.
            last_day: the last day searched, inclusive.
            from_day: optionally, a later first day to search (a planned request).

        Ties in time go to the clinician listed first, so results never
        depend on set order.
        """
        if not clinicians:
            return None
        today = int(now)
        if from_day is not None and from_day > today:
            return self._earliest_from(clinicians, pool, now, last_day, from_day)
        head = self._head_t[pool]
        key = head.__getitem__
        while True:
            c = min(clinicians, key=key)
            t = head[c]
            if t >= now:
                break
            self._refresh(pool, c, now)
        if t == float("inf"):
            return None
        k = self._head_k[pool][c]
        d = (k - pool * self.n_cells) - c * self.n_days
        if d > last_day:
            return None
        return Slot(t, c, d, pool, k, self._head_i[pool][c])

    def _earliest_from(
        self, clinicians: Sequence[int], pool: int, now: float, last_day: int, d0: int
    ) -> Slot | None:
        """Earliest free slot on day ``d0`` (after today) or later, over all clinicians at once."""
        last_day = min(last_day, self.n_days - 1)
        if last_day < d0:
            return None
        cached = self._arrays.get(id(clinicians))
        if cached is None or cached[0] is not clinicians:
            cached = (clinicians, np.asarray(clinicians, dtype=np.int64))
            self._arrays[id(clinicians)] = cached
        block = self._cell_first[pool][cached[1], d0 : last_day + 1]
        flat = int(block.argmin())  # row-major: ties go to the clinician listed first
        row, col = divmod(flat, block.shape[1])
        t = float(block[row, col])
        if t == float("inf"):
            return None
        c = int(cached[1][row])
        d = d0 + col
        k = pool * self.n_cells + c * self.n_days + d
        return Slot(t, c, d, pool, k, self._nxt[k])

    # ----------------------------------------------------------------- changes

    def book(self, slot: Slot, now: float) -> None:
        """Take a free slot at time ``now``. Raises :class:`BookingError` if it is not free.

        Only the first free slot of a cell may be taken, or a later one if
        every slot before it has passed by ``now``: so no free slot is ever
        stranded behind a booking.
        """
        k, i = slot.cell, slot.index
        nxt = self._nxt[k]
        if not nxt <= i < self._end[k]:
            raise BookingError(f"slot {slot} is not free")
        if self._times[i] < now or (i > nxt and self._times[i - 1] >= now):
            raise BookingError(f"slot {slot} is not the first free slot at time {now}")
        self._booked[i] = True
        self._nxt[k] = i + 1
        pool, c = slot.pool, slot.clinician
        self._cell_first[pool, c, slot.day] = self._times[i + 1] if i + 1 < self._end[k] else np.inf
        if self._head_k[pool][c] == k:
            self._refresh(pool, c, now)

    def close_day(self, clinician: int, day: int) -> list[int]:
        """Close a clinician's day (sickness): nothing more can be booked in it.

        Returns:
            Slot indices that were already booked that day, for the engine to
            cancel and rebook.
        """
        k = clinician * self.n_days + day
        if self._closed[k]:
            return []
        self._closed[k] = True
        booked = []
        for pool in POOLS:
            kk = pool * self.n_cells + k
            booked.extend(i for i in range(self._start[kk], self._end[kk]) if self._booked[i])
            self._nxt[kk] = self._end[kk]
            self._cell_first[pool, clinician, day] = np.inf
            if self._head_k[pool][clinician] == kk:
                self._refresh(pool, clinician, self._head_t[pool][clinician])
        return booked

    # ------------------------------------------------------------------ export

    def export_state(self) -> dict[str, np.ndarray]:
        """The calendar as flat arrays, for the compiled engine (:mod:`sim.compiled`).

        ``cell_first`` is indexed by cell, like ``start``, ``end`` and ``nxt``;
        the per-clinician arrays (``first``, ``head_*``) are (pool, clinician).
        """
        return {
            "times": np.asarray(self._times, dtype=float),
            "start": np.asarray(self._start, dtype=np.int64),
            "end": np.asarray(self._end, dtype=np.int64),
            "nxt": np.asarray(self._nxt, dtype=np.int64),
            "booked": np.asarray(self._booked, dtype=np.bool_),
            "cell_first": np.ascontiguousarray(self._cell_first).reshape(-1).copy(),
            "closed": np.asarray(self._closed, dtype=np.bool_),
            "first": np.asarray(self._first, dtype=np.int64).reshape(N_POOLS, self.n_clinicians),
            "head_t": np.asarray(self._head_t, dtype=float).reshape(N_POOLS, self.n_clinicians),
            "head_k": np.asarray(self._head_k, dtype=np.int64).reshape(N_POOLS, self.n_clinicians),
            "head_i": np.asarray(self._head_i, dtype=np.int64).reshape(N_POOLS, self.n_clinicians),
        }

    def import_state(self, state: dict[str, np.ndarray]) -> None:
        """Take back the changing part of :meth:`export_state` after a compiled run."""
        self._nxt = state["nxt"].tolist()
        self._booked = state["booked"].tolist()
        self._closed = state["closed"].tolist()
        self._cell_first = state["cell_first"].reshape(N_POOLS, self.n_clinicians, self.n_days)
        self._first = state["first"].tolist()
        self._head_t = state["head_t"].tolist()
        self._head_k = state["head_k"].tolist()
        self._head_i = state["head_i"].tolist()

    def cell_table(self) -> dict[str, np.ndarray]:
        """Per (clinician, day): slots built and slots booked, by pool, and closure."""
        start = np.asarray(self._start, dtype=np.int64)
        end = np.asarray(self._end, dtype=np.int64)
        booked = np.asarray(self._booked, dtype=np.int64)
        csum = np.concatenate(([0], np.cumsum(booked)))
        built = (end - start).reshape(N_POOLS, self.n_clinicians, self.n_days)
        used = (csum[end] - csum[start]).reshape(N_POOLS, self.n_clinicians, self.n_days)
        closed = np.asarray(self._closed, dtype=bool).reshape(self.n_clinicians, self.n_days)
        return {"built": built, "booked": used, "closed": closed}
