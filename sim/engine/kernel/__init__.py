"""The compiled booking desk: numba functions over flat arrays.

These functions do, for the built-in booking rules, exactly what the
reference desk (:class:`sim.engine.reference.ReferenceDesk`, reading the same
built-in rules) does in plain Python: same calendar search, same
offers, same patient choice, same random numbers in the same order. The tests
run both desks on the same worlds and require identical event logs.

It is split as its Python twins are: :mod:`.calendar` (the calendar's searches,
as :mod:`sim.engine.calendar`), :mod:`.offers` (a built-in rule's offers and the
patient's choice, as :mod:`sim.engine.offers` and :mod:`sim.engine.choice`),
:mod:`.day` (the day's work and the log, as :mod:`sim.engine.reference`), and
:mod:`.layout` (the arrays' layout). How its functions load from numba's cache
is :mod:`sim.engine.numba_cache`'s business.

The kernel takes six arguments, built by :mod:`sim.engine.compiled`:

* ``cal`` (:class:`Cal`): the calendar;
* ``rules`` (:class:`sim.world.build.BookingRules`): the practice's booking
  rules, as the world builder made them;
* ``rule`` (:class:`PolicyRule`): the booking policy's rule;
* ``usual``: each patient's usual clinician (changed in place between calls
  when a GP leaves);
* ``run`` (:class:`RunState`): the arrivals, sickness spells, pre-drawn random
  numbers, per-day lists, the patient-clinician visit counts and scratch space;
* ``log`` (:class:`Log`): the event log and counters, grown by the driver
  whenever :func:`run_days` finds a day might not fit.

Whole-number fields of several records share one 2-D array, row by row;
:mod:`.layout`'s constants name the rows. The codes (pools, urgencies, statuses)
are :mod:`sim.codes`'s, which numba reads as constants.

A slot found by a search is a tuple ``(time, clinician, day, pool, cell,
index)``, with clinician ``-1`` when there is none.
"""

from __future__ import annotations

from pathlib import Path

from numba.core.dispatcher import Dispatcher

from ..numba_cache import load_without_registries, stamp_with_sources
from . import calendar, day, layout, offers
from .day import rehash, run_days, seed_pairs
from .layout import Cal, Log, PolicyRule, RunState

__all__ = ["DISPATCHERS", "Cal", "Log", "PolicyRule", "RunState", "calendar", "day", "layout",
           "offers", "rehash", "run_days", "seed_pairs"]

#: Every compiled function of the kernel, each keyed on all the kernel's files in numba's cache.
DISPATCHERS = tuple(f for m in (calendar, offers, day) for f in vars(m).values()
                    if isinstance(f, Dispatcher) and f.__module__ == m.__name__)
stamp_with_sources(DISPATCHERS, Path(__file__).parent.glob("*.py"))
load_without_registries(run_days, seed_pairs, rehash)
