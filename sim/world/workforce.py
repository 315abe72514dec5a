"""The workforce: who works which sessions, leave and sickness, and the slots they offer.

Roles are data: a role's slot length, slots per session and on-the-day share
come from the scenario. Annual leave is planned in whole weeks and known in
advance (those days never open for booking). Sickness is drawn up front from
its own stream (so every policy sees the same absences) but revealed only on
the day a spell starts; the engine then closes the days and rebooks the
patients already booked in them.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..codes import AHEAD, ON_THE_DAY, ONLINE
from ..inputs.schema import WEEKDAYS, Scenario, hours
from .closures import closed_days


@dataclasses.dataclass(frozen=True)
class Workforce:
    """Clinicians as parallel arrays (index ``c`` is clinician ``c``)."""

    ids: tuple[str, ...]
    roles: tuple[str, ...]
    role_names: tuple[str, ...]
    role_index: np.ndarray
    holds_list: np.ndarray
    sessions_per_week: np.ndarray
    modes: tuple[frozenset[str], ...]

    @property
    def size(self) -> int:
        """Number of clinicians."""
        return len(self.ids)


def build_workforce(s: Scenario) -> Workforce:
    """Index the scenario's clinicians."""
    role_names = tuple(sorted(s.roles))
    ids = tuple(c.id for c in s.clinicians)
    roles = tuple(c.role for c in s.clinicians)
    return Workforce(
        ids=ids,
        roles=roles,
        role_names=role_names,
        role_index=np.array([role_names.index(r) for r in roles], dtype=np.int16),
        holds_list=np.array([s.roles[c.role].holds_list and not c.extended_access
                             for c in s.clinicians], dtype=bool),
        sessions_per_week=np.array([len(c.sessions) for c in s.clinicians], dtype=np.int32),
        modes=tuple(frozenset(s.roles[r].modes) for r in roles),
    )


def open_days(s: Scenario, n_days: int) -> np.ndarray:
    """Whether the practice opens on each simulation day."""
    wd0 = s.start_date.weekday()
    weekday = (wd0 + np.arange(n_days)) % 7
    open_wd = np.array([WEEKDAYS[w] in s.practice.opening.days for w in range(7)])
    is_open = open_wd[weekday]
    is_open[closed_days(s, n_days)] = False
    return is_open


def employed(s: Scenario, n_days: int) -> np.ndarray:
    """Whether each clinician is in post on each day (clinicians x days)."""
    out = np.ones((len(s.clinicians), n_days), dtype=bool)
    days = np.arange(n_days)
    for c, clin in enumerate(s.clinicians):
        if clin.joins is not None:
            out[c] &= days >= (clin.joins - s.start_date).days
        if clin.leaves is not None:
            out[c] &= days < (clin.leaves - s.start_date).days
    return out


def holiday_weights(s: Scenario, n_days: int) -> np.ndarray:
    """Per day: ``holiday_leave_factor`` in the scenario's holiday periods, else 1."""
    dates = np.datetime64(s.start_date, "D") + np.arange(n_days)
    month_day = np.array([str(d)[5:] for d in dates.astype("datetime64[D]")])
    weight = np.ones(n_days)
    for first, last in s.absence.holiday_periods:
        inside = ((month_day >= first) & (month_day <= last) if first <= last
                  else (month_day >= first) | (month_day <= last))  # across new year
        weight[inside] = s.absence.holiday_leave_factor
    return weight


