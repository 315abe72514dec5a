"""The appointment calendar: free slots per clinician, day and pool, with pointers.

Slots live in one flat list of times (simulation days), grouped in *cells*:
one cell per (pool, clinician, day), sorted by time. A cell has a pointer
``nxt``: slots before it are booked or have passed; slots from it on are
free. Booking takes a slot at or after the pointer and moves the pointer past
it, so a slot can never be handed out twice and a cell's free count
``end - nxt`` can never go below zero. Each clinician also keeps, per pool,
the first day that may still have a free slot, so the search for the earliest
slot is amortised constant time per clinician rather than a scan of the
horizon.

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
POOL_NAMES = ("ahead", "on_the_day")


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
        order = np.lexsort((slot_time, cell))
        cell = cell[order]
        times = np.asarray(slot_time, dtype=float)[order]
        counts = np.bincount(cell, minlength=2 * self.n_cells)
        ends = np.cumsum(counts)
        starts = ends - counts
        self._times: list[float] = times.tolist()
        self._start: list[int] = starts.tolist()
        self._end: list[int] = ends.tolist()
        self._nxt: list[int] = starts.tolist()
        self._booked = [False] * len(self._times)
        self._closed = [False] * self.n_cells
        self._first = [[0] * self.n_clinicians, [0] * self.n_clinicians]

    # ------------------------------------------------------------------ queries

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
        today = int(now)
        d0 = today if from_day is None or from_day < today else from_day
        last_day = min(last_day, self.n_days - 1)
        if last_day < d0:
            return None
        times, nxt, end = self._times, self._nxt, self._end
        first = self._first[pool]
        n_days = self.n_days
        base = pool * self.n_cells
        best_t = float("inf")
        best: tuple[int, int, int, int] | None = None
        limit = last_day
        for c in clinicians:
            f = first[c]
            if f < today:
                f = today
                first[c] = today
            d = f if f > d0 else d0
            k0 = base + c * n_days
            while d <= limit:
                k = k0 + d
                i = nxt[k]
                e = end[k]
                if i < e:
                    if d == today and times[i] < now:
                        # Slots that have passed are gone; the rest of today is free.
                        i = bisect_left(times, now, i, e)
                        if i == e:
                            d += 1
                            continue
                    t = times[i]
                    if t < best_t:
                        best_t = t
                        best = (c, d, k, i)
                        limit = d
                    break
                # Invariant: every cell from first[c] to d - 1 is exhausted.
                if d == first[c]:
                    first[c] = d + 1
                d += 1
        if best is None:
            return None
        c, d, k, i = best
        return Slot(best_t, c, d, pool, k, i)

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
        for pool in (AHEAD, ON_THE_DAY):
            kk = pool * self.n_cells + k
            booked.extend(i for i in range(self._start[kk], self._end[kk]) if self._booked[i])
            self._nxt[kk] = self._end[kk]
        return booked

    def slot_time(self, index: int) -> float:
        """Time of slot ``index`` in simulation days."""
        return self._times[index]

    # ------------------------------------------------------------------ export

    def cell_table(self) -> dict[str, np.ndarray]:
        """Per (clinician, day): slots built and slots booked, by pool, and closure."""
        start = np.asarray(self._start, dtype=np.int64)
        end = np.asarray(self._end, dtype=np.int64)
        booked = np.asarray(self._booked, dtype=np.int64)
        csum = np.concatenate(([0], np.cumsum(booked)))
        built = (end - start).reshape(2, self.n_clinicians, self.n_days)
        used = (csum[end] - csum[start]).reshape(2, self.n_clinicians, self.n_days)
        closed = np.asarray(self._closed, dtype=bool).reshape(self.n_clinicians, self.n_days)
        return {"built": built, "booked": used, "closed": closed}
