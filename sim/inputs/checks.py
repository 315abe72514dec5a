"""Checks between the parts of a scenario that the schema alone cannot make.

Roles named by clinicians and needs, session names, cohorts, teams, reviews
and care navigation must refer to things the scenario defines; every request
that can occur must have someone who can take it. Problems come back as key
paths, so the loader can point at the line that is wrong.
"""

from __future__ import annotations

from difflib import get_close_matches
from typing import Any

from .schema import WEEKDAYS, Scenario, hours


def cross_reference_problems(s: Scenario) -> list[tuple[tuple[Any, ...], str]]:
    """Check references between parts of a scenario.

    Returns:
        A list of ``(key path, message)``; empty when the scenario is consistent.
    """
    problems: list[tuple[tuple[Any, ...], str]] = []
    roles = sorted(s.roles)
    session_names = set(s.practice.session_starts)
    seen_ids: dict[str, int] = {}
    for i, c in enumerate(s.clinicians):
        if c.id in seen_ids:
            problems.append(
                (("clinicians", i, "id"), f"duplicate clinician id {c.id!r} "
                 f"(also clinicians[{seen_ids[c.id]}])")
            )
        seen_ids.setdefault(c.id, i)
        if c.role not in s.roles:
            problems.append((("clinicians", i, "role"), _unknown("role", c.role, roles)))
        for j, code in enumerate(c.sessions):
            day, _, sess = code.partition("_")
            if day not in WEEKDAYS or sess not in session_names:
                valid = [f"{d}_{n}" for d in s.practice.opening.days for n in sorted(session_names)]
                problems.append(
                    (("clinicians", i, "sessions", j), _unknown("session", code, valid))
                )
            elif day not in s.practice.opening.days and not c.extended_access:
                problems.append(
                    (("clinicians", i, "sessions", j),
                     f"session {code!r} is on a day the practice is shut "
                     f"(practice.opening.days: {', '.join(s.practice.opening.days)})")
                )
        if len(set(c.sessions)) != len(c.sessions):
            problems.append((("clinicians", i, "sessions"), "a session is listed twice"))
    for name, need in s.demand.needs.items():
        for j, r in enumerate(need.roles):
            if r not in s.roles:
                problems.append((("demand", "needs", name, "roles", j), _unknown("role", r, roles)))
    opening = s.practice.opening
    in_hours = {code.partition("_")[2] for c in s.clinicians if not c.extended_access
                for code in c.sessions}
    for name, start in s.practice.session_starts.items():
        if name in in_hours and not hours(opening.open) <= hours(start) < hours(opening.close):
            problems.append(
                (("practice", "session_starts", name),
                 f"session starts at {start}, outside opening hours "
                 f"{opening.open}-{opening.close}")
            )
    for t in s.demand.intraday_profile:
        if not hours(opening.open) <= hours(t) < hours(opening.close):
            problems.append(
                (("demand", "intraday_profile", t),
                 f"{t} is outside opening hours {opening.open}-{opening.close}")
            )
    if not any(s.demand.weekday_weights.get(d, 0.0) > 0 for d in opening.days):
        problems.append(
            (("demand", "weekday_weights"), "no open weekday has a positive weight")
        )
    at_start = [c for c in s.clinicians if c.role in s.roles and s.roles[c.role].holds_list
                and not c.extended_access and (c.joins is None or c.joins <= s.start_date)
                and (c.leaves is None or c.leaves > s.start_date)]
    caps = [c.max_list_size for c in at_start]
    if at_start and all(cap is not None for cap in caps) and sum(caps) < s.population.size:
        problems.append(
            (("clinicians",), f"list caps (max_list_size) of the list-holders at the start add "
             f"up to {sum(caps):,}, fewer than the {s.population.size:,} patients")
        )
    if s.roles and not at_start and any(c.role in s.roles for c in s.clinicians):
        problems.append(
            (("clinicians",), "no list-holding clinician works on the start date, so patients "
             "would have no usual clinician")
        )
    if not any(s.roles[c.role].holds_list for c in s.clinicians
               if c.role in s.roles and not c.extended_access):
        problems.append(
            (("roles",), "no clinician is in a role with holds_list: true, so patients "
             "would have no usual clinician")
        )
    ids = {c.id for c in s.clinicians}
    band_names = [b.name for b in s.population.age_bands]
    for name, rule in s.cohorts.items():
        for j, band in enumerate(rule.age_bands or ()):
            if band not in band_names:
                problems.append(
                    (("cohorts", name, "age_bands", j), _unknown("age band", band, band_names))
                )
    by_id = {c.id: c for c in s.clinicians}
    team_of: dict[str, str] = {}
    for i, team in enumerate(s.teams):
        for j, m in enumerate((team.lead, *team.members)):
            where = ("lead",) if j == 0 else ("members", j - 1)
            clin = by_id.get(m)
            if clin is None:
                problems.append((("teams", i, *where), _unknown("clinician", m, sorted(ids))))
                continue
            if clin.role not in s.roles or not s.roles[clin.role].holds_list:
                continue  # support staff may serve several teams
            if m in team_of:
                problems.append(
                    (("teams", i, *where), f"list-holder {m!r} is already in team "
                     f"{team_of[m]!r}; a patient's usual GP must belong to one team")
                )
            team_of.setdefault(m, team.id)
    if len({t.id for t in s.teams}) != len(s.teams):
        problems.append((("teams",), "team ids must be unique"))
    for name, need in s.demand.needs.items():
        to = need.signposted_to
        if need.signposted_share > 0 and to != "external" and (
                to not in s.demand.needs or to == name):
            problems.append((("demand", "needs", name, "signposted_to"),
                             _unknown("need", to, ["external", *sorted(set(s.demand.needs)
                                                                       - {name})])))
    for need in s.choice.extra_days_by_need:
        if need not in s.demand.needs:
            problems.append(
                (("choice", "extra_days_by_need", need),
                 _unknown("need", need, sorted(s.demand.needs)))
            )
    for need in s.emergency.access.routine_tolerance_days_by_need:
        if need not in s.demand.needs:
            problems.append((("emergency", "access", "routine_tolerance_days_by_need", need),
                             _unknown("need", need, sorted(s.demand.needs))))
    for key in ("ae_ratio_by_age_band", "admission_ratio_by_age_band"):
        for band in getattr(s.emergency, key):
            if band not in band_names:
                problems.append((("emergency", key, band), _unknown("age band", band, band_names)))
    depth = s.relationship_depth.points
    if not (0 < depth[0][0] < depth[1][0] and 0 < depth[0][1] < depth[1][1] < 1):
        problems.append((("relationship_depth", "points"), "need two points with 0 < n1 < n2 and "
                         "0 < p1 < p2 < 1"))
    for key in ("ae_ratio_by_years", "admission_ratio_by_years"):
        pts = getattr(s.emergency.continuity, key)
        years = [y for y, _ in pts]
        if years != sorted(years) or len(set(years)) != len(years) or any(
                y < 0 or r <= 0 for y, r in pts):
            problems.append((("emergency", "continuity", key), "points must have increasing, "
                             "non-negative years and positive ratios"))
    for i, review in enumerate(s.care_plan_reviews):
        where = ("care_plan_reviews", i)
        if review.cohort not in s.cohorts:
            problems.append(((*where, "cohort"), _unknown("cohort", review.cohort,
                                                          sorted(s.cohorts))))
        if review.need not in s.demand.needs:
            problems.append(((*where, "need"), _unknown("need", review.need,
                                                        sorted(s.demand.needs))))
        elif not any(s.roles[r].holds_list for r in s.demand.needs[review.need].roles
                     if r in s.roles):
            problems.append(((*where, "need"), f"need {review.need!r} cannot be taken by a "
                             "list-holding role, so the named clinician could never do the review"))
        if review.named_clinician == "team_lead" and not s.teams:
            problems.append(((*where, "named_clinician"), "team_lead needs micro-teams "
                             "(teams: or team_formation:)"))
        if review.booked_days_ahead > s.practice.booking_horizon_days:
            problems.append(((*where, "booked_days_ahead"), f"{review.booked_days_ahead} days is "
                             "beyond the booking horizon (practice.booking_horizon_days: "
                             f"{s.practice.booking_horizon_days})"))
    stream_ids = [p.id for p in s.planned_care]
    if len(set(stream_ids)) != len(stream_ids):
        problems.append((("planned_care",), "planned care stream ids must be unique"))
    for i, stream in enumerate(s.planned_care):
        where = ("planned_care", i)
        if stream.cohort is not None and stream.cohort not in s.cohorts:
            problems.append(((*where, "cohort"), _unknown("cohort", stream.cohort,
                                                          sorted(s.cohorts))))
        if stream.need not in s.demand.needs:
            problems.append(((*where, "need"), _unknown("need", stream.need,
                                                        sorted(s.demand.needs))))
        elif stream.with_usual_gp and not any(
                s.roles[r].holds_list for r in s.demand.needs[stream.need].roles if r in s.roles):
            problems.append(((*where, "with_usual_gp"), f"need {stream.need!r} cannot be taken "
                             "by a list-holding role, so the usual GP could never do it"))
    if problems:
        return problems
    # Every request that can occur must have someone who can take it.
    by_role: dict[str, int] = {}
    for c in s.clinicians:
        by_role[c.role] = by_role.get(c.role, 0) + 1
    modes = [m for m, share in s.demand.modes.items() if share > 0]
    if any(b.housebound_probability > 0 for b in s.population.age_bands) and (
        s.demand.modes.get("face_to_face", 0) > 0
    ):
        modes.append("home_visit")
    for name, need in s.demand.needs.items():
        if need.share <= 0:
            continue
        for mode in modes:
            able = [r for r in need.roles if mode in s.roles[r].modes and by_role.get(r)]
            if not able:
                problems.append(
                    (("demand", "needs", name, "roles"),
                     f"no clinician can take a {mode.replace('_', ' ')} request for need "
                     f"{name!r}: roles {list(need.roles)} either do not do {mode} or "
                     "have no clinicians")
                )
    housebound = any(b.housebound_probability > 0 for b in s.population.age_bands)
    for i, stream in enumerate(s.planned_care):
        need = s.demand.needs[stream.need]
        stream_modes = [stream.mode] + (["home_visit"] if housebound
                                         and stream.mode == "face_to_face" else [])
        for mode in stream_modes:
            if not [r for r in need.roles if mode in s.roles[r].modes and by_role.get(r)]:
                problems.append((("planned_care", i, "mode"),
                                 f"no clinician can take a {mode.replace('_', ' ')} appointment "
                                 f"for need {stream.need!r}"))
    return problems


def _unknown(what: str, value: str, valid: list[str]) -> str:
    msg = f"unknown {what} {value!r}"
    close = get_close_matches(value, valid, n=1)
    if close:
        msg += f"; did you mean {close[0]!r}?"
    elif valid:
        shown = ", ".join(valid[:12]) + (", ..." if len(valid) > 12 else "")
        msg += f" (valid: {shown})"
    return msg
