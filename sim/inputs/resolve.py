"""The scenario as it runs: teams formed, seed chosen, written out in full.

``team_formation`` becomes an explicit list of ``teams`` at load time, so the
resolved scenario saved with every output shows the teams that ran. A
scenario without a seed gets a fresh random one, stored with the outputs, so
every run can be repeated.
"""

from __future__ import annotations

import hashlib
import secrets

import yaml

from .schema import Clinician, Scenario, Team


def with_seed(scenario: Scenario, seed: int | None = None) -> Scenario:
    """Return the scenario with a seed: the one given, its own, or a fresh random one."""
    if seed is not None:
        return scenario.model_copy(update={"seed": int(seed)})
    if scenario.seed is None:
        return scenario.model_copy(update={"seed": secrets.randbits(63)})
    return scenario


#: libyaml's safe dumper when PyYAML has it (four times as fast; the same text for every
#: scenario tried, shipped and calibrated), else the pure-Python one.
_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def resolved_yaml(scenario: Scenario) -> str:
    """The fully resolved scenario (``extends:`` applied, defaults filled, seed set) as YAML."""
    data = scenario.model_dump(mode="json", by_alias=True)
    return yaml.dump(data, Dumper=_DUMPER, sort_keys=False, allow_unicode=True, width=100)


def scenario_hash(scenario: Scenario, text: str | None = None) -> str:
    """SHA-256 of the resolved scenario: equal hashes mean identical inputs.

    ``text``: its :func:`resolved_yaml`, if already made.
    """
    text = resolved_yaml(scenario) if text is None else text
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def form_teams(s: Scenario) -> tuple[Team, ...]:
    """Micro-teams formed from the workforce by ``s.team_formation`` (see :class:`TeamFormation`).

    Clinicians who leave before the start or whose role is unknown are left out.
    """
    if s.team_formation is None:
        return s.teams
    k = s.team_formation.gps_per_team
    staff = [c for c in s.clinicians if c.role in s.roles and not c.extended_access
             and (c.leaves is None or c.leaves > s.start_date)]
    holders = [c for c in staff if s.roles[c.role].holds_list]
    groups = [holders[i:i + k] for i in range(0, len(holders), k)]
    by_role: dict[str, list[Clinician]] = {}
    for c in staff:
        if not s.roles[c.role].holds_list:
            by_role.setdefault(c.role, []).append(c)
    teams = []
    for n, group in enumerate(groups):
        lead = max(group, key=lambda c: (len(c.sessions), -group.index(c)))
        members = [c.id for c in group if c is not lead]
        members += [people[n % len(people)].id for people in by_role.values()]
        teams.append(Team(id=f"team_{n + 1}", lead=lead.id, members=tuple(members)))
    return tuple(teams)
