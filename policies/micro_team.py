"""Micro-teams: the named lead, then the rest of the patient's team, then anyone.

Three flavours share one rule:

* ``micro_team``: the patient's named lead is their usual GP; their team is
  the team that GP belongs to (``teams:`` in the scenario);
* ``clinical_champion`` (approach 1 of the My Care project, docs/evidence.md 9.1):
  teams led by a clinical champion look after cohorts only (frequent
  attenders, housebound, complex care: ``cohorts:`` in the scenario); the
  champion is the named clinician; everyone else is booked access-first;
* ``personalised_micro_teams`` (approach 2): every patient has a named lead
  (their usual GP), one or two GPs, and nurse and pharmacist support; the
  scenario's teams must all have that shape.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from .base import ContinuityParams, ContinuityPolicy, unknown_cohorts


class TeamParams(ContinuityParams):
    """Continuity parameters plus the wait limit for the rest of the team.

    Attributes:
        team_wait_days: the longest wait (days from today) for which another
            team member is offered (ASSUMPTION default: 7).
    """

    team_wait_days: int = Field(7, ge=0)


class MicroTeam(ContinuityPolicy):
    """Named lead (usual GP), then the rest of their team, then anyone."""

    #: What the approach is, in plain words (the report shows it).
    description = (
        "Patients are offered their usual GP first, then another member of that GP's "
        "micro-team, then anyone."
    )
    name = "micro_team"
    Params = TeamParams
    #: The rule (both desks read it): the usual GP within ``max_wait_days``, then the rest
    #: of their micro-team within ``team_wait_days``.
    rule_named = "usual_gp"
    rule_team_tier = True

    @classmethod
    def check_scenario(cls, params: TeamParams, scenario: Any) -> list[tuple[tuple, str]]:
        """The scenario must define teams."""
        problems = super().check_scenario(params, scenario)
        if not scenario.teams:
            problems.append(((), f"policy {cls.name!r} needs micro-teams: add a 'teams:' "
                             "section or 'team_formation:'"))
        return problems


class ChampionParams(TeamParams):
    """Team parameters plus the cohorts the champions' teams look after.

    Attributes:
        cohorts: cohort names (from the scenario's ``cohorts:``) whose patients
            are cared for by champion-led teams; they carry the continuity code.
    """

    cohorts: tuple[str, ...] = Field(min_length=1)


class ClinicalChampion(MicroTeam):
    """Champion-led micro-teams for cohorts only; everyone else access-first."""

    #: What the approach is, in plain words (the report shows it).
    description = (
        "Patients in chosen cohorts (for example housebound or complex care) are booked "
        "with a champion-led micro-team: the champion first, then the team, then anyone; "
        "everyone else is booked access-first."
    )
    name = "clinical_champion"
    Params = ChampionParams
    #: The rule: the champion (the lead of the usual GP's team, else the usual GP), then
    #: the rest of the team; for the chosen cohorts only (``coded_cohorts``).
    rule_named = "team_lead"

    @classmethod
    def check_scenario(cls, params: ChampionParams, scenario: Any) -> list[tuple[tuple, str]]:
        """Cohorts named must exist."""
        return [*super().check_scenario(params, scenario),
                *unknown_cohorts(params.cohorts, scenario, "cohorts")]

    def coded_cohorts(self) -> tuple[str, ...]:
        """Only the cohorts' patients are under the champions' care."""
        return self.params.cohorts


class PersonalisedMicroTeams(MicroTeam):
    """Every patient: named lead, one or two GPs, nurse and pharmacist support."""

    #: What the approach is, in plain words (the report shows it).
    description = (
        "Every patient has a named lead GP in a small team of one or two GPs with nurse "
        "and pharmacist support: the lead first, then the team, then anyone."
    )
    name = "personalised_micro_teams"
    rule_named = "usual_gp"

    @classmethod
    def check_scenario(cls, params: TeamParams, scenario: Any) -> list[tuple[tuple, str]]:
        """Every list-holder is in a team, and every team has the approach-2 shape."""
        problems = super().check_scenario(params, scenario)
        by_id = {c.id: c for c in scenario.clinicians}
        in_team = set()
        for i, t in enumerate(scenario.teams):
            members = [by_id[m] for m in (t.lead, *t.members) if m in by_id]
            in_team.update(m.id for m in members)
            holders = [m for m in members if scenario.roles[m.role].holds_list]
            others = {m.role for m in members if not scenario.roles[m.role].holds_list}
            if not 1 <= len(holders) <= 3:
                problems.append(((), f"team {t.id!r} (teams[{i}]) has {len(holders)} list-holding "
                                 "GPs; a personalised micro-team has a lead and one or two GPs"))
            if len(others) < 2:
                problems.append(((), f"team {t.id!r} (teams[{i}]) needs nursing and pharmacy "
                                 "support: at least two other roles"))
        for c in scenario.clinicians:
            if (scenario.roles[c.role].holds_list and not c.extended_access
                    and c.id not in in_team):
                problems.append(((), f"list-holder {c.id!r} is in no team: every patient needs "
                                 "a micro-team"))
        return problems
