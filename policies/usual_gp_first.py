"""Usual-GP-first: the patient's usual GP if a slot exists within the accepted wait, else anyone.

The patient is offered their usual GP's earliest slot (within the policy's
``max_wait_days``, if set) and the earliest slot with anyone; a patient who
values continuity takes the usual GP if the extra wait is within what they
accept for this need (``choice.extra_days_by_need``), otherwise the sooner.
"""

from __future__ import annotations

from .base import ContinuityParams, ContinuityPolicy


class UsualGPFirst(ContinuityPolicy):
    """The usual GP first, then anyone."""

    #: What the approach is, in plain words (the report shows it).
    description = (
        "Reception offers the patient's usual GP first, if that GP has a slot within the "
        "wait the patient accepts, and the earliest slot with anyone otherwise."
    )
    name = "usual_gp_first"
    Params = ContinuityParams
    #: The rule (both desks read it): one tier, the usual GP, within ``max_wait_days``.
    rule_named = "usual_gp"
