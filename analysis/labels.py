"""One table of human names, and the number formats every page and plot uses.

Measures (with units, number formats, which way is better and their group),
policies and parameters.

Every report, plot title and axis takes its words from here, so a measure is
called the same thing everywhere and no number is printed as ``5.813e+04``.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from .summary import VISIT_KINDS

#: The groups measures are shown in, in order.
GROUPS = {
    "continuity": "Continuity of care",
    "access": "Access",
    "outcomes": "Hospital use (proxies)",
    "workload": "Activity and workload",
}


class Measure(NamedTuple):
    """How to show one summary measure.

    ``kind``: ``share`` (0-1, shown as a percentage; differences in percentage
    points), ``days``, ``hours``, ``count``, ``rate`` (per 1,000 a year), ``index``
    (0-1, two decimals) or ``per_patient``. ``better``: +1 if higher is
    better, -1 if lower is, 0 if neither.
    """

    label: str
    kind: str
    better: int
    group: str
    decimals: int | None = None

    @property
    def unit(self) -> str:
        """The unit for a column or axis heading ("" for an index)."""
        return {"share": "%", "days": "days", "hours": "hours", "count": "",
                "rate": "per 1,000 a year",
                "index": "0 to 1", "per_patient": "per patient a year"}[self.kind]

    @property
    def heading(self) -> str:
        """The label with its unit, for a table heading or an axis."""
        return f"{self.label} ({self.unit})" if self.unit else self.label


_M = Measure
MEASURES: dict[str, Measure] = {
    # continuity
    "slicc": _M("GP visits with the patient's own GP (SLICC)", "share", 1, "continuity"),
    "preferred_gp_usually_seen": _M("Patients with a preferred GP who usually see them",
                                    "share", 1, "continuity"),
    "team_continuity": _M("Consultations with the patient's own micro-team", "share", 1,
                          "continuity"),
    "upc_mean": _M("UPC: share of GP visits with the most-seen GP", "index", 1, "continuity"),
    "coc_mean": _M("COC (Bice-Boxerman)", "index", 1, "continuity"),
    "secon_mean": _M("SECON: consecutive GP visits with the same GP", "index", 1, "continuity"),
    "usual_gp_share": _M("Share of a patient's GP visits with their usual GP", "share", 1,
                         "continuity"),
    **{f"slicc_{key}": _M(f"SLICC of GP visits for {words}", "share", 1, "continuity")
       for key, words, _ in VISIT_KINDS},
    **{f"slicc_from_{key}": _M(f"GP visits for {words} with the patient's own GP, of all GP "
                               "visits", "share", 1, "continuity", 1)
       for key, words, _ in VISIT_KINDS},
    "preferred_gp_share": _M("Patients with a preferred GP", "share", 0, "continuity"),
    "non_gp_upc_mean": _M("UPC with other roles (nurses, pharmacists, ...)", "index", 1,
                          "continuity"),
    "deep_relationship_share": _M("Patients likely to have a deep relationship with a "
                                  "clinician", "share", 1, "continuity", 1),
    # access
    "routine_wait_mean_days": _M("Average routine wait", "days", -1, "access"),
    "routine_wait_p90_days": _M("Routine wait, 90th percentile", "days", -1, "access"),
    "routine_wait_held_out_mean_days": _M("... of patients who held out for their own "
                                          "clinician or team", "days", 0, "access"),
    "routine_wait_took_soonest_mean_days": _M("... of patients who took the soonest slot",
                                              "days", 0, "access"),
    "routine_within_14_days_share": _M("Routine appointments within 2 weeks", "share", 1,
                                       "access"),
    "urgent_same_day_share": _M("Urgent requests seen the same day", "share", 1, "access"),
    "urgent_wait_hours_mean": _M("Average wait of urgent requests", "hours", -1, "access"),
    "urgent_wait_hours_median": _M("Urgent wait, median", "hours", -1, "access"),
    "urgent_wait_hours_p90": _M("Urgent wait, 90th percentile", "hours", -1, "access"),
    "same_day_wait_hours_mean": _M("Average wait within the day, same-day appointments",
                                   "hours", -1, "access"),
    "same_day_wait_hours_median": _M("Same-day wait, median", "hours", -1, "access"),
    "same_day_wait_hours_p90": _M("Same-day wait, 90th percentile", "hours", -1, "access"),
    "same_day_share": _M("Appointments on the day they were booked", "share", 0, "access"),
    "held_out_share": _M("Routine appointments where the patient held out for their own "
                         "clinician", "share", 0, "access", 1),
    "unmet_requests": _M("Attempts that found no slot", "count", -1, "access"),
    "unmet_per_1000_patients_year": _M("Attempts that found no slot", "rate", -1, "access"),
    "gave_up_requests": _M("Requests abandoned (the patient gave up)", "count", -1, "access"),
    "signposted_requests": _M("Requests signposted to another service", "count", 0, "access"),
    "triaged_requests": _M("Requests triaged by a clinician", "count", 0, "access"),
    "resolved_at_triage_requests": _M("Requests resolved at triage", "count", 0, "access"),
    "waiting_at_end": _M("Requests still waiting when the run ended", "count", 0, "access"),
    **{f"lead_{k}_share": _M(f"Appointments {words} after booking", "share", 0, "access", 1)
       for k, words in (("same_day", "the same day"), ("next_day", "the next day"),
                        ("2_7_days", "2 to 7 days"), ("8_14_days", "8 to 14 days"),
                        ("15_21_days", "15 to 21 days"), ("22_28_days", "22 to 28 days"),
                        ("over_28_days", "more than 28 days"))},
    # outcomes
    "ae_per_1000": _M("A&E attendances (PROXY)", "rate", -1, "outcomes"),
    "ae_access_per_1000": _M("A&E after failing to get an appointment (PROXY)", "rate", -1,
                             "outcomes"),
    "ae_continuity_per_1000": _M("Background A&E, scaled by continuity (PROXY)", "rate", -1,
                                 "outcomes"),
    "admissions_per_1000": _M("Emergency admissions (PROXY)", "rate", -1, "outcomes"),
    # workload
    "utilisation": _M("Appointment slots used", "share", 0, "workload"),
    "consultations_per_patient_year": _M("Consultations", "per_patient", 0, "workload", 2),
    "appointments": _M("Appointments attended or missed", "count", 0, "workload"),
    "requests": _M("Requests for care", "count", 0, "workload"),
    "gp_share": _M("Appointments with a GP", "share", 0, "workload"),
    "dna_rate": _M("Appointments missed (DNA)", "share", -1, "workload", 1),
    **{f"dna_rate_{k}": _M(f"DNA rate, booked {words}", "share", -1, "workload", 1)
       for k, words in (("same_day", "the same day"), ("next_day", "the day before"),
                        ("2_7_days", "2 to 7 days ahead"), ("over_7_days",
                                                            "more than 7 days ahead"))},
    "cancelled_by_practice": _M("Appointments cancelled (clinician off sick)", "count", 0,
                                "workload"),
    "patients": _M("Registered patients", "count", 0, "workload"),
    "window_days": _M("Days observed", "count", 0, "workload"),
}

#: The headline measures of the report, by group, in order.
HEADLINE_GROUPS = {
    "continuity": ["slicc", "preferred_gp_usually_seen", "team_continuity", "upc_mean",
                   "deep_relationship_share"],
    "access": ["routine_wait_mean_days", "routine_wait_held_out_mean_days",
               "routine_within_14_days_share", "urgent_same_day_share",
               "urgent_wait_hours_mean", "urgent_wait_hours_p90", "same_day_wait_hours_mean",
               "gave_up_requests"],
    "outcomes": ["ae_per_1000", "admissions_per_1000", "utilisation"],
}

#: Human names of the built-in policies.
POLICIES = {
    "access_first": "access-first",
    "usual_gp_first": "usual-GP-first",
    "micro_team": "micro-teams",
    "clinical_champion": "clinical champions for cohorts",
    "personalised_micro_teams": "personalised micro-teams",
}

#: Human names of parameters a sweep often varies (others are spelt out from their key).
PARAMETERS = {
    "policy.name": "booking approach",
    "policy": "booking approach",
    "variant": "variant",
    "population.size": "list size (patients)",
    "practice.booking_horizon_days": "booking horizon (days)",
    "practice.max_attempts": "attempts before a patient gives up",
    "policy.params.adherence": "reception adherence",
    "policy.params.adherence_with_popup": "adherence with the pop-up",
    "policy.params.team_wait_days": "team wait limit (days)",
    "policy.params.max_wait_days": "wait limit for the named clinician (days)",
    "policy.params.popup_reminder": "pop-up reminder",
    "population.values_continuity_share": "patients with a preferred GP",
    "demand.requests_per_patient_year": "requests per patient a year",
    "choice.extra_days_shape": "spread of how long patients will wait for their GP",
    "roles.gp.on_the_day_share": "GP capacity held for the day",
}


def measure(metric: str) -> Measure:
    """The measure's entry; an unknown metric gets its key spelt out."""
    return MEASURES.get(metric) or Measure(metric.replace("_", " "), "count", 0, "workload")


