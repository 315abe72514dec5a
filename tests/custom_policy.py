"""A tiny user policy, loaded by a scenario as ``custom_policy:FirstListedClinician``."""

from policies.base import routine_slot, same_day_slot


class FirstListedClinician:
    """Books only the first clinician able to take the request."""

    def __init__(self, params, practice, rng):
        self.practice = practice

    def offers(self, request, calendar):
        first = request.eligible[:1]
        if request.urgency == 0:
            slot = same_day_slot(request, calendar, first)
        else:
            slot = routine_slot(request, calendar, self.practice, first)
        return [slot] if slot is not None else []


class BrokenPolicy:
    """Fails on its first request: for testing that a failing run does not stop a sweep."""

    def __init__(self, params, practice, rng):
        pass

    def offers(self, request, calendar):
        raise RuntimeError("this policy is broken on purpose")
