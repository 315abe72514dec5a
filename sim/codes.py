"""The integer codes every layer shares: pools, urgencies, statuses, outcomes, rules.

One module, imported by the world builder, both booking desks (numba reads
these module-level integers as compile-time constants), the outcome models
and the results tables, so a code is written once. Each group has a tuple of
names, indexed by code, for the tables users see.
"""

from __future__ import annotations

# Calendar pools: bookable ahead, held for the day itself, online time.
AHEAD, ON_THE_DAY, ONLINE = 0, 1, 2
POOL_NAMES = ("ahead", "on_the_day", "online")
N_POOLS = len(POOL_NAMES)

# How an appointment is held (the scenario's mode names, by code).
FACE_TO_FACE, TELEPHONE, HOME_VISIT, ONLINE_MODE = 0, 1, 2, 3
MODE_NAMES = ("face_to_face", "telephone", "home_visit", "online")
N_MODES = len(MODE_NAMES)

# Request urgency: urgent (today), routine (the patient's own request), a clinician's
# follow-up, a care-plan review, planned care (booked ahead for a due date).
URGENT, ROUTINE, FOLLOW_UP, REVIEW, PLANNED = 0, 1, 2, 3, 4
URGENCY_NAMES = ("urgent", "routine", "follow_up", "review", "planned")

# Who a planned review is with (``Arrivals.named``): nobody in particular, the
# usual GP, or the lead of the usual GP's micro-team.
NAMED_NONE, NAMED_USUAL_GP, NAMED_TEAM_LEAD = -1, 0, 1

# Appointment status in the event log.
BOOKED, ATTENDED, DNA, CANCELLED = 0, 1, 2, 3
APPOINTMENT_STATUS = ("booked", "attended", "dna", "cancelled_by_practice")

# Request outcome.
PENDING, GOT_APPOINTMENT, GAVE_UP, SIGNPOSTED, RESOLVED_AT_TRIAGE = 0, 1, 2, 3, 4
REQUEST_OUTCOME = ("waiting_at_end", "booked", "gave_up", "signposted_elsewhere",
                   "resolved_at_triage")

# What triage made of a request (``practice.urgent_care.triage``): not triaged, assessed
# by a clinician and booked on, or resolved on the telephone with no appointment.
NOT_TRIAGED, TRIAGED_TO_BOOK, TRIAGED_RESOLVED = 0, 1, 2
TRIAGE_NAMES = ("not_triaged", "to_appointment", "resolved")

# Care navigation of an arrival: booked as asked, or sent to another service
# (any other value is the index of the need it is redirected to).
NAV_AS_ASKED, NAV_ELSEWHERE = -1, -2

# The first tier of a compiled booking rule (``BookingRule.named``).
RULE_NONE, RULE_USUAL_GP, RULE_TEAM_LEAD = 0, 1, 2
RULE_NAMES = ("none", "usual_gp", "team_lead")
