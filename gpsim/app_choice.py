"""What the app's "help me choose" page does, without the web: a question from a form, answered.

The form's answers become the same question a file holds (:mod:`sim.inputs.questions`),
checked the same way, and answered by the same :func:`gpsim.choose.choose` in a
temporary folder; what the page shows and offers to download is read into
memory and the folder removed. The question can be taken away as YAML and
asked again with ``gpsim choose``, with the same answer.
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from sim import ScenarioError

#: Approaches a practice can adopt from the page, and what each lets it change.
CHOICE_APPROACHES = {
    "usual_gp_first": "Usual-GP-first",
    "micro_team": "Micro-teams",
    "personalised_micro_teams": "Personalised micro-teams",
    "clinical_champion": "Clinical champions for cohorts",
}
TEAM_APPROACHES = ("micro_team", "personalised_micro_teams", "clinical_champion")

#: What the choice can aim for (measures of a run's summary), all "more is better".
OBJECTIVES = {
    "slicc": "GP visits with the patient's own GP (SLICC)",
    "team_continuity": "Consultations with the patient's own micro-team",
    "preferred_gp_usually_seen": "Patients with a preferred GP who usually see them",
    "upc_mean": "UPC: share of GP visits with the most-seen GP",
}

#: Assumptions the page offers to vary, with the plausible range it uses and why.
ASSUMPTIONS = {
    "demand.requests_per_patient_year": (
        "How many requests patients make (10% either side of the practice's value)", None),
    "population.values_continuity_share": (
        "Patients with a preferred GP: 46% (2017) to 57% (2012), GP Patient Survey",
        (0.46, 0.57)),
    "policy.params.adherence": (
        "How often reception applies the rule: 30% to 80% (no published figure)", (0.3, 0.8)),
    "choice.extra_days_shape": (
        "How much patients differ in how long they will wait for their GP: shape 0.5 to 4",
        (0.5, 4.0)),
}


def question_data(form: Mapping[str, Any], base) -> dict:
    """The question a form describes, as a question file would hold it (without ``base``).

    ``form``: ``list_size``, ``approaches`` (policy names), ``try_popup``,
    ``horizons`` (days), ``held_for_day`` ((low, high) of the GP share held
    for the day), ``team_waits`` (days), ``objective``, ``max_longer_wait``
    (days, or None), ``min_urgent_same_day`` (a share, or None), ``zone``
    (points), ``trials``, ``assumptions`` (keys of :data:`ASSUMPTIONS`).
    ``base``: today's practice (a loaded scenario), for the ranges it sets.
    """
    options = []
    low, high = form["held_for_day"]
    for policy in form["approaches"]:
        search: dict[str, Any] = {}
        if form.get("try_popup"):
            search["policy.params.popup_reminder"] = [False, True]
        if len(form.get("horizons") or []) > 1:
            search["practice.booking_horizon_days"] = sorted(form["horizons"])
        if high > low:
            search["roles.gp.on_the_day_share"] = {"low": round(low, 2), "high": round(high, 2),
                                                   "step": 0.05}
        if policy in TEAM_APPROACHES and len(form.get("team_waits") or []) > 1:
            search["policy.params.team_wait_days"] = sorted(form["team_waits"])
        fixed: dict[str, Any] = {"policy.name": policy}
        if len(form.get("horizons") or []) == 1:
            fixed["practice.booking_horizon_days"] = form["horizons"][0]
        if high <= low:
            fixed["roles.gp.on_the_day_share"] = round(low, 2)
        if policy in TEAM_APPROACHES and len(form.get("team_waits") or []) == 1:
            fixed["policy.params.team_wait_days"] = form["team_waits"][0]
        options.append({"name": policy, "set": fixed, "search": search})
    constraints = []
    if form.get("max_longer_wait") is not None:
        constraints.append({"measure": "routine_wait_mean_days",
                            "at_most": float(form["max_longer_wait"]), "relative_to": "today"})
    if form.get("min_urgent_same_day") is not None:
        constraints.append({"measure": "urgent_same_day_share",
                            "at_least": float(form["min_urgent_same_day"])})
    assumptions = {}
    for key in form.get("assumptions") or []:
        span = ASSUMPTIONS[key][1]
        if key == "demand.requests_per_patient_year":
            rate = base.demand.requests_per_patient_year
            span = (round(rate * 0.9, 3), round(rate * 1.1, 3))
        assumptions[key] = {"low": span[0], "high": span[1]}
    data = {
        "name": f"{base.practice.name}: which approach, with which settings?",
        "description": "Asked in the app's \u201chelp me choose\u201d page.",
        "set": {"population.size": int(form["list_size"])}
        if form["list_size"] != base.population.size else {},
        "options": options,
        "objective": {"measure": form["objective"], "direction": "maximise"},
        "constraints": constraints,
        "search": {"trials": int(form["trials"]), "replications": 2, "batch": 4},
        "selection": {"finalists": 4, "indifference_zone": float(form["zone"]) / 100,
                      "probability": 0.95, "first_stage": 5, "max_replications": 25},
        "robustness": {"assumptions": assumptions, "trajectories": 4, "sobol_samples": 4,
                       "sobol_top": 2, "replications": 1},
    }
    return data


def question_yaml(data: dict, base_file: str | Path) -> str:
    """The question as a file to take away (save it beside the practice's scenario file)."""
    return ("# A question for 'gpsim choose', made in the app. Save it in the folder of\n"
            f"# {Path(base_file).name} and run: gpsim choose <this file>\n"
            + yaml.safe_dump({"base": Path(base_file).name, **data}, sort_keys=False,
                             allow_unicode=True))


@dataclasses.dataclass(frozen=True)
class ChoiceAnswer:
    """A finished choice, held in memory for the page (its files are gone)."""

    sentences: list[str]
    finalists: pd.DataFrame
    plots: list[tuple[str, bytes]]
    report: bytes
    runs: int
    seconds: float


def answer(base_file: str | Path, data: dict, say: Callable[[str], None] | None = None,
           workers: int | None = None) -> ChoiceAnswer:
    """Check and answer the question (:func:`gpsim.choose.choose`) in a temporary folder.

    Raises:
        ScenarioError: the question is not valid (the form's messages).
    """
    from analysis.choice_report import answer as sentences
    from analysis.choice_report import option_words
    from gpsim.choose import MEASURES, choose
    from sim.inputs.questions import question_from_form
    from sim.processes import usable_cores

    q = question_from_form(data, base_file, measures=MEASURES)
    with tempfile.TemporaryDirectory(prefix="gpsim-app-") as folder:
        out = Path(folder) / "choice"
        c = choose(q, out, workers=workers or usable_cores(), progress=False,
                   say=say or (lambda _: None))
        obj = q.spec.objective.measure
        table = pd.read_csv(out / "choice.csv")
        shown = pd.DataFrame({
            "finalist": [option_words(c, f.candidate) for f in c.finalists],
            "outcome": table["status"],
            f"{OBJECTIVES.get(obj, obj)} (%)": (table[f"{obj}_mean"] * 100).round(1),
            "replications": table["replications"]})
        plots = [(title, (out / "plots" / name).read_bytes())
                 for name, title in (("finalists.png", "The finalists"),
                                     ("search.png", "The search"),
                                     ("sensitivity.png", "What moves the answer"))
                 if (out / "plots" / name).is_file()]
        return ChoiceAnswer(sentences(c), shown, plots, (out / "choice.html").read_bytes(),
                            c.runs_made + c.runs_reused, c.seconds)


def problems_of(error: ScenarioError) -> list[str]:
    """The form's problems, one line each."""
    return [str(p) for p in error.problems]
