"""Things a valid scenario says that its author may not mean: said as notes, not refused.

The command line prints them (``note: ...``) beside what it does.
"""

from __future__ import annotations

import datetime as dt

from .schema import Scenario


def scenario_notes(s: Scenario) -> list[str]:
    """Notes on ``s`` (empty: nothing to say)."""
    notes = []
    last_day = s.start_date + dt.timedelta(days=s.warmup_days + s.duration_days - 1)
    listed = s.practice.closed_dates
    if s.practice.bank_holidays == "none" and listed and max(listed) < last_day:
        notes.append(
            f"{s.name}: practice.closed_dates are listed by hand up to {max(listed)}, but the "
            f"run goes on to {last_day} and practice.bank_holidays is none, so no bank holiday "
            "after that is closed; set practice.bank_holidays (e.g. england_and_wales) to have "
            "them by rule")
    check = s.warmup_check
    if check is not None and check.start_date is not None and check.start_date != s.start_date:
        notes.append(
            f"{s.name}: the warm-up analysis on record ran from {check.start_date}, but the "
            f"scenario starts on {s.start_date}: run gpsim warmup for this start")
    elif check is not None and s.warmup_days < check.recommended_days:
        notes.append(
            f"{s.name}: warmup_days ({s.warmup_days}) is shorter than the "
            f"{check.recommended_days} days the warm-up analysis of {check.checked_on} "
            "recommended; the recorded measures may still show the empty start")
    return notes
