"""A built-in rule's offers and the patient's choice: :mod:`sim.engine.offers`'s twin.

The rule is :class:`sim.engine.policy_api.BookingRule` in the kernel's form
(:class:`sim.engine.kernel.layout.PolicyRule`), the same data the reference desk
reads; the choice is :func:`sim.engine.choice.patient_choice`'s.
"""

from __future__ import annotations

from ...codes import (
    AHEAD,
    FOLLOW_UP,
    N_MODES,
    ON_THE_DAY,
    ONLINE,
    ONLINE_MODE,
    PLANNED,
    REVIEW,
    ROUTINE,
    RULE_NONE,
    RULE_TEAM_LEAD,
    URGENT,
)
from .calendar import earliest
from .layout import (
    DIM_HAS_ONLINE,
    OFFER_CELL,
    OFFER_CLINICIAN,
    OFFER_DAY,
    OFFER_POOL,
    OFFER_SLOT,
    REQ_FROM_DAY,
    REQ_MODE,
    REQ_NEED,
    REQ_PATIENT,
    REQ_TIME,
    REQ_URGENCY,
    REQ_WITH,
    USED_POLICY_DRAWS,
    i64,
    inlined,
    inner,
)


@inner
def _add_offer(run, n, slot):
    """Append ``slot`` to the offers unless none or already there; return the count."""
    t, c, d, pool, k, i = slot
    if c < 0:
        return n
    for j in range(n):
        if run.offer_int[j, OFFER_CELL] == k and run.offer_int[j, OFFER_SLOT] == i:
            return n
    run.offer_time[n] = t
    run.offer_int[n, OFFER_CLINICIAN] = c
    run.offer_int[n, OFFER_DAY] = d
    run.offer_int[n, OFFER_POOL] = pool
    run.offer_int[n, OFFER_CELL] = k
    run.offer_int[n, OFFER_SLOT] = i
    return n + 1


@inner
def _same_day(cal, clinicians, n, now, online):
    """As :func:`sim.engine.offers.same_day_slot`."""
    today = int(now)
    if online:
        return earliest(cal, clinicians, n, i64(ONLINE), now, today, i64(-1))
    held = earliest(cal, clinicians, n, i64(ON_THE_DAY), now, today, i64(-1))
    if held[1] >= 0:  # a clinician: found
        return held
    return earliest(cal, clinicians, n, i64(AHEAD), now, today, i64(-1))


@inner
def _routine(cal, horizon_days, release, clinicians, n, now, from_day, wait, online):
    """As :func:`sim.engine.offers.routine_slot`."""
    horizon = horizon_days if wait < 0 else min(wait, horizon_days)
    today = int(now)
    if online:
        return earliest(cal, clinicians, n, i64(ONLINE), now, today + horizon, from_day)
    best = earliest(cal, clinicians, n, i64(AHEAD), now, today + horizon, from_day)
    if from_day > today:
        return best
    held = earliest(cal, clinicians, n, i64(ON_THE_DAY), now, today, i64(-1))
    if held[1] >= 0 and held[0] <= now + release:  # found, and within the release window
        if best[1] < 0 or held[0] <= best[0]:
            return held
    return best


@inner
def _fill_tiers(rules, rule, usual, run, patient, row):
    """The rule's tiers for ``patient`` (eligible clinicians only), into ``run.tiers``.

    As :func:`sim.engine.offers.rule_tiers`.
    """
    usual_gp = usual[patient]
    team = rules.team_of[usual_gp]
    named = usual_gp
    if rule.named == RULE_TEAM_LEAD and team >= 0:
        named = rules.teams[team, 1]
    n_first = 0
    if rules.eligible_mask[row, named]:
        run.tiers[0, 0] = named
        n_first = 1
    n_team = 0
    if rule.team_tier and team >= 0:
        for j in range(rules.teams[team, 0]):
            c = rules.teams[team, 1 + j]
            if c != named and rules.eligible_mask[row, c]:
                run.tiers[1, n_team] = c
                n_team += 1
    return n_first, n_team


@inner
def _fill_duty(rules, run, row, today):
    """The GPs on duty ``today`` who may take the request, into ``run.tiers[0]``; their count.

    As :meth:`sim.engine.policy_api.PracticeView.on_duty`, filtered by eligibility.
    """
    n = 0
    if today < rules.duty.shape[0]:
        for j in range(rules.duty.shape[1]):
            c = rules.duty[today, j]
            if c >= 0 and rules.eligible_mask[row, c]:
                run.tiers[0, n] = c
                n += 1
    return n


