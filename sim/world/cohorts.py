"""Cohort searches and micro-teams, resolved to arrays of patients and clinicians."""

from __future__ import annotations

import numpy as np

from ..inputs.schema import Scenario
from .population import Patients


def cohort_masks(s: Scenario, patients: Patients) -> dict[str, np.ndarray]:
    """For each named cohort, a read-only boolean array over patients.

    A cohort flagged in an imported list file takes its membership from there.
    """
    out = {}
    names = list(patients.age_band_names)
    given = patients.cohort_flags or {}
    for name, rule in s.cohorts.items():
        if name in given:  # membership from an imported list file
            m = np.array(given[name], dtype=bool)
            m.setflags(write=False)
            out[name] = m
            continue
        m = np.ones(patients.size, dtype=bool)
        if rule.age_bands is not None:
            m &= np.isin(patients.age_band, [names.index(b) for b in rule.age_bands])
        if rule.min_ltc is not None:
            m &= patients.n_ltc >= rule.min_ltc
        if rule.housebound is not None:
            m &= patients.housebound == rule.housebound
        if rule.min_rate_per_year is not None:
            m &= patients.rate_per_year >= rule.min_rate_per_year
        m.setflags(write=False)
        out[name] = m
    return out


def team_index(s: Scenario) -> tuple[tuple[tuple[int, ...], ...], dict[int, int]]:
    """Teams as clinician indices (lead first), and each list-holder's team number.

    Support staff may serve several teams; a list-holder (usual GP) belongs to
    one, which is the team of every patient on their list.
    """
    index = {c.id: i for i, c in enumerate(s.clinicians)}
    holds = [s.roles[c.role].holds_list for c in s.clinicians]
    teams = tuple(tuple(index[m] for m in (t.lead, *t.members)) for t in s.teams)
    team_of: dict[int, int] = {}
    for k, members in enumerate(teams):
        for c in members:
            if holds[c]:
                team_of.setdefault(c, k)
    return teams, team_of