def annual_leave(s: Scenario, n_days: int, rng: np.random.Generator) -> np.ndarray:
    """Leave days per clinician, as a boolean array (clinicians x days).

    A clinician's yearly weeks are prorated to the ``n_days`` simulated and
    taken in blocks of ``leave_block_weeks`` (Monday to Sunday). The run's
    weeks are cut into as many equal stretches as the clinician has blocks
    and one block is placed in each, at a week drawn with weights that favour
    the holiday periods, so leave is spread through the run for any duration
    (no pile-up at either end) and each clinician's year has its leave spread
    out, as a rota would have it. A fraction of a block is taken or not at
    random, so the expected total is exactly the prorated allowance.
    """
    block = s.absence.leave_block_weeks
    wd0 = s.start_date.weekday()
    week_of_day = (np.arange(n_days) + wd0) // 7
    n_weeks = int(week_of_day[-1]) + 1
    day_weight = holiday_weights(s, n_days)
    week_weight = np.bincount(week_of_day, weights=day_weight, minlength=n_weeks) / \
        np.maximum(np.bincount(week_of_day, minlength=n_weeks), 1)
    starts = n_weeks - block + 1  # weeks a block may start in
    leave = np.zeros((len(s.clinicians), n_days), dtype=bool)
    for c, clin in enumerate(s.clinicians):
        if clin.extended_access:
            continue  # the hub covers its own leave
        weeks = clin.annual_leave_weeks
        if weeks is None:
            weeks = s.roles[clin.role].annual_leave_weeks
        expected = weeks / block * n_days / 365.25
        k = int(np.floor(expected)) + int(rng.random() < expected - np.floor(expected))
        if k <= 0 or starts <= 0:
            continue
        k = min(k, starts // block)
        on = np.zeros(n_weeks, dtype=bool)
        edges = np.floor(np.linspace(0, starts, k + 1)).astype(int)
        earliest = 0  # a block never overlaps the one before
        for j in range(k):
            lo, hi = max(edges[j], earliest), max(edges[j + 1], edges[j] + 1)
            if lo >= min(hi, starts):
                continue
            w = week_weight[lo:hi]
            first = lo + int(rng.choice(hi - lo, p=w / w.sum()))
            on[first:first + block] = True
            earliest = first + block
        leave[c] = on[week_of_day]
    return leave


def sickness_spells(
    s: Scenario, n_days: int, rng: np.random.Generator
) -> list[tuple[int, int, int]]:
    """Sickness spells ``(start_day, clinician, length_days)``, sorted by start day.

    Spells follow an alternating renewal process in calendar days: healthy gaps
    are geometric with the start probability ``q`` and spell lengths geometric
    with the configured mean ``m``, so the long-run share of days sick is
    ``q m / (1 + q m)``, set equal to ``sickness_rate``.
    """
    rate, m = s.absence.sickness_rate, s.absence.sickness_mean_spell_days
    if rate <= 0:
        return []
    q = rate / (m * (1.0 - rate))
    spells = []
    for c in range(len(s.clinicians)):
        if s.clinicians[c].extended_access:
            continue  # the hub covers its own sickness
        d = int(rng.geometric(q)) - 1
        while d < n_days:
            length = int(rng.geometric(1.0 / m))
            spells.append((d, c, length))
            d += length + int(rng.geometric(q))
    spells.sort()
    return spells


def working_days(s: Scenario, clin, is_open: np.ndarray) -> np.ndarray:
    """Days a clinician's sessions can run.

    The practice's open days; for an extended-access (hub) clinician, every day
    but the practice's closed dates (bank holidays, :mod:`sim.world.closures`), so hubs may
    work weekends.
    """
    if not clin.extended_access:
        return is_open
    days = np.ones(is_open.size, dtype=bool)
    days[closed_days(s, is_open.size)] = False
    return days


def slots_per_session(s: Scenario, clin) -> int:
    """A clinician's slots per session: their own override, else their role's."""
    return clin.slots_per_session or s.roles[clin.role].slots_per_session


@dataclasses.dataclass(frozen=True)
class SlotLayout:
    """Every slot the run will ever offer, one element per slot, in no particular order.

    Both booking desks build their calendar from it (:mod:`sim.engine.calendar`).

    Attributes:
        n_clinicians: clinicians (rows of the calendar).
        n_days: days covered (the run plus the booking horizon).
        clinician, day, pool: whole-number arrays.
        time: slot start times in simulation days.
    """

    n_clinicians: int
    n_days: int
    clinician: np.ndarray
    day: np.ndarray
    pool: np.ndarray
    time: np.ndarray


def _works(s: Scenario, is_open: np.ndarray, leave: np.ndarray,
           in_post: np.ndarray | None) -> np.ndarray:
    """(clinician, day): the clinician can run sessions that day (open, not on leave, in post)."""
    works = np.array([working_days(s, clin, is_open) & ~leave[c]
                      for c, clin in enumerate(s.clinicians)]).reshape(len(s.clinicians), -1)
    return works if in_post is None else works & in_post


def _sessions_by_weekday(clin) -> np.ndarray:
    """How many sessions a clinician works on each weekday (Monday first)."""
    counts = np.zeros(7, dtype=np.int64)
    for code in clin.sessions:
        counts[WEEKDAYS.index(code.partition("_")[0])] += 1
    return counts


def duty_rota(s: Scenario, n_days: int, is_open: np.ndarray, leave: np.ndarray,
              in_post: np.ndarray | None = None) -> np.ndarray:
    """The GPs on duty each day under the duty-doctor model: (day, k), -1 where none.

    ``k`` is ``practice.urgent_care.duty_doctors_per_day`` (0 columns under the
    on-the-day team model). On each open day the list-holders (not hub
    clinicians) who work a session that day take turns: those with the fewest
    duties per day worked so far go on duty, ties in clinician order, so each
    GP's share of duties follows the days they work. No random numbers: the
    rota is the practice's plan, the same under every policy and replication
    with the same leave.
    """
    care = s.practice.urgent_care
    if care.model != "duty_doctor":
        return np.full((n_days, 0), -1, dtype=np.int64)
    k = care.duty_doctors_per_day
    rota = np.full((n_days, k), -1, dtype=np.int64)
    holders = [c for c, clin in enumerate(s.clinicians)
               if s.roles[clin.role].holds_list and not clin.extended_access]
    if not holders:
        return rota
    weekday = (s.start_date.weekday() + np.arange(n_days)) % 7
    on_shift = _works(s, is_open, leave, in_post) & np.array(
        [_sessions_by_weekday(s.clinicians[c])[weekday] > 0 for c in range(len(s.clinicians))])
    duties = np.zeros(len(s.clinicians))
    worked = np.zeros(len(s.clinicians))
    for d in np.nonzero(is_open[:n_days])[0]:
        working = [c for c in holders if on_shift[c, d]]
        worked[working] += 1
        # Fewest duties per day worked so far first; ties in clinician order.
        on = sorted(working, key=lambda c: (duties[c] / worked[c], c))[:k]
        rota[d, :len(on)] = on
        duties[on] += 1
    return rota


def held_shares(s: Scenario, n_days: int, is_open: np.ndarray, leave: np.ndarray,
                in_post: np.ndarray | None, duty: np.ndarray) -> np.ndarray:
    """(clinician, day): the share of each session's slots held for the day.

    The role's ``on_the_day_share``, except under the duty-doctor model: a duty
    GP holds all their slots that day, and the role's other list-holders hold
    ``(h S - D) / (S - D)`` (at least 0), where ``h`` is the role's share, ``S``
    the role's list-holders' slots that day and ``D`` the duty GPs', so the
    capacity the role holds for the day stays as the scenario says (less only
    when the duty GPs alone hold more than that).
    """
    n_clin = len(s.clinicians)
    share = np.array([[s.roles[clin.role].on_the_day_share] for clin in s.clinicians],
                     dtype=float).reshape(n_clin, 1).repeat(n_days, axis=1)
    if duty.shape[1] == 0:
        return share
    weekday = (s.start_date.weekday() + np.arange(n_days)) % 7
    works = _works(s, is_open, leave, in_post)
    on_duty = np.zeros((n_clin, n_days), dtype=bool)
    for j in range(duty.shape[1]):
        days = np.nonzero(duty[:, j] >= 0)[0]
        on_duty[duty[days, j], days] = True
    for name, role in s.roles.items():
        members = [c for c, clin in enumerate(s.clinicians) if clin.role == name
                   and role.holds_list and not clin.extended_access]
        if not members:
            continue
        slots = np.array([(slots_per_session(s, s.clinicians[c]) - role.online_slots_per_session)
                          * _sessions_by_weekday(s.clinicians[c])[weekday] * works[c]
                          for c in members], dtype=float)
        duty_slots = (slots * on_duty[members]).sum(axis=0)
        rest = slots.sum(axis=0) - duty_slots
        h = role.on_the_day_share
        with np.errstate(divide="ignore", invalid="ignore"):
            others = np.where(rest > 0, np.clip((h * (rest + duty_slots) - duty_slots) / rest,
                                                0.0, 1.0), h)
        has_duty = duty_slots > 0
        for c in members:
            share[c, has_duty] = np.where(on_duty[c, has_duty], 1.0, others[has_duty])
    return share


def slot_layout(
    s: Scenario, wf: Workforce, n_days: int, is_open: np.ndarray, leave: np.ndarray,
    in_post: np.ndarray | None = None, duty: np.ndarray | None = None,
) -> SlotLayout:
    """Lay out every slot of every clinician's sessions on open days off leave.

    A clinician's slots start ``first_slot`` slots into each session (hub
    sessions shared by practices). A role's ``online_slots_per_session`` last
    slots become online time: ``1 / online_fraction`` short slots each, in the
    ONLINE pool, which only online requests use. Within each session, on-the-day slots are
    spread evenly (slot ``j`` is held if ``floor((j+1) h) > floor(j h)`` for
    share ``h``), so urgent capacity exists at every time of day. ``h`` is the
    role's share, or the day's under a duty-doctor rota ``duty``
    (:func:`duty_rota`, :func:`held_shares`).
    """
    if duty is None:
        duty = np.full((n_days, 0), -1, dtype=np.int64)
    shares = held_shares(s, n_days, is_open, leave, in_post, duty)
    wd0 = s.start_date.weekday()
    weekday = (wd0 + np.arange(n_days)) % 7
    starts = {name: hours(t) / 24.0 for name, t in s.practice.session_starts.items()}
    cl_parts, day_parts, pool_parts, time_parts = [], [], [], []
    for c, clin in enumerate(s.clinicians):
        role = s.roles[clin.role]
        total = slots_per_session(s, clin)
        n_online = 0 if clin.extended_access else role.online_slots_per_session
        j = np.arange(total - n_online)
        minute = 1.0 / (24.0 * 60.0)
        offsets = (clin.first_slot + j) * role.slot_minutes * minute
        if n_online:
            # The session's last slots are online time: short slots of online_fraction each.
            m = np.arange(int(n_online / role.online_fraction + 1e-9))
            offsets = np.concatenate([offsets, (clin.first_slot + j.size) * role.slot_minutes
                                      * minute + m * role.slot_minutes
                                      * role.online_fraction * minute])
        works = working_days(s, clin, is_open) & ~leave[c]
        if in_post is not None:
            works = works & in_post[c]
        for code in clin.sessions:
            wd_name, _, sess = code.partition("_")
            days = np.nonzero(works & (weekday == WEEKDAYS.index(wd_name)))[0]
            if days.size == 0:
                continue
            h = shares[c, days][:, None]
            held = np.floor((j + 1)[None, :] * h) > np.floor(j[None, :] * h)
            pools = np.where(held, ON_THE_DAY, AHEAD).astype(np.int8)
            if n_online:
                pools = np.concatenate(
                    [pools, np.full((days.size, offsets.size - j.size), ONLINE, dtype=np.int8)],
                    axis=1)
            t = (days[:, None] + starts[sess] + offsets[None, :]).ravel()
            cl_parts.append(np.full(t.size, c, dtype=np.int32))
            day_parts.append(np.repeat(days, offsets.size).astype(np.int32))
            # On a day the practice is shut (a hub's weekend session) nobody can ask on
            # the day, so nothing is held back: every slot is bookable ahead.
            day_pools = np.where(is_open[days][:, None], pools,
                                 np.where(pools == ONLINE, ONLINE, AHEAD))
            pool_parts.append(day_pools.ravel().astype(np.int8))
            time_parts.append(t)

    def cat(parts: list[np.ndarray], dtype: type) -> np.ndarray:
        return np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)

    return SlotLayout(
        len(s.clinicians), n_days, cat(cl_parts, np.int32), cat(day_parts, np.int32),
        cat(pool_parts, np.int8), cat(time_parts, float),
    )