def parameter_name(key: str) -> str:
    """A parameter's human name: ``roles.gp.slots_per_session`` -> ``slots per session (gp)``."""
    if key in PARAMETERS:
        return PARAMETERS[key]
    parts = key.split(".")
    if len(parts) == 3 and parts[0] in ("roles", "clinicians"):
        who = parts[1].upper() if len(parts[1]) <= 3 else parts[1].replace("_", " ")
        return f"{parts[2].replace('_', ' ')} ({who})"
    return parts[-1].replace("_", " ")


def value_name(value) -> str:
    """A swept value for a person: a policy's human name, else the value as written."""
    return POLICIES.get(value, value) if isinstance(value, str) else _plain(value)


def _plain(x) -> str:
    if isinstance(x, float):
        return f"{x:,.10g}" if abs(x) < 1e15 else f"{x:,.0f}"
    return f"{x:,}" if isinstance(x, int) and not isinstance(x, bool) else str(x)


def _nan(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def _decimals(m: Measure) -> int:
    if m.decimals is not None:
        return m.decimals
    return {"share": 0, "days": 1, "hours": 1, "count": 0, "rate": 0, "index": 2,
            "per_patient": 2}[m.kind]


def number(metric: str, x, unit: bool = False) -> str:
    """A value of ``metric`` for people: 58,130; 36%; 0.53; 4.2 (days with ``unit``)."""
    if _nan(x):
        return "n/a"
    m = measure(metric)
    d = _decimals(m)
    if m.kind == "share":
        return f"{x * 100:,.{d}f}%"
    text = f"{x:,.{d}f}"
    if text in ("-0", "-0.0", "-0.00"):
        text = text[1:]
    return f"{text} {m.kind}" if unit and m.kind in ("days", "hours") else text


def difference(metric: str, x, unit: bool = True, decimals: int | None = None) -> str:
    """A difference of ``metric``, signed: +13.7 points; -0.3 days; +12."""
    if _nan(x):
        return "n/a"
    m = measure(metric)
    if m.kind == "share":
        d = 1 if decimals is None else decimals
        text, suffix = f"{x * 100:+,.{d}f}", " points" if unit else ""
    else:
        d = decimals if decimals is not None else max(
            _decimals(m), 1 if m.kind in ("rate", "count") and abs(x) < 10 else 0)
        text = f"{x:+,.{d}f}"
        suffix = f" {m.kind}" if unit and m.kind in ("days", "hours") else ""
    if text.strip("+-0.,") == "":
        text = text.replace("-", "+")  # -0.0 reads as +0.0
    return text.replace("-", "\u2212") + suffix


def short_names(names: dict[str, str]) -> dict[str, str]:
    """Names without the words every name starts with ("Default practice, ..."): for plots.

    The common start is cut at a comma, colon or dash, and only if every
    name keeps some words of its own.
    """
    values = list(names.values())
    if len(values) < 2:
        return dict(names)
    prefix = values[0]
    for v in values[1:]:
        n = min(len(prefix), len(v))
        n = next((i for i in range(n) if prefix[i] != v[i]), n)
        prefix = prefix[:n]
    cut = max(prefix.rfind(sep) for sep in (", ", ": ", " - "))
    if cut <= 0:
        return dict(names)
    cut += 2
    out = {k: v[cut:].strip() for k, v in names.items()}
    if any(not v for v in out.values()):
        return dict(names)
    return out


def capital(text: str) -> str:
    """``text`` with its first letter capitalised (for a heading or a sentence's start)."""
    return text[:1].upper() + text[1:]


def common_start(names: dict[str, str]) -> str:
    """The words :func:`short_names` cut from every name ("Default practice"), or ""."""
    short = short_names(names)
    k = next(iter(names), None)
    if k is None or short[k] == names[k]:
        return ""
    return names[k][: len(names[k]) - len(short[k])].rstrip(" ,:-")
