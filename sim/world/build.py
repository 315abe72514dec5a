"""The world of one run, built once from a scenario and a replication number.

Everything decided before the first booking is drawn here, from its own named
stream: the registered list and usual GPs, cohorts and teams, every request
of the run, leave and sickness, the slots of every session, care navigation.
The result, :class:`World`, is a frozen record that both booking desks take
(:mod:`sim.engine`); :class:`BookingRules` is the part of it the desks read
while booking, in a form the compiled desk takes as it is.

Adding a booking feature: a field of the scenario (:mod:`sim.inputs.schema`),
a field of :class:`BookingRules` set in :func:`booking_rules`, and the two
desks' use of it (:mod:`sim.engine.reference`, :mod:`sim.engine.kernel`);
``tests/test_engines.py`` fails until a parity case changes the new field.
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

import numpy as np

from ..codes import MODE_NAMES, N_MODES, NAV_AS_ASKED, NAV_ELSEWHERE
from ..inputs.history_import import History
from ..inputs.list_import import read_list
from ..inputs.schema import Scenario, hours
from .cohorts import cohort_masks, team_index
from .demand import Arrivals, care_plan_reviews, generate_arrivals, merge_arrivals, planned_care
from .history import build_history
from .population import Patients, build_patients
from .streams import Streams
from .triage import planned_calls, set_aside, triaged_kinds
from .workforce import (
    SlotLayout,
    Workforce,
    annual_leave,
    build_workforce,
    duty_rota,
    employed,
    open_days,
    sickness_spells,
    slot_layout,
)


class BookingRules(NamedTuple):
    """What both booking desks read while booking; fixed for the run.

    A named tuple of plain numbers and contiguous, writable NumPy arrays, so the
    compiled desk takes it as it is (one compiled signature). Days are
    simulation days; per-need arrays are indexed by need, per-patient arrays by
    patient; ``eligible_*`` rows are ``need * N_MODES + mode``.

    Attributes:
        end_day: the first day after the observation window; nothing is queued past it.
        max_attempts: attempts before a patient who finds no slot gives up.
        horizon_days: how far ahead routine appointments may be booked.
        follow_up_window_days: a follow-up or review goes to its named
            clinician if they have a slot within this many days of the wanted day.
        open_time: opening time as a fraction of a day (queued requests are handled then).
        release_days: how long before it starts a held on-the-day slot is offered
            to routine requests, in days.
        decline_after_days: a routine patient declines a slot later than this
            after first asking (``inf``: never).
        known_after_visits: earlier consultations after which a clinician "knows" a patient.
        known_clinician_factor: follow-up probability multiplier once known.
        has_navigation: whether care navigation signposts any arrival.
        ask_for_own_gp: whether patients who value continuity ask for their usual GP.
        extra_days_without_preference: how much later an unprompted offer of their
            usual GP or team a patient without a preference still takes.
        is_open: whether the practice opens on each day.
        next_open: the next open day after each day (``n_days`` if none).
        extra_days: per patient and need, extra days a patient who values
            continuity waits for their own clinician (:func:`willingness_to_wait`).
        follow_up_probability, follow_up_delay_lo, follow_up_delay_span: per need.
        dna_by_lead: DNA probability by whole days of lead time.
        dna_propensity: per patient, a multiplier on the DNA probability.
        values_continuity: per patient, whether they value continuity.
        eligible_list: per (need, mode): how many clinicians may take it, then them.
        eligible_mask: per (need, mode) and clinician: whether they may take it.
        teams: per team: its size, then its members, lead first.
        team_of: per clinician: their team if they hold a list in one, else -1.
        duty: per day, the GPs on duty (-1: none); no columns unless the practice runs
            a duty-doctor rota (:func:`sim.world.workforce.duty_rota`).
        triage_kinds: per urgency code, whether new requests of that kind are
            triaged (``practice.urgent_care.triage``; all False without triage).
        triage_calls: per day, the triage calls the GP time set aside can take
            (:func:`sim.world.triage.set_aside`).
        triage_resolved_share: share of triaged requests resolved on the telephone.
    """

    end_day: int
    max_attempts: int
    horizon_days: int
    follow_up_window_days: int
    open_time: float
    release_days: float
    decline_after_days: float
    known_after_visits: int
    known_clinician_factor: float
    has_navigation: bool
    ask_for_own_gp: bool
    extra_days_without_preference: float
    is_open: np.ndarray
    next_open: np.ndarray
    extra_days: np.ndarray
    follow_up_probability: np.ndarray
    follow_up_delay_lo: np.ndarray
    follow_up_delay_span: np.ndarray
    dna_by_lead: np.ndarray
    dna_propensity: np.ndarray
    values_continuity: np.ndarray
    eligible_list: np.ndarray
    eligible_mask: np.ndarray
    teams: np.ndarray
    team_of: np.ndarray
    duty: np.ndarray
    triage_kinds: np.ndarray
    triage_calls: np.ndarray
    triage_resolved_share: float


@dataclasses.dataclass(frozen=True, eq=False)
class World:
    """One run's inputs, built by :func:`build_world`; never changed by booking.

    Attributes:
        scenario: the validated scenario (seed set).
        replication: the replication number.
        streams: the run's named random streams (each ``get`` starts afresh).
        end_day: the first day after the observation window.
        n_days: days the calendar covers (the run plus the longest booking reach).
        workforce: the clinicians as arrays.
        leave: (clinician, day) on annual leave.
        in_post: (clinician, day) employed.
        slots: every slot of every session (:class:`sim.world.workforce.SlotLayout`).
        patients: the registered list (usual GPs as at the start).
        cohorts: cohort name -> patients in it.
        teams: micro-teams as clinician indices, lead first.
        team_of: list-holder -> their team number.
        arrivals: every request of the run, in time order (follow-ups are made later).
        navigation: per arrival, ``NAV_AS_ASKED``, ``NAV_ELSEWHERE`` or a need to
            redirect to; None without care navigation.
        spells: sickness spells ``(start day, clinician, length in days)``, by start day.
        leavers: day -> list-holders who leave that day (their lists move).
        eligible: per need and mode, the clinicians who may take it (tuples).
        list_caps: per clinician, the most patients on their list (``inf``: no cap).
        lists_rng_state: the "lists" stream's state after the lists were drawn;
            leavers' lists are moved with it.
        coding_rank: per patient, a uniform number: the order in which a
            practice's continuity code reaches its list (the "coding" stream).
        policy_days: ``(first day, policy name, parameters)`` for every day the
            policy or one of its parameters changes (day 0 first): the policy of
            the run, its changes, and each day of a ramp.
        rebalance_days: days a change has the practice rebalance its lists.
        rules: what the booking desks read (:class:`BookingRules`).
        history: consultations before the simulated period (who already knows whom).
    """

    scenario: Scenario
    replication: int
    streams: Streams
    end_day: int
    n_days: int
    workforce: Workforce
    leave: np.ndarray
    in_post: np.ndarray
    slots: SlotLayout
    patients: Patients
    cohorts: dict[str, np.ndarray]
    teams: tuple[tuple[int, ...], ...]
    team_of: dict[int, int]
    arrivals: Arrivals
    navigation: np.ndarray | None
    spells: tuple[tuple[int, int, int], ...]
    leavers: dict[int, tuple[int, ...]]
    eligible: tuple[tuple[tuple[int, ...], ...], ...]
    list_caps: np.ndarray
    lists_rng_state: dict[str, Any]
    coding_rank: np.ndarray
    policy_days: tuple[tuple[int, str, dict[str, Any]], ...]
    rebalance_days: tuple[int, ...]
    rules: BookingRules
    history: History = dataclasses.field(default_factory=History.empty)

    @property
    def need_names(self) -> tuple[str, ...]:
        """Need types, by index."""
        return tuple(self.scenario.demand.needs)

    @property
    def is_open(self) -> np.ndarray:
        """Whether the practice opens on each day."""
        return self.rules.is_open


def build_world(scenario: Scenario, replication: int = 0) -> World:
    """Draw everything a run needs before its first booking.

    Raises:
        ValueError: if the scenario has no seed (set one with
            :func:`sim.inputs.resolve.with_seed`).
    """
    if scenario.seed is None:
        raise ValueError("the scenario's seed must be set before building a world")
    s = scenario
    streams = Streams(s.seed, replication)
    end_day = s.end_day
    longest_follow_up = max(n.follow_up_delay_days[1] for n in s.demand.needs.values())
    longest_lead = max([p.lead_days[1] for p in s.planned_care] or [0])
    n_days = end_day + max(s.practice.booking_horizon_days, longest_follow_up, longest_lead) + 1
    is_open = open_days(s, n_days)
    workforce = build_workforce(s)
    leave = annual_leave(s, n_days, streams.get("leave"))
    in_post = employed(s, n_days)
    duty = duty_rota(s, n_days, is_open, leave, in_post)
    slots = slot_layout(s, workforce, n_days, is_open, leave, in_post, duty)
    caps = np.array([np.inf if c.max_list_size is None else c.max_list_size
                     for c in s.clinicians])
    holders = np.nonzero(workforce.holds_list & in_post[:, 0])[0]
    lists_rng = streams.get("lists")
    imported = None
    if s.population.list_file is not None:
        imported = read_list(s.population.list_file, [b.name for b in s.population.age_bands],
                             [workforce.ids[c] for c in np.nonzero(workforce.holds_list)[0]],
                             list(s.cohorts))
    patients = build_patients(
        s, streams.get("population"), lists_rng, holders, workforce.sessions_per_week[holders],
        caps[holders], imported=imported, clinician_ids=tuple(workforce.ids),
    )
    leavers: dict[int, list[int]] = {}
    for c, clin in enumerate(s.clinicians):
        if clin.leaves is not None and workforce.holds_list[c]:
            d = (clin.leaves - s.start_date).days
            if 0 < d < end_day:
                leavers.setdefault(d, []).append(c)
    cohorts = cohort_masks(s, patients)
    arrivals = generate_arrivals(s, patients.rate_per_year, end_day, streams.get("demand"),
                                 streams.get("case_mix"), patients.housebound)
    if s.care_plan_reviews:
        arrivals = merge_arrivals(arrivals, care_plan_reviews(
            s, cohorts, patients.housebound, is_open, end_day, streams.get("reviews")))
    if s.planned_care:
        arrivals = merge_arrivals(arrivals, planned_care(
            s, patients.n_ltc, cohorts, patients.housebound, is_open, end_day,
            streams.get("planned_care")))
    spells = tuple(sp for sp in sickness_spells(s, n_days, streams.get("sickness"))
                   if sp[0] < end_day)
    navigation = _signposting(s, arrivals, streams.get("navigation"))
    slots, triage_calls = set_aside(
        s, slots, planned_calls(s, arrivals, navigation, float(patients.rate_per_year.sum()),
                               end_day, n_days), is_open)
    eligible = _eligibility(s, workforce)
    teams, team_of = team_index(s)
    rules = booking_rules(s, n_days, is_open, patients, eligible, teams, team_of,
                          navigation is not None,
                          willingness_to_wait(s, patients.size, streams.get("willingness")), duty,
                          triage_calls)
    return World(
        scenario=s, replication=replication, streams=streams, end_day=end_day, n_days=n_days,
        workforce=workforce, leave=leave, in_post=in_post, slots=slots, patients=patients,
        cohorts=cohorts, teams=teams, team_of=team_of, arrivals=arrivals,
        navigation=navigation, spells=spells,
        leavers={d: tuple(cs) for d, cs in leavers.items()}, eligible=eligible,
        list_caps=caps, lists_rng_state=lists_rng.bit_generator.state,
        coding_rank=streams.get("coding").random(patients.size),
        policy_days=policy_days(s),
        rebalance_days=tuple(sorted((c.from_date - s.start_date).days
                                    for c in s.policy_changes if c.lists == "rebalance")),
        rules=rules,
        history=build_history(s, patients, tuple(workforce.ids), holders,
                              streams.get("history")),
    )


def ramp_fraction(days: float, ramp_days: float, shape: str) -> float:
    """How far along its ramp a parameter is, ``days`` after the change (0 to 1).

    Linear, or a logistic learning curve scaled to run exactly from 0 to 1
    (its raw curve is 1% of the way at the start and 99% at the end).
    """
    x = min(max(days / ramp_days, 0.0), 1.0)
    if shape == "linear":
        return x
    k = 2.0 * np.log(99.0)

    def curve(u: float) -> float:
        return 1.0 / (1.0 + np.exp(-k * (u - 0.5)))

    return float((curve(x) - curve(0.0)) / (curve(1.0) - curve(0.0)))


def policy_days(s: Scenario) -> tuple[tuple[int, str, dict[str, Any]], ...]:
    """Every day the policy or one of its parameters changes: ``(day, name, params)``.

    Day 0 has the scenario's policy; each change starts on its date; a
    ramped parameter takes its interpolated value each day until it reaches
    the change's own value (whole-number parameters are rounded; a day whose
    values equal the day before's is left out).
    """
    out = [(0, s.policy.name, dict(s.policy.params))]
    changes = list(s.policy_changes)
    for i, change in enumerate(changes):
        first = (change.from_date - s.start_date).days
        stop = ((changes[i + 1].from_date - s.start_date).days if i + 1 < len(changes)
                else s.end_day)
        base = dict(change.policy.params)
        out.append((first, change.policy.name, base))
        if not change.ramp:
            continue
        # The loader wrote each ramped parameter's final value into the change's params.
        targets = {r.param: base[r.param] for r in change.ramp}
        last_days = max(int(np.ceil(r.weeks * 7)) for r in change.ramp)
        for d in range(first, min(first + last_days + 1, stop)):
            params = dict(base)
            for r in change.ramp:
                value = r.start + (targets[r.param] - r.start) * ramp_fraction(
                    d - first, r.weeks * 7, r.shape)
                params[r.param] = round(value) if isinstance(targets[r.param], int) else value
            if out[-1][0] == d:
                out[-1] = (d, change.policy.name, params)
            elif params != out[-1][2]:
                out.append((d, change.policy.name, params))
    return tuple(out)


def willingness_to_wait(s: Scenario, n_patients: int, rng: np.random.Generator) -> np.ndarray:
    """Extra days each patient will wait for their own clinician, by need (patients x needs).

    Each need's mean is ``choice.extra_days_by_need``; patients differ around it by a
    gamma distribution of shape ``choice.extra_days_shape`` (None: all at the mean).
    """
    means = np.array([s.choice.extra_days_by_need.get(n, 0.0) for n in s.demand.needs],
                     dtype=float)
    shape = s.choice.extra_days_shape
    if shape is None:
        return np.ascontiguousarray(np.broadcast_to(means, (n_patients, means.size)))
    return rng.gamma(shape, 1.0, size=(n_patients, means.size)) * (means / shape)


def booking_rules(s: Scenario, n_days: int, is_open: np.ndarray, patients: Patients,
                  eligible: tuple[tuple[tuple[int, ...], ...], ...],
                  teams: tuple[tuple[int, ...], ...], team_of: dict[int, int],
                  has_navigation: bool, extra_days: np.ndarray,
                  duty: np.ndarray | None = None,
                  triage_calls: np.ndarray | None = None) -> BookingRules:
    """The :class:`BookingRules` of a scenario (arrays contiguous and writable).

    ``extra_days``: :func:`willingness_to_wait`; ``duty``:
    :func:`sim.world.workforce.duty_rota` (None: no duty rota); ``triage_calls``:
    :func:`sim.world.triage.set_aside` (None: no triage).
    """
    needs = list(s.demand.needs.values())
    n_clin = max(len(s.clinicians), 1)
    dna_by_lead = np.empty(n_days + 1)
    lo = 0
    for band in s.dna.by_lead_days:
        hi = n_days + 1 if band.max_lead_days is None else min(band.max_lead_days + 1,
                                                                n_days + 1)
        dna_by_lead[lo:hi] = band.probability
        lo = hi
    next_open = np.full(n_days + 1, n_days, dtype=np.int64)
    for d in range(n_days - 1, -1, -1):
        next_open[d] = d + 1 if d + 1 < n_days and is_open[d + 1] else next_open[d + 1]
    eligible_list = np.zeros((len(needs) * N_MODES, 1 + n_clin), dtype=np.int64)
    eligible_mask = np.zeros((len(needs) * N_MODES, n_clin), dtype=np.bool_)
    for need, row in enumerate(eligible):
        for mode, clinicians in enumerate(row):
            r = need * N_MODES + mode
            eligible_list[r, 0] = len(clinicians)
            eligible_list[r, 1:1 + len(clinicians)] = clinicians
            eligible_mask[r, list(clinicians)] = True
    width = max([len(t) for t in teams] or [1])
    team_table = np.zeros((max(len(teams), 1), 1 + width), dtype=np.int64)
    for k, t in enumerate(teams):
        team_table[k, 0] = len(t)
        team_table[k, 1:1 + len(t)] = t
    team_of_clinician = np.full(n_clin, -1, dtype=np.int64)
    for c, k in team_of.items():
        team_of_clinician[c] = k
    decline = s.choice.decline_beyond_days
    return BookingRules(
        end_day=int(s.end_day),
        max_attempts=int(s.practice.max_attempts),
        horizon_days=int(s.practice.booking_horizon_days),
        follow_up_window_days=int(s.follow_ups.same_clinician_window_days),
        open_time=hours(s.practice.opening.open) / 24.0,
        release_days=s.practice.on_the_day_release_minutes / (24.0 * 60.0),
        decline_after_days=float("inf") if decline is None else float(decline),
        known_after_visits=int(s.follow_ups.known_after_visits),
        known_clinician_factor=float(s.follow_ups.known_clinician_factor),
        has_navigation=bool(has_navigation),
        ask_for_own_gp=bool(s.choice.ask_for_own_gp),
        extra_days_without_preference=float(s.choice.extra_days_without_preference),
        is_open=np.array(is_open, dtype=np.bool_),
        next_open=next_open,
        extra_days=extra_days,
        follow_up_probability=np.array([n.follow_up_probability for n in needs], dtype=float),
        follow_up_delay_lo=np.array([n.follow_up_delay_days[0] for n in needs], dtype=np.int64),
        follow_up_delay_span=np.array([n.follow_up_delay_days[1] - n.follow_up_delay_days[0] + 1
                                       for n in needs], dtype=np.int64),
        dna_by_lead=dna_by_lead,
        dna_propensity=np.array(patients.dna_propensity, dtype=float),
        values_continuity=np.array(patients.values_continuity, dtype=np.bool_),
        eligible_list=eligible_list,
        eligible_mask=eligible_mask,
        teams=team_table,
        team_of=team_of_clinician,
        duty=(np.full((n_days, 0), -1, dtype=np.int64) if duty is None
              else np.ascontiguousarray(duty, dtype=np.int64)),
        triage_kinds=triaged_kinds(s),
        triage_calls=(np.zeros(n_days, dtype=np.int64) if triage_calls is None
                      else np.ascontiguousarray(triage_calls, dtype=np.int64)),
        triage_resolved_share=float(s.practice.urgent_care.triage.resolved_share),
    )


def _eligibility(s: Scenario, wf: Workforce) -> tuple[tuple[tuple[int, ...], ...], ...]:
    """Clinicians able to take each (need, mode): their role suits the need and does the mode."""
    table = []
    for need in s.demand.needs.values():
        roles = set(need.roles)
        table.append(tuple(tuple(c for c in range(wf.size)
                                 if wf.roles[c] in roles and mode in wf.modes[c])
                           for mode in MODE_NAMES))
    return tuple(table)


def _signposting(s: Scenario, arrivals: Arrivals, rng: np.random.Generator
                 ) -> np.ndarray | None:
    """Care navigation for each arrival: as asked, elsewhere, or a need to redirect to.

    Drawn from the "navigation" stream, one uniform per arrival, so the other
    streams are unchanged and every policy sees the same signposting.
    """
    needs = list(s.demand.needs.values())
    if not any(n.signposted_share > 0 for n in needs):
        return None
    names = list(s.demand.needs)
    share = np.array([n.signposted_share for n in needs])
    target = np.array([NAV_ELSEWHERE if n.signposted_to == "external"
                       else names.index(n.signposted_to) for n in needs])
    hit = rng.random(len(arrivals)) < share[arrivals.need]
    return np.where(hit, target[arrivals.need], NAV_AS_ASKED).astype(np.int64)