@inlined
def offers(cal, rules, rule, usual, run, log, rid, now):
    """The rule's offers for request ``rid`` at time ``now``, into the scratch offers.

    As :func:`sim.engine.offers.rule_offers` (with ``rule_applies``, ``tiered_offers``
    and ``follow_up_offers``), and the desk's own offer of the patient's GP first.
    """
    urgency = log.req_int[REQ_URGENCY, rid]
    mode = log.req_int[REQ_MODE, rid]
    row = log.req_int[REQ_NEED, rid] * N_MODES + mode
    n_eligible = rules.eligible_list[row, 0]
    eligible = rules.eligible_list[row, 1:]
    online = mode == ONLINE_MODE and cal.dims[DIM_HAS_ONLINE] != 0
    from_day = log.req_int[REQ_FROM_DAY, rid]
    horizon = rules.horizon_days
    n = i64(0)
    if urgency == FOLLOW_UP or urgency == REVIEW or urgency == PLANNED:
        pool = i64(ONLINE) if online else i64(AHEAD)
        c = log.req_int[REQ_WITH, rid]
        if c >= 0:
            run.tiers[0, 0] = c
            n = _add_offer(run, n, earliest(cal, run.tiers[0], i64(1), pool, now,
                                            from_day + rules.follow_up_window_days, from_day))
        return _add_offer(run, n, earliest(cal, eligible, n_eligible, pool, now,
                                           from_day + horizon, from_day))
    patient = log.req_int[REQ_PATIENT, rid]
    n = _policy_offers(cal, rules, rule, usual, run, log, rid, now, urgency, row, n_eligible,
                       eligible, online, from_day, patient)
    own = usual[patient]
    if not (urgency == ROUTINE and rules.ask_for_own_gp and rules.values_continuity[patient]
            and rules.eligible_mask[row, own]):
        return n
    # The patient asks for their own GP, whatever the policy: their slot goes first.
    run.tiers[0, 0] = own
    slot = _routine(cal, horizon, rules.release_days, run.tiers[0], i64(1), now, from_day,
                    i64(-1), online)
    return _put_first(run, n, slot)


@inner
def _put_first(run, n, slot):
    """Move ``slot`` to the front of the offers (adding it if new); return the count."""
    t, c, d, pool, k, i = slot
    if c < 0:
        return n
    at = n
    for j in range(n):
        if run.offer_int[j, OFFER_CELL] == k and run.offer_int[j, OFFER_SLOT] == i:
            at = j
            break
    for j in range(at, 0, -1):
        run.offer_time[j] = run.offer_time[j - 1]
        for f in range(5):
            run.offer_int[j, f] = run.offer_int[j - 1, f]
    run.offer_time[0] = t
    run.offer_int[0, OFFER_CLINICIAN] = c
    run.offer_int[0, OFFER_DAY] = d
    run.offer_int[0, OFFER_POOL] = pool
    run.offer_int[0, OFFER_CELL] = k
    run.offer_int[0, OFFER_SLOT] = i
    return n + 1 if at == n else n


@inlined
def _policy_offers(cal, rules, rule, usual, run, log, rid, now, urgency, row, n_eligible,
                   eligible, online, from_day, patient):
    """The rule's offers for an urgent or routine request (as ``rule_offers``)."""
    apply = False
    if (rule.named != RULE_NONE and (urgency != URGENT or rule.urgent)
            and rule.coded[patient]):
        if rule.adherence >= 1.0:
            apply = True
        else:
            u = run.policy_draws[log.count[USED_POLICY_DRAWS]]
            log.count[USED_POLICY_DRAWS] += 1
            apply = u < rule.adherence
    n_first = 0
    n_team = 0
    if apply:
        n_first, n_team = _fill_tiers(rules, rule, usual, run, patient, row)
    if urgency == URGENT:
        if n_first > 0:
            slot = _same_day(cal, run.tiers[0], n_first, now, online)
            if slot[1] >= 0:
                return _add_offer(run, i64(0), slot)
        if n_team > 0:
            slot = _same_day(cal, run.tiers[1], n_team, now, online)
            if slot[1] >= 0:
                return _add_offer(run, i64(0), slot)
        n_duty = _fill_duty(rules, run, row, int(now))
        if n_duty > 0:
            slot = _same_day(cal, run.tiers[0], n_duty, now, online)
            if slot[1] >= 0:
                return _add_offer(run, i64(0), slot)
        return _add_offer(run, i64(0), _same_day(cal, eligible, n_eligible, now, online))
    n = i64(0)
    horizon = rules.horizon_days
    release = rules.release_days
    if n_first > 0:
        n = _add_offer(run, n, _routine(cal, horizon, release, run.tiers[0], n_first, now,
                                        from_day, rule.named_wait_days, online))
    if n_team > 0:
        n = _add_offer(run, n, _routine(cal, horizon, release, run.tiers[1], n_team, now,
                                        from_day, rule.team_wait_days, online))
    return _add_offer(run, n, _routine(cal, horizon, release, eligible, n_eligible, now,
                                       from_day, i64(-1), online))


@inlined
def choose(rules, run, log, rid, n):
    """The offer the patient takes (as :func:`sim.engine.choice.patient_choice`), or -1."""
    if n == 0:
        return -1
    urgency = log.req_int[REQ_URGENCY, rid]
    chosen = 0
    if urgency == ROUTINE and n > 1:
        soonest = 0
        for j in range(1, n):
            if run.offer_time[j] < run.offer_time[soonest]:
                soonest = j
        chosen = soonest
        if rules.values_continuity[log.req_int[REQ_PATIENT, rid]]:
            extra = rules.extra_days[log.req_int[REQ_PATIENT, rid], log.req_int[REQ_NEED, rid]]
        else:
            extra = rules.extra_days_without_preference
        for j in range(n):
            if j == soonest or run.offer_time[j] - run.offer_time[soonest] <= extra:
                chosen = j
                break
    if (urgency == ROUTINE
            and run.offer_time[chosen] - log.req_float[REQ_TIME, rid] > rules.decline_after_days):
        return -1
    return chosen


