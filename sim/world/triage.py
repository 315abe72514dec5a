"""Triage: the GP time a practice sets aside each day to assess requests by telephone.

Under ``practice.urgent_care.triage`` a clinician calls back each new request of
the kinds it names (urgent ones, or urgent and routine ones: total triage)
before anything is booked. A call takes ``minutes_per_call`` of a GP's time, so
the practice plans that time into its sessions, as it would a duty list:

* the calls planned for a day are its expected triaged requests (the demand's
  weekday and seasonal pattern, times the share of requests that go to triage;
  those care navigation sends elsewhere never reach it), times
  ``1 + headroom``, rounded up: a practice plans from the demand it expects,
  not from the day's own (which nobody knows in the morning);
* the time is taken from the list-holding GPs working that day, earliest
  slots first (a triage session at the start of the day, shared by the GPs at
  work), held and bookable slots alike so the share held for the day stays
  as the scenario says, until it covers the planned calls; those slots are
  not in the book (the GP is on the telephone);
* the day can take ``floor(minutes taken / minutes_per_call)`` calls.

Everything here is decided before booking starts, from the world's own draws,
so both booking desks see the same book and the same triage capacity.
"""

from __future__ import annotations

import numpy as np

from ..codes import NAV_ELSEWHERE, ROUTINE, URGENT
from ..inputs.schema import Scenario
from .demand import Arrivals, expected_daily_requests
from .workforce import SlotLayout

#: Urgencies each setting of ``triage.requests`` sends to triage.
TRIAGED_URGENCIES = {"none": (), "urgent": (URGENT,), "all": (URGENT, ROUTINE)}


def triaged_kinds(s: Scenario) -> np.ndarray:
    """Per urgency code, whether a clinician triages new requests of that kind."""
    kinds = np.zeros(5, dtype=np.bool_)
    kinds[list(TRIAGED_URGENCIES[s.practice.urgent_care.triage.requests])] = True
    return kinds


def planned_calls(s: Scenario, arrivals: Arrivals, navigation: np.ndarray | None,
                  total_rate_per_year: float, end_day: int, n_days: int) -> np.ndarray:
    """Triage calls planned for each day: its expected triaged demand plus headroom.

    The day's expected requests (:func:`sim.world.demand.expected_daily_requests`:
    the weekday's and the season's pattern) times the share of patients' own
    requests that go to triage over the run (not those care navigation sends
    elsewhere), times ``1 + headroom``, rounded up.
    """
    calls = np.zeros(n_days, dtype=np.int64)
    kinds = triaged_kinds(s)
    if not kinds.any():
        return calls
    own = (arrivals.urgency == URGENT) | (arrivals.urgency == ROUTINE)
    triaged = kinds[arrivals.urgency]
    if navigation is not None:
        triaged &= navigation != NAV_ELSEWHERE
    share = triaged.sum() / max(int(own.sum()), 1)
    expected = expected_daily_requests(s, total_rate_per_year, n_days)
    headroom = 1.0 + s.practice.urgent_care.triage.headroom
    return np.ceil(expected * share * headroom - 1e-9).astype(np.int64)


def set_aside(s: Scenario, slots: SlotLayout, calls: np.ndarray, is_open: np.ndarray
              ) -> tuple[SlotLayout, np.ndarray]:
    """The book without the slots set aside for triage, and the calls each day can take.

    See the module docstring for which slots go. A day with no list-holding GP
    at work takes no calls.
    """
    capacity = np.zeros(calls.size, dtype=np.int64)
    if not calls.any():
        return slots, capacity
    minutes_per_call = s.practice.urgent_care.triage.minutes_per_call
    holders = np.array([s.roles[c.role].holds_list and not c.extended_access
                        for c in s.clinicians], dtype=bool)
    slot_minutes = np.array([s.roles[c.role].slot_minutes for c in s.clinicians], dtype=float)
    candidate = holders[slots.clinician] & (slots.day < calls.size)
    candidate &= is_open[np.minimum(slots.day, is_open.size - 1)]
    idx = np.nonzero(candidate)[0]
    # Per day: earliest first across the GPs at work (a triage session at the start of
    # the day), then clinician order; held and bookable slots alike, so the share of
    # the day's capacity held for the day stays what the scenario says.
    order = np.lexsort((slots.clinician[idx], slots.time[idx], slots.day[idx]))
    idx = idx[order]
    day = slots.day[idx]
    minutes = slot_minutes[slots.clinician[idx]]
    # Minutes taken before each slot within its day; a slot goes while the day still needs some.
    starts = np.searchsorted(day, np.arange(calls.size), side="left")
    cum = np.cumsum(minutes)
    before = cum - minutes - np.where(starts[day] > 0, cum[starts[day] - 1], 0.0)
    need = calls[day] * minutes_per_call
    taken = before < need - 1e-9
    taken_minutes = np.bincount(day[taken], weights=minutes[taken], minlength=calls.size)
    capacity = np.floor(taken_minutes / minutes_per_call + 1e-9).astype(np.int64)
    keep = np.ones(slots.time.size, dtype=bool)
    keep[idx[taken]] = False
    return SlotLayout(slots.n_clinicians, slots.n_days, slots.clinician[keep], slots.day[keep],
                      slots.pool[keep], slots.time[keep]), capacity
