"""A plain SimPy booking model, written the way most SimPy models are: the speed baseline.

It books the same requests into the same slots as the project's default
practice (it takes the project's :class:`sim.World`: the same arrivals,
calendar, leave and eligible clinicians), but the usual way: one SimPy
process per request, which sleeps until the request is made, then searches
the appointment book (a list of slot objects per day) for the earliest free
slot it may take, books it, sleeps until the appointment and records it.
Access-first only; no DNAs, retries, follow-ups or tables. It does less than
the project's engine, so the ratio printed by ``bench.py`` understates the
difference.

    python benchmarks/naive_simpy.py          # the default practice, one recorded year
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path

import simpy

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

AHEAD, ON_THE_DAY, ONLINE = 0, 1, 2  # as sim.codes
URGENT = 0


@dataclass
class Slot:
    """One appointment slot in the book."""

    time: float
    clinician: int
    pool: int
    booked: bool = False


def naive_run(world, usual_gp_first: bool = False) -> dict:
    """Book every arrival of ``world`` with one SimPy process each; return counts and time.

    ``usual_gp_first``: search the patient's usual GP's slots within the horizon first
    (every request, no adherence), then anyone's, as the usual-GP-first policy does.
    """
    t0 = time.perf_counter()
    s = world.scenario
    horizon = s.practice.booking_horizon_days
    book: dict[int, list[Slot]] = {}
    layout = world.slots
    for i in sorted(range(layout.time.size), key=lambda k: layout.time[k]):
        book.setdefault(int(layout.day[i]), []).append(
            Slot(float(layout.time[i]), int(layout.clinician[i]), int(layout.pool[i])))
    arrivals = world.arrivals
    counts = {"requests": 0, "booked": 0, "seen": 0, "unmet": 0, "wait_days": 0.0}
    env = simpy.Environment()

    def request(env, i):
        yield env.timeout(float(arrivals.time[i]) - env.now)
        counts["requests"] += 1
        who = set(world.eligible[int(arrivals.need[i])][int(arrivals.mode[i])])
        urgent = int(arrivals.urgency[i]) == URGENT
        today = int(env.now)
        first = max(today, int(arrivals.from_day[i]))
        last = today if urgent else min(first + horizon, world.n_days - 1)
        usual = int(world.patients.usual_clinician[int(arrivals.patient[i])])
        passes = ({usual} & who, who) if usual_gp_first and usual in who else (who,)
        for allowed in passes:
            for day in range(first, last + 1):
                for slot in book.get(day, ()):
                    if slot.booked or slot.time < env.now or slot.clinician not in allowed:
                        continue
                    if slot.pool == ON_THE_DAY and day != today:
                        continue
                    if slot.pool == ONLINE and int(arrivals.mode[i]) != 3:
                        continue
                    slot.booked = True
                    counts["booked"] += 1
                    counts["wait_days"] += slot.time - float(arrivals.time[i])
                    yield env.timeout(slot.time - env.now)
                    counts["seen"] += 1
                    return
        counts["unmet"] += 1

    for i in range(len(arrivals)):
        env.process(request(env, i))
    env.run(until=world.end_day)
    return {**counts, "wall_s": time.perf_counter() - t0}


def main() -> int:
    from practices import scaled_scenario

    from sim import build_world

    world = build_world(scaled_scenario(10_000))
    r = naive_run(world)
    print(f"naive SimPy: {r['requests']:,} requests, {r['booked']:,} booked, "
          f"{r['unmet']:,} found no slot, in {r['wall_s']:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
