"""Booking policies: one module per policy, all behind ``sim.engine.policy_api.BookingPolicy``.

``REGISTRY`` maps the names a scenario may give under ``policy.name`` to
classes. A user's own class is named ``package.module:Class`` in a scenario and
enabled on the command line (``--policy-class``); files never import code.
"""

from .access_first import AccessFirst
from .micro_team import ClinicalChampion, MicroTeam, PersonalisedMicroTeams
from .usual_gp_first import UsualGPFirst

REGISTRY: dict[str, type] = {
    "access_first": AccessFirst,
    "usual_gp_first": UsualGPFirst,
    "micro_team": MicroTeam,
    "clinical_champion": ClinicalChampion,
    "personalised_micro_teams": PersonalisedMicroTeams,
}

__all__ = ["REGISTRY", "AccessFirst", "ClinicalChampion", "MicroTeam", "PersonalisedMicroTeams",
           "UsualGPFirst"]
