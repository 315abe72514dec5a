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

Three pools: ``AHEAD`` slots can be booked up to the horizon; ``ON_THE_DAY``
slots are held for booking on the day itself; ``ONLINE`` time answers online
requests. Days a practice is shut, annual leave and sickness simply have no
open slots.

This is the reference desk's calendar; the compiled desk keeps the same
arrays (:func:`calendar_arrays`) and searches them the same way
(:mod:`sim.engine.kernel`).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from ..codes import AHEAD, N_POOLS, ON_THE_DAY, ONLINE, POOL_NAMES
from ..ordering import lexsort
from ..world.workforce import SlotLayout

POOLS = tuple(range(N_POOLS))
__all__ = ["AHEAD", "N_POOLS", "ONLINE", "ON_THE_DAY", "POOL_NAMES", "BookingError",
           "Calendar", "Slot", "calendar_arrays", "cell_table"]


class Slot(NamedTuple):
    """A free slot offered by the calendar.

    Attributes:
        time: appointment time in simulation days.
        clinician: clinician index.
        day: simulation day.
        pool: ``AHEAD``, ``ON_THE_DAY`` or ``ONLINE``.
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


def calendar_arrays(layout: SlotLayout) -> dict[str, np.ndarray]:
    """The calendar's flat arrays, before any booking, from a slot layout.

    Returns:
        ``times`` (slot times sorted by cell, then time), ``start`` and ``end``
        (each cell's slots are ``times[start:end]``), ``cell_first`` (each
        cell's first slot time, ``inf`` if none) and ``slots_within_day``
        (whether every slot starts on its own day: no session runs past midnight).
        Cells are numbered ``pool * n_cells + clinician * n_days + day``.
    """
    n_cells = layout.n_clinicians * layout.n_days
    cell = (layout.pool.astype(np.int64) * n_cells
            + layout.clinician.astype(np.int64) * layout.n_days
            + layout.day.astype(np.int64))
    within_day = bool(np.all(np.floor(layout.time) == layout.day))
    order = lexsort((layout.time, cell))
    cell = cell[order]
    times = np.asarray(layout.time, dtype=float)[order]
    counts = np.bincount(cell, minlength=N_POOLS * n_cells)
    ends = np.cumsum(counts)
    starts = ends - counts
    first_time = np.full(N_POOLS * n_cells, np.inf)
    filled = counts > 0
    first_time[filled] = times[starts[filled]]
    return {"times": times, "start": starts.astype(np.int64), "end": ends.astype(np.int64),
            "cell_first": first_time, "slots_within_day": np.bool_(within_day)}


class Calendar:
    """Free appointment slots for every clinician over the simulated days.

    Args:
        layout: every slot (:class:`sim.world.workforce.SlotLayout`).
        sessions_open_held: held (on-the-day) slots can be booked only once their
            clinician's day has been opened (:meth:`open_held`: the reference
            desk's sessions do it at midnight); otherwise they can be booked on
            their day from the start.
    """

    def __init__(self, layout: SlotLayout, sessions_open_held: bool = False):
        self.n_clinicians = int(layout.n_clinicians)
        self.n_days = int(layout.n_days)
        self.n_cells = self.n_clinicians * self.n_days
        arrays = calendar_arrays(layout)
        #: Whether every slot starts on its own day (no session runs past midnight).
        self.slots_within_day = bool(arrays["slots_within_day"])
        counts = arrays["end"] - arrays["start"]
        self._times: list[float] = arrays["times"].tolist()
        self._start: list[int] = arrays["start"].tolist()
        self._end: list[int] = arrays["end"].tolist()
        self._nxt: list[int] = arrays["start"].tolist()
        self._booked = [False] * len(self._times)
        # Bookings per cell: a cell's free capacity that day, for breaking ties.
        self._cell_booked = [0] * len(self._start)
        # First free slot time of every cell (inf when none), for planned
        # searches over many clinicians and days at once.
        self._cell_first = arrays["cell_first"].reshape(N_POOLS, self.n_clinicians, self.n_days)
        self._arrays: dict[int, tuple[Sequence[int], np.ndarray]] = {}
        self._closed = [False] * self.n_cells
        self._has_online = bool(counts[ONLINE * self.n_cells:].sum() > 0)
        self._first = [[0] * self.n_clinicians for _ in POOLS]
        # The last day each clinician's held slots were opened (all days, unless sessions
        # open them).
        self._held_open = [-1 if sessions_open_held else self.n_days] * self.n_clinicians
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

    @classmethod
    def from_slots(cls, n_clinicians: int, n_days: int, clinician: np.ndarray, day: np.ndarray,
                   pool: np.ndarray, time: np.ndarray) -> Calendar:
        """A calendar of the slots given as arrays (one element per slot)."""
        return cls(SlotLayout(int(n_clinicians), int(n_days), np.asarray(clinician),
                              np.asarray(day), np.asarray(pool), np.asarray(time, dtype=float)))

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

    def days_with(self, pool: int, clinician: int) -> list[int]:
        """The days on which ``clinician`` has slots in ``pool`` (works, in that pool)."""
        base = pool * self.n_cells + clinician * self.n_days
        start, end = self._start, self._end
        return [d for d in range(self.n_days) if end[base + d] > start[base + d]]

    def open_held(self, clinician: int, day: int) -> None:
        """The clinician's session on ``day`` opens: its held slots can be booked (that day)."""
        self._held_open[clinician] = day

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

        Ties in time (slots at the same moment) go to the clinician with more
        free capacity that day in the pool (fewer bookings, for the same
        slots), as reception spreads the load, then to the one listed first,
        so results never depend on set order.
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
        tied = [x for x in clinicians if head[x] == t]
        if len(tied) > 1:
            cells = self._head_k[pool]
            c = max(tied, key=lambda x: self._day_free(cells[x]))
        k = self._head_k[pool][c]
        d = (k - pool * self.n_cells) - c * self.n_days
        if d > last_day or (pool == ON_THE_DAY and d > self._held_open[c]):
            return None
        return Slot(t, c, d, pool, k, self._head_i[pool][c])

    def _earliest_from(
        self, clinicians: Sequence[int], pool: int, now: float, last_day: int, d0: int
    ) -> Slot | None:
        """Earliest free slot on day ``d0`` (after today) or later, over all clinicians at once."""
        last_day = min(last_day, self.n_days - 1)
        if pool == ON_THE_DAY:  # held slots: only in sessions already opened
            last_day = min(last_day, max(self._held_open[c] for c in clinicians))
        if last_day < d0:
            return None
        cached = self._arrays.get(id(clinicians))
        if cached is None or cached[0] is not clinicians:
            cached = (clinicians, np.asarray(clinicians, dtype=np.int64))
            self._arrays[id(clinicians)] = cached
        block = self._cell_first[pool][cached[1], d0 : last_day + 1]
        flat = int(block.argmin())
        row, col = divmod(flat, block.shape[1])
        t = float(block[row, col])
        if t == float("inf"):
            return None
        d = d0 + col
        tied = np.flatnonzero(block[:, col] == t)
        if tied.size > 1:  # the one with more free capacity that day, then listed first
            cells = pool * self.n_cells + cached[1][tied] * self.n_days + d
            free = [self._day_free(k) for k in cells.tolist()]
            row = int(tied[free.index(max(free))])
        c = int(cached[1][row])
        k = pool * self.n_cells + c * self.n_days + d
        return Slot(t, c, d, pool, k, self._nxt[k])

    def _day_free(self, k: int) -> int:
        """Cell ``k``'s free capacity that day: its slots not booked (passed ones count)."""
        return self._end[k] - self._start[k] - self._cell_booked[k]

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
        self._cell_booked[k] += 1
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

    # ----------------------------------------------------------------- results

    def cell_table(self) -> dict[str, np.ndarray]:
        """Per (pool, clinician, day): slots built and booked; per (clinician, day): closed."""
        return cell_table(np.asarray(self._start, dtype=np.int64),
                          np.asarray(self._end, dtype=np.int64),
                          np.asarray(self._booked, dtype=np.bool_),
                          np.asarray(self._closed, dtype=np.bool_), self.n_clinicians, self.n_days)


def cell_table(start: np.ndarray, end: np.ndarray, booked: np.ndarray, closed: np.ndarray,
               n_clinicians: int, n_days: int) -> dict[str, np.ndarray]:
    """Slots built and booked per (pool, clinician, day), and closed (clinician, day) days."""
    csum = np.concatenate(([0], np.cumsum(booked.astype(np.int64))))
    built = (end - start).reshape(N_POOLS, n_clinicians, n_days)
    used = (csum[end] - csum[start]).reshape(N_POOLS, n_clinicians, n_days)
    return {"built": built, "booked": used,
            "closed": closed.astype(bool).reshape(n_clinicians, n_days)}
